from django.db import migrations

MOVED = {"workerheartbeat": "kernel", "backuprun": "operations", "restoredrill": "operations"}


def hand_over_content_types(apps, schema_editor):
    """Permissions and admin history hang on the content type: moving it keeps every group's
    permissions on these models (granted as crm.* before) instead of creating new ones."""
    content_type = apps.get_model("contenttypes", "ContentType")
    for model, app_label in MOVED.items():
        if not content_type.objects.filter(app_label=app_label, model=model).exists():
            content_type.objects.filter(app_label="crm", model=model).update(app_label=app_label)


def take_back_content_types(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    for model, app_label in MOVED.items():
        content_type.objects.filter(app_label=app_label, model=model).update(app_label="crm")


class Migration(migrations.Migration):
    """The worker heartbeat now belongs to kernel, backups and drills to operations: their
    migrations took the tables over (kernel/migrations/0001, operations/migrations/0001)."""

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("crm", "0002_backups"),
        ("kernel", "0001_initial"),
        ("operations", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="WorkerHeartbeat"),
                migrations.DeleteModel(name="BackupRun"),
                migrations.DeleteModel(name="RestoreDrill"),
            ],
        ),
        migrations.RunPython(hand_over_content_types, take_back_content_types),
    ]
