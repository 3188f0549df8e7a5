import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = [
        ("crm", "0002_backups"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    # Models that were crm's (crm/migrations/0001, 0002): taken over in Django's state first,
    # then their tables renamed to this app's names; crm/migrations/0003 forgets them and
    # hands their content types over.
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="BackupRun",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "started_at",
                            models.DateTimeField(
                                db_index=True,
                                default=django.utils.timezone.now,
                                verbose_name="started",
                            ),
                        ),
                        (
                            "finished_at",
                            models.DateTimeField(blank=True, null=True, verbose_name="finished"),
                        ),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("running", "Running"),
                                    ("done", "Done"),
                                    ("failed", "Failed"),
                                ],
                                default="running",
                                max_length=10,
                                verbose_name="status",
                            ),
                        ),
                        ("failure", models.TextField(blank=True, verbose_name="failure")),
                        ("engine", models.CharField(max_length=20, verbose_name="database engine")),
                        (
                            "file_name",
                            models.CharField(blank=True, max_length=200, verbose_name="file"),
                        ),
                        (
                            "size_bytes",
                            models.BigIntegerField(
                                blank=True, null=True, verbose_name="size (bytes)"
                            ),
                        ),
                        (
                            "sha256",
                            models.CharField(blank=True, max_length=64, verbose_name="SHA-256"),
                        ),
                        (
                            "tables",
                            models.PositiveIntegerField(
                                blank=True, null=True, verbose_name="tables"
                            ),
                        ),
                        (
                            "rows",
                            models.BigIntegerField(blank=True, null=True, verbose_name="rows"),
                        ),
                        (
                            "seconds",
                            models.FloatField(blank=True, null=True, verbose_name="seconds"),
                        ),
                        (
                            "deleted_at",
                            models.DateTimeField(blank=True, null=True, verbose_name="deleted"),
                        ),
                        (
                            "started_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="started by",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "crm_backuprun",
                        "verbose_name": "backup",
                        "verbose_name_plural": "backups",
                        "ordering": ["-started_at", "-pk"],
                        "permissions": [
                            ("view_operations", "Can see the operations status page"),
                            ("run_backup", "Can start a backup or a restore drill"),
                        ],
                        "abstract": False,
                    },
                ),
                migrations.CreateModel(
                    name="RestoreDrill",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "started_at",
                            models.DateTimeField(
                                db_index=True,
                                default=django.utils.timezone.now,
                                verbose_name="started",
                            ),
                        ),
                        (
                            "finished_at",
                            models.DateTimeField(blank=True, null=True, verbose_name="finished"),
                        ),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("running", "Running"),
                                    ("done", "Done"),
                                    ("failed", "Failed"),
                                ],
                                default="running",
                                max_length=10,
                                verbose_name="status",
                            ),
                        ),
                        ("failure", models.TextField(blank=True, verbose_name="failure")),
                        (
                            "backup_file",
                            models.CharField(blank=True, max_length=200, verbose_name="backup"),
                        ),
                        (
                            "restore_seconds",
                            models.FloatField(
                                blank=True, null=True, verbose_name="time to restore (s)"
                            ),
                        ),
                        (
                            "tables_compared",
                            models.PositiveIntegerField(
                                blank=True, null=True, verbose_name="tables compared"
                            ),
                        ),
                        (
                            "rows_compared",
                            models.BigIntegerField(
                                blank=True, null=True, verbose_name="rows compared"
                            ),
                        ),
                        (
                            "mismatches",
                            models.JSONField(blank=True, default=list, verbose_name="differences"),
                        ),
                        (
                            "migrations_ok",
                            models.BooleanField(null=True, verbose_name="migrations up to date"),
                        ),
                        (
                            "started_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="started by",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "crm_restoredrill",
                        "verbose_name": "restore drill",
                        "verbose_name_plural": "restore drills",
                        "ordering": ["-started_at", "-pk"],
                        "abstract": False,
                    },
                ),
            ],
        ),
        migrations.AlterModelTable(name="backuprun", table=None),
        migrations.AlterModelTable(name="restoredrill", table=None),
    ]
