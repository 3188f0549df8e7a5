import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


# Apart from 0012: on PostgreSQL, altering a table whose rows the same transaction updated
# can fail on pending trigger events.
class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0012_analytics_jobs"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="churnmodel",
            options={
                "ordering": ["-created_at", "-pk"],
                "verbose_name": "churn model",
                "verbose_name_plural": "churn models",
            },
        ),
        migrations.RemoveField(
            model_name="churnmodel",
            name="trained_at",
        ),
        migrations.AlterField(
            model_name="churnmodel",
            name="status",
            field=models.CharField(
                choices=[
                    ("draft", "Draft"),
                    ("queued", "Queued"),
                    ("running", "Running"),
                    ("done", "Done"),
                    ("failed", "Failed"),
                    ("cancelled", "Cancelled"),
                ],
                default="draft",
                max_length=10,
                verbose_name="status",
            ),
        ),
        migrations.CreateModel(
            name="SegmentRefresh",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, editable=False, verbose_name="created"
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("draft", "Draft"),
                            ("queued", "Queued"),
                            ("running", "Running"),
                            ("done", "Done"),
                            ("failed", "Failed"),
                            ("cancelled", "Cancelled"),
                        ],
                        default="draft",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                ("started_at", models.DateTimeField(blank=True, null=True, verbose_name="started")),
                (
                    "finished_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="finished"),
                ),
                ("heartbeat_at", models.DateTimeField(blank=True, editable=False, null=True)),
                ("recoveries", models.PositiveSmallIntegerField(default=0, editable=False)),
                (
                    "rows_total",
                    models.PositiveIntegerField(blank=True, null=True, verbose_name="rows"),
                ),
                ("rows_done", models.PositiveIntegerField(default=0, verbose_name="rows done")),
                ("cancel_requested", models.BooleanField(default=False, editable=False)),
                ("run_token", models.CharField(blank=True, editable=False, max_length=32)),
                ("failure", models.TextField(blank=True, verbose_name="failure")),
                (
                    "size_before",
                    models.PositiveIntegerField(blank=True, null=True, verbose_name="size before"),
                ),
                (
                    "size_after",
                    models.PositiveIntegerField(blank=True, null=True, verbose_name="size after"),
                ),
                ("language", models.CharField(default="en", editable=False, max_length=10)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="started by",
                    ),
                ),
                (
                    "segment",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="refreshes",
                        to="analytics.segment",
                        verbose_name="segment",
                    ),
                ),
            ],
            options={
                "verbose_name": "segment refresh",
                "verbose_name_plural": "segment refreshes",
                "ordering": ["-created_at", "-pk"],
                "abstract": False,
            },
        ),
    ]
