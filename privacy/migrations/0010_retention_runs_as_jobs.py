import django.utils.timezone
from django.db import migrations, models


def runs_recorded_before(apps, schema_editor):
    """A run recorded before was created, and measured, when it started; it finished (done) or
    its worker died (failed: the old code never ended such a run)."""
    runs = apps.get_model("privacy", "RetentionRun").objects
    runs.update(created_at=models.F("started_at"), as_of=models.F("started_at"))
    runs.filter(finished_at__isnull=False).update(status="done")
    runs.filter(finished_at__isnull=True).update(
        status="failed", finished_at=models.F("started_at")
    )


class Migration(migrations.Migration):
    """Retention runs become jobs of the runner (kernel/jobs/runner.py): SystemJob's fields,
    `started_by` renamed `created_by`, `as_of` the moment the policies were measured from."""

    dependencies = [
        ("privacy", "0009_privacy_policy_edit_version"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="retentionrun",
            options={
                "ordering": ["-created_at", "-pk"],
                "verbose_name": "retention run",
                "verbose_name_plural": "retention runs",
            },
        ),
        migrations.RenameField(
            model_name="retentionrun",
            old_name="started_by",
            new_name="created_by",
        ),
        migrations.AddField(
            model_name="retentionrun",
            name="as_of",
            field=models.DateTimeField(blank=True, null=True, verbose_name="as of"),
        ),
        migrations.AddField(
            model_name="retentionrun",
            name="cancel_requested",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.AddField(
            model_name="retentionrun",
            name="created_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now, editable=False, verbose_name="created"
            ),
        ),
        migrations.AddField(
            model_name="retentionrun",
            name="failure",
            field=models.TextField(blank=True, verbose_name="failure"),
        ),
        migrations.AddField(
            model_name="retentionrun",
            name="heartbeat_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="retentionrun",
            name="recoveries",
            field=models.PositiveSmallIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="retentionrun",
            name="rows_done",
            field=models.PositiveIntegerField(default=0, verbose_name="rows done"),
        ),
        migrations.AddField(
            model_name="retentionrun",
            name="rows_total",
            field=models.PositiveIntegerField(blank=True, null=True, verbose_name="rows"),
        ),
        migrations.AddField(
            model_name="retentionrun",
            name="run_token",
            field=models.CharField(blank=True, editable=False, max_length=32),
        ),
        migrations.AddField(
            model_name="retentionrun",
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
        migrations.AlterField(
            model_name="retentionrun",
            name="started_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="started"),
        ),
        migrations.RunPython(runs_recorded_before, migrations.RunPython.noop),
    ]
