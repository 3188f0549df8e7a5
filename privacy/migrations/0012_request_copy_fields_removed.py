from django.db import migrations


class Migration(migrations.Migration):
    """The request's copy fields, moved to SubjectCopy rows by 0011. A migration of its own: on
    PostgreSQL the table cannot be altered in the transaction that wrote the new rows, whose
    foreign-key checks are deferred to its end."""

    dependencies = [
        ("privacy", "0011_subject_copies_as_jobs"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="datasubjectrequest",
            name="copy_failure",
        ),
        migrations.RemoveField(
            model_name="datasubjectrequest",
            name="copy_file",
        ),
        migrations.RemoveField(
            model_name="datasubjectrequest",
            name="copy_prepared_at",
        ),
        migrations.RemoveField(
            model_name="datasubjectrequest",
            name="copy_requested_at",
        ),
    ]
