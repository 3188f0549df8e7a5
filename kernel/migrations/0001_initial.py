from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = [
        ("crm", "0002_backups"),
    ]

    # Models that were crm's (crm/migrations/0001, 0002): taken over in Django's state first,
    # then their tables renamed to this app's names; crm/migrations/0003 forgets them and
    # hands their content types over.
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="WorkerHeartbeat",
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
                            "hostname",
                            models.CharField(max_length=200, unique=True, verbose_name="worker"),
                        ),
                        ("seen_at", models.DateTimeField(verbose_name="last seen")),
                    ],
                    options={
                        "db_table": "crm_workerheartbeat",
                        "verbose_name": "worker heartbeat",
                        "verbose_name_plural": "worker heartbeats",
                    },
                ),
            ],
        ),
        migrations.AlterModelTable(name="workerheartbeat", table=None),
    ]
