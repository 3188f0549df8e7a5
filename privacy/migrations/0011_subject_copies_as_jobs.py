import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def copies_from_requests(apps, schema_editor):
    """A request's copy, kept on the request before, becomes its first SubjectCopy: prepared
    (done), failed, or still waiting (queued: the runner gives it up after COPY_LOST_AFTER,
    its old message naming a task that no longer exists)."""
    requests = apps.get_model("privacy", "DataSubjectRequest").objects
    copies = apps.get_model("privacy", "SubjectCopy").objects
    for request in requests.filter(copy_requested_at__isnull=False).iterator():
        copy = copies.model(
            request=request,
            created_at=request.copy_requested_at,
            language=settings.LANGUAGE_CODE,
            file=request.copy_file.name or "",
        )
        if request.copy_prepared_at:
            copy.status, copy.started_at = "done", request.copy_requested_at
            copy.finished_at = request.copy_prepared_at
        elif request.copy_failure:
            copy.status, copy.failure = "failed", request.copy_failure
            copy.started_at = copy.finished_at = request.copy_requested_at
        else:
            copy.status = "queued"
        copy.save()


def requests_from_copies(apps, schema_editor):
    """Back to the request's four fields, from its latest copy."""
    requests = apps.get_model("privacy", "DataSubjectRequest").objects
    latest = {}
    for copy in apps.get_model("privacy", "SubjectCopy").objects.order_by("created_at", "pk"):
        latest[copy.request_id] = copy
    for copy in latest.values():
        requests.filter(pk=copy.request_id).update(
            copy_requested_at=copy.created_at,
            copy_file=copy.file.name or "",
            copy_prepared_at=copy.finished_at if copy.status == "done" else None,
            copy_failure=copy.failure[:300] if copy.status == "failed" else "",
        )


class Migration(migrations.Migration):
    """The copy of an access request becomes a job of the runner (kernel/jobs/runner.py): a
    SubjectCopy row per copy asked for, in place of four fields on the request."""

    dependencies = [
        ("privacy", "0010_retention_runs_as_jobs"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="SubjectCopy",
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
                ("file", models.FileField(blank=True, max_length=300, upload_to="subject-copies/")),
                ("language", models.CharField(default="en", editable=False, max_length=10)),
                ("counts", models.JSONField(default=dict, editable=False)),
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
                    "request",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="copies",
                        to="privacy.datasubjectrequest",
                        verbose_name="data-subject request",
                    ),
                ),
            ],
            options={
                "verbose_name": "copy of a person's data",
                "verbose_name_plural": "copies of people's data",
                "ordering": ["-created_at", "-pk"],
                "abstract": False,
            },
        ),
        migrations.RunPython(copies_from_requests, requests_from_copies),
    ]
