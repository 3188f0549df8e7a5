# A deal's stage history, with a "created" step for every deal already there.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def record_existing_deals(apps, schema_editor) -> None:
    """One "created" row per deal already there, at its creation time and in the stage it is
    in now (the steps before this history was kept are in the audit log only): one
    INSERT ... SELECT, whatever the number of deals."""
    changes = apps.get_model("sales", "DealStageChange")._meta.db_table
    deals = apps.get_model("sales", "Deal")._meta.db_table
    quote = schema_editor.quote_name
    schema_editor.execute(
        f"INSERT INTO {quote(changes)} (deal_id, kind, from_stage_id, to_stage_id, lost_reason,"  # noqa: S608
        f" at, actor_id) SELECT id, 'created', NULL, stage_id, '', created_at, created_by_id"
        f" FROM {quote(deals)}"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("sales", "0003_pool"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="DealStageChange",
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
                            ("created", "Created"),
                            ("moved", "Moved"),
                            ("won", "Won"),
                            ("lost", "Lost"),
                            ("reopened", "Reopened"),
                        ],
                        max_length=10,
                        verbose_name="change",
                    ),
                ),
                (
                    "lost_reason",
                    models.CharField(blank=True, max_length=300, verbose_name="lost reason"),
                ),
                (
                    "at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="when"),
                ),
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
                    "deal",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="stage_changes",
                        to="sales.deal",
                    ),
                ),
                (
                    "from_stage",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="sales.stage",
                    ),
                ),
                (
                    "to_stage",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="sales.stage",
                    ),
                ),
            ],
            options={
                "verbose_name": "deal stage change",
                "verbose_name_plural": "deal stage changes",
                "ordering": ["-at", "-pk"],
                "indexes": [
                    models.Index(fields=["deal", "-at", "-id"], name="deal_stage_change_idx")
                ],
            },
        ),
        migrations.RunPython(record_existing_deals, migrations.RunPython.noop),
    ]
