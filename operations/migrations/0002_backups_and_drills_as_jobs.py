import django.utils.timezone
from django.db import migrations, models


def created_when_started(apps, schema_editor):
    """A run recorded before was created when it started."""
    for name in ("BackupRun", "RestoreDrill"):
        apps.get_model("operations", name).objects.update(created_at=models.F("started_at"))


class Migration(migrations.Migration):
    """Backups and restore drills become jobs of the runner (kernel/jobs/runner.py): SystemJob's
    fields, `started_by` renamed `created_by`. Their statuses running, done and failed are
    JobStatus's own values and stay as they are. A row still running (its worker was killed
    before this version: the old code never ended such a row) stays running: with no heartbeat
    and an old start, the runner's recovery fails it at its first pass with the reason and the
    `backup.failed` audit event any backup whose worker dies gets from now on."""

    dependencies = [
        ("operations", "0001_initial"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="backuprun",
            options={
                "ordering": ["-created_at", "-pk"],
                "permissions": [
                    ("view_operations", "Can see the operations status page"),
                    ("run_backup", "Can start a backup or a restore drill"),
                ],
                "verbose_name": "backup",
                "verbose_name_plural": "backups",
            },
        ),
        migrations.AlterModelOptions(
            name="restoredrill",
            options={
                "ordering": ["-created_at", "-pk"],
                "verbose_name": "restore drill",
                "verbose_name_plural": "restore drills",
            },
        ),
        migrations.RenameField(
            model_name="backuprun",
            old_name="started_by",
            new_name="created_by",
        ),
        migrations.RenameField(
            model_name="restoredrill",
            old_name="started_by",
            new_name="created_by",
        ),
        migrations.AddField(
            model_name="backuprun",
            name="cancel_requested",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.AddField(
            model_name="backuprun",
            name="created_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now, editable=False, verbose_name="created"
            ),
        ),
        migrations.AddField(
            model_name="backuprun",
            name="heartbeat_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="backuprun",
            name="recoveries",
            field=models.PositiveSmallIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="backuprun",
            name="rows_done",
            field=models.PositiveIntegerField(default=0, verbose_name="rows done"),
        ),
        migrations.AddField(
            model_name="backuprun",
            name="rows_total",
            field=models.PositiveIntegerField(blank=True, null=True, verbose_name="rows"),
        ),
        migrations.AddField(
            model_name="backuprun",
            name="run_token",
            field=models.CharField(blank=True, editable=False, max_length=32),
        ),
        migrations.AddField(
            model_name="restoredrill",
            name="cancel_requested",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.AddField(
            model_name="restoredrill",
            name="created_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now, editable=False, verbose_name="created"
            ),
        ),
        migrations.AddField(
            model_name="restoredrill",
            name="heartbeat_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="restoredrill",
            name="recoveries",
            field=models.PositiveSmallIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="restoredrill",
            name="rows_done",
            field=models.PositiveIntegerField(default=0, verbose_name="rows done"),
        ),
        migrations.AddField(
            model_name="restoredrill",
            name="rows_total",
            field=models.PositiveIntegerField(blank=True, null=True, verbose_name="rows"),
        ),
        migrations.AddField(
            model_name="restoredrill",
            name="run_token",
            field=models.CharField(blank=True, editable=False, max_length=32),
        ),
        migrations.AlterField(
            model_name="backuprun",
            name="started_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="started"),
        ),
        migrations.AlterField(
            model_name="backuprun",
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
            model_name="restoredrill",
            name="started_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="started"),
        ),
        migrations.AlterField(
            model_name="restoredrill",
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
        migrations.RunPython(created_when_started, migrations.RunPython.noop),
    ]
