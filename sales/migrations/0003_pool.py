# The shared pool (公海): its rules row and the history of owners taken and given back.

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import sales.models.pool


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0019_customer_owner_active_at"),
        ("sales", "0002_deals"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="PoolRules",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "claim_quota",
                    models.PositiveIntegerField(
                        default=sales.models.pool.default_claim_quota,
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(100000),
                        ],
                        verbose_name="customers one person may own",
                    ),
                ),
                (
                    "release_days",
                    models.PositiveIntegerField(
                        default=sales.models.pool.default_release_days,
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(3650),
                        ],
                        verbose_name="days without the owner's activity before the customer returns to the pool",
                    ),
                ),
                (
                    "warning_days",
                    models.PositiveIntegerField(
                        default=sales.models.pool.default_warning_days,
                        validators=[
                            django.core.validators.MinValueValidator(0),
                            django.core.validators.MaxValueValidator(3650),
                        ],
                        verbose_name="days of warning before the return",
                    ),
                ),
                (
                    "auto_release",
                    models.BooleanField(
                        default=True, verbose_name="return idle customers to the pool"
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "updated_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "pool rules",
                "verbose_name_plural": "pool rules",
                "permissions": [
                    ("claim_from_pool", "Can claim customers from the shared pool"),
                    (
                        "manage_pool",
                        "Can set the shared pool's rules and release anyone's customers",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="OwnershipChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("claim", "Claimed from the pool"),
                            ("release", "Returned to the pool"),
                            ("auto_release", "Returned to the pool automatically"),
                        ],
                        max_length=20,
                        verbose_name="change",
                    ),
                ),
                ("reason", models.CharField(blank=True, max_length=200, verbose_name="reason")),
                ("at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "customer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="ownership_changes",
                        to="customers.customer",
                    ),
                ),
                (
                    "from_owner",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "to_owner",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "ownership change",
                "verbose_name_plural": "ownership changes",
                "ordering": ["-at", "-pk"],
                "indexes": [
                    models.Index(fields=["customer", "-at"], name="ownership_change_customer_idx")
                ],
            },
        ),
    ]
