import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from django.utils import translation
from django.utils.translation import gettext

# The churn model's own statuses become the job runner's (kernel/jobs/runner.py), what came
# of a finished training moving to `outcome`: scored and too little data were trainings that
# finished (done); a failed one keeps its reason as the job's failure, written as the runner
# writes it; one left running is running still, so that recovery fails it (its worker is gone).
FAILED_TRAINING = (
    "Training failed, so the previous scores were kept; the error is in the worker's log."
)


def to_jobs(apps, schema_editor):
    ChurnModel = apps.get_model("analytics", "ChurnModel")
    MetricsRun = apps.get_model("analytics", "MetricsRun")
    with translation.override(settings.LANGUAGE_CODE):
        failed = gettext(FAILED_TRAINING)
    for model in ChurnModel.objects.all():
        model.created_at = model.started_at = model.trained_at
        if model.status in ("scored", "too_little_data"):
            model.outcome, model.status = model.status, "done"
        elif model.status == "failed":
            model.reason, model.reason_values, model.failure = "", {}, failed
        model.save()
    # A run's metrics were committed when it finished (analytics/dashboards/cache.py).
    MetricsRun.objects.filter(status="done").update(computed_at=models.F("finished_at"))


def from_jobs(apps, schema_editor):
    ChurnModel = apps.get_model("analytics", "ChurnModel")
    for model in ChurnModel.objects.all():
        model.trained_at = model.started_at or model.created_at
        if model.status == "done":
            model.status = model.outcome
        elif model.status in ("failed", "cancelled"):
            model.status, model.reason, model.reason_values = "failed", "failed", {}
        else:
            model.status = "running"
        model.save()


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0011_job_run_token"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="churnmodel",
            name="cancel_requested",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.AddField(
            model_name="churnmodel",
            name="created_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now, editable=False, verbose_name="created"
            ),
        ),
        migrations.AddField(
            model_name="churnmodel",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="started by",
            ),
        ),
        migrations.AddField(
            model_name="churnmodel",
            name="failure",
            field=models.TextField(blank=True, verbose_name="failure"),
        ),
        migrations.AddField(
            model_name="churnmodel",
            name="heartbeat_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="churnmodel",
            name="outcome",
            field=models.CharField(
                blank=True,
                choices=[("scored", "Scored"), ("too_little_data", "Too little data")],
                editable=False,
                max_length=20,
                verbose_name="outcome",
            ),
        ),
        migrations.AddField(
            model_name="churnmodel",
            name="recoveries",
            field=models.PositiveSmallIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="churnmodel",
            name="rows_done",
            field=models.PositiveIntegerField(default=0, verbose_name="rows done"),
        ),
        migrations.AddField(
            model_name="churnmodel",
            name="rows_total",
            field=models.PositiveIntegerField(blank=True, null=True, verbose_name="rows"),
        ),
        migrations.AddField(
            model_name="churnmodel",
            name="run_token",
            field=models.CharField(blank=True, editable=False, max_length=32),
        ),
        migrations.AddField(
            model_name="churnmodel",
            name="started_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="started"),
        ),
        migrations.AddField(
            model_name="metricsrun",
            name="computed_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="metrics computed"),
        ),
        migrations.AddField(
            model_name="metricsrun",
            name="metrics_only",
            field=models.BooleanField(default=False, verbose_name="metrics and stages only"),
        ),
        migrations.AlterField(
            model_name="metricsrun",
            name="as_of",
            field=models.DateTimeField(blank=True, null=True, verbose_name="as of"),
        ),
        migrations.RunPython(to_jobs, from_jobs),
    ]
