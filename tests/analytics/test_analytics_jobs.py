"""The analytics jobs on the job runner (kernel/jobs/runner.py): the nightly run (MetricsRun),
churn training (ChurnModel) and a segment's refresh (SegmentRefresh). A second delivery does
nothing; an unexpected error fails the job with a translated reason and its audit event; a
job whose worker died is queued again (a training is failed instead) and the next run
finishes it. A failed training does not keep the segments back; the dashboards read a run's
metrics as soon as they are committed; the segment page tells of a refresh waiting, running
or failed, in both languages; churn models written before map onto the runner's statuses."""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Callable

import pytest
from django.conf import settings
from django.utils import timezone, translation

from analytics import churn
from analytics.churn import CHURN_TRAINING
from analytics.dashboards.cache import data_version
from analytics.metrics import refresh_metrics
from analytics.models import ChurnModel, MetricsRun, Segment, SegmentRefresh
from analytics.nightly import ANALYTICS_REFRESH, refresh_analytics, request_refresh
from analytics.segments.refresh import SEGMENT_REFRESH, start_refresh
from analytics.tasks import scheduled_metrics_refresh
from kernel.jobs.recovery import recover_stalled_jobs
from kernel.jobs.runner import JobKind
from kernel.models import BackgroundJob, JobStatus
from privacy.models import AuditEvent
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

SHANGHAI = {"match": "all", "rules": [{"field": "city", "operator": "is", "value": "上海"}]}
_numbers = itertools.count(1)


def queued_metrics_run() -> MetricsRun:
    return MetricsRun.objects.create(status=JobStatus.QUEUED)


def queued_churn_model() -> ChurnModel:
    return ChurnModel.objects.create(
        as_of=timezone.now(), horizon_days=settings.CHURN_HORIZON_DAYS, status=JobStatus.QUEUED
    )


def queued_segment_refresh() -> SegmentRefresh:
    segment = Segment.objects.create(name=f"Shanghai {next(_numbers)}", rules=SHANGHAI)
    return SegmentRefresh.objects.create(segment=segment, status=JobStatus.QUEUED)


KINDS: list[tuple[JobKind, Callable[[], BackgroundJob]]] = [
    (ANALYTICS_REFRESH, queued_metrics_run),
    (CHURN_TRAINING, queued_churn_model),
    (SEGMENT_REFRESH, queued_segment_refresh),
]
# What each kind's work calls first: made to raise for the unexpected error.
BREAKS = {
    ANALYTICS_REFRESH: "analytics.nightly.compute_metrics",
    CHURN_TRAINING: "analytics.churn._train",
    SEGMENT_REFRESH: "analytics.segments.refresh.refresh_segment",
}
IDS = ["nightly", "churn", "segment"]


@pytest.fixture(autouse=True)
def _quick(settings):
    settings.JOB_STALLED_AFTER_SECONDS = 60
    settings.CHURN_MIN_CUSTOMERS = 100


def _ago(seconds: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(seconds=seconds)


def _events(action: str, job: BackgroundJob) -> int:
    return AuditEvent.objects.filter(action=action, target_id=str(job.pk)).count()


@pytest.mark.parametrize(("kind", "queued"), KINDS, ids=IDS)
def test_a_job_runs_once_however_often_its_message_comes(kind, queued):
    CustomerFactory(city="上海")
    job = queued()
    assert kind.run(job.pk).status == JobStatus.DONE
    assert kind.run(job.pk) is None  # a redelivered message
    assert _events(f"{kind.audit_prefix}.done", job) == 1


@pytest.mark.parametrize(("kind", "queued"), KINDS, ids=IDS)
def test_an_unexpected_error_fails_the_job_with_a_translated_reason(
    kind, queued, monkeypatch, settings
):
    def breaks(*args, **kwargs):
        raise RuntimeError("out of disk at /srv/secret")

    monkeypatch.setattr(BREAKS[kind], breaks)
    settings.LANGUAGE_CODE = "zh-hans"  # the language of jobs that have none of their own
    job = queued()
    if isinstance(job, SegmentRefresh):
        SegmentRefresh.objects.filter(pk=job.pk).update(language="zh-hans")
    failed = kind.run(job.pk)
    with translation.override("zh-hans"):
        reason = str(kind.unexpected_failure)
    with translation.override("en"):
        assert reason != str(kind.unexpected_failure)  # translated
    assert (failed.status, failed.failure) == (JobStatus.FAILED, reason)
    assert _events(f"{kind.audit_prefix}.failed", job) == 1


@pytest.mark.parametrize(("kind", "queued"), KINDS, ids=IDS)
def test_a_job_whose_worker_died_is_queued_again_and_finished_or_failed(
    kind, queued, django_capture_on_commit_callbacks
):
    job = queued()
    type(job).objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, started_at=_ago(120), heartbeat_at=_ago(90), run_token="dead"
    )
    with django_capture_on_commit_callbacks() as sent:
        recovered = recover_stalled_jobs()
    job.refresh_from_db()
    if kind is CHURN_TRAINING:
        # The nightly run it belonged to starts over, training included.
        assert (recovered.requeued, recovered.failed, len(sent)) == (0, 1, 0)
        assert job.status == JobStatus.FAILED
        assert "worker running this job stopped" in job.failure
        assert _events("churn.train.failed", job) == 1
        assert churn.reason_text(job) == job.failure
        return
    assert (recovered.requeued, len(sent)) == (1, 1)
    assert (job.status, job.recoveries) == (JobStatus.QUEUED, 1)
    assert _events(f"{kind.audit_prefix}.resume", job) == 1
    assert kind.run(job.pk).status == JobStatus.DONE


def test_a_failed_training_is_recorded_and_the_segments_and_dashboards_go_on(monkeypatch):
    def breaks(model):
        raise MemoryError

    monkeypatch.setattr("analytics.churn._train", breaks)
    CustomerFactory(city="上海")
    segment = Segment.objects.create(name="Shanghai", rules=SHANGHAI)
    run = refresh_analytics()
    assert run.status == JobStatus.DONE
    model = churn.latest_model()
    assert (model.status, model.outcome) == (JobStatus.FAILED, "")
    assert model.reason_text == (
        "Training failed, so the previous scores were kept; the error is in the worker's log."
    )
    segment.refresh_from_db()
    assert (segment.size, segment.refreshed_at >= model.finished_at) == (1, True)
    assert data_version().run_id == run.pk


def test_the_refresh_metrics_command_runs_the_metrics_alone():
    run = refresh_metrics()
    assert (run.status, run.metrics_only) == (JobStatus.DONE, True)
    assert run.as_of is not None
    assert run.computed_at <= run.finished_at
    assert not ChurnModel.objects.exists()
    assert _events("metrics.refresh", run) == 1  # with the metrics, in their transaction
    done = AuditEvent.objects.get(action="metrics.refresh.done", target_id=str(run.pk))
    assert done.changes["metrics_only"] is True


def test_the_dashboards_read_a_run_s_metrics_though_a_later_step_failed(monkeypatch):
    def breaks():
        raise RuntimeError

    monkeypatch.setattr("analytics.nightly.refresh_segments", breaks)
    run = refresh_analytics()
    assert run.status == JobStatus.FAILED
    assert run.computed_at is not None
    assert data_version().run_id == run.pk


def test_one_nightly_run_at_a_time_and_a_silent_one_is_given_up(
    django_capture_on_commit_callbacks, analyst_user
):
    busy = MetricsRun.objects.create(status=JobStatus.RUNNING, heartbeat_at=timezone.now())
    scheduled_metrics_refresh()  # the beat: skipped while a run is in progress
    assert request_refresh(actor=analyst_user) is None
    assert MetricsRun.objects.count() == 1
    MetricsRun.objects.filter(pk=busy.pk).update(
        heartbeat_at=timezone.now() - ANALYTICS_REFRESH.time_limit - datetime.timedelta(seconds=1)
    )
    with django_capture_on_commit_callbacks() as sent:
        queued = request_refresh(actor=analyst_user)
    assert (queued.status, len(sent)) == (JobStatus.QUEUED, 1)
    busy.refresh_from_db()
    assert busy.status == JobStatus.FAILED
    assert _events("metrics.refresh.failed", busy) == 1


def test_the_segment_page_tells_of_a_refresh_waiting_running_and_failed(
    client, analyst_user, django_capture_on_commit_callbacks
):
    segment = Segment.objects.create(
        name="Broken",
        rules={"match": "all", "rules": [{"field": "password", "operator": "is", "value": "x"}]},
    )
    client.force_login(analyst_user)
    with django_capture_on_commit_callbacks() as sent:
        response = client.post(f"/segments/{segment.pk}/refresh/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    job = SegmentRefresh.objects.get(segment=segment)
    assert (response.status_code, len(sent), job.created_by) == (302, 1, analyst_user)
    assert job.language == "zh-hans"

    def shown(language: str) -> str:
        page = client.get(f"/segments/{segment.pk}/", HTTP_ACCEPT_LANGUAGE=language)
        html = page.content.decode()
        if 'id="segment-refresh"' not in html:
            return ""
        part = html[html.index('id="segment-refresh"') :]
        return part[: part.index("</div>")]

    assert "A refresh of the members is waiting for the worker." in shown("en")
    with translation.override("zh-hans"):
        waiting = translation.gettext("A refresh of the members is waiting for the worker.")
        running = translation.gettext(
            "The members are being refreshed; reload the page in a moment for the new size."
        )
        invalid = translation.gettext(
            "The segment's rules are no longer valid; edit them to refresh its members."
        )
    assert waiting in shown("zh-hans")
    SegmentRefresh.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    assert "The members are being refreshed" in shown("en")
    assert running in shown("zh-hans")
    SegmentRefresh.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED)

    failed = SEGMENT_REFRESH.run(job.pk)
    assert (failed.status, failed.failure) == (JobStatus.FAILED, invalid)  # its starter's words
    assert _events("segment.refresh.failed", job) == 1
    assert "The last refresh of the members failed:" in shown("en")
    assert invalid in shown("zh-hans")

    # Refreshed since (by the nightly run, say): the failure is old news.
    Segment.objects.filter(pk=segment.pk).update(refreshed_at=timezone.now())
    assert shown("en") == ""
    Segment.objects.filter(pk=segment.pk).update(rules=SHANGHAI, refreshed_at=None)
    with django_capture_on_commit_callbacks():
        again = start_refresh(Segment.objects.get(pk=segment.pk), actor=analyst_user)
    done = SEGMENT_REFRESH.run(again.pk)
    assert (done.status, done.size_before, done.size_after) == (JobStatus.DONE, 0, 0)
    assert shown("en") == ""


def test_a_static_list_has_no_refresh_to_queue(analyst_user):
    listed = Segment.objects.create(name="Fair leads", kind="static")
    assert start_refresh(listed, actor=analyst_user) is None
    assert not SegmentRefresh.objects.exists()


BEFORE = [("analytics", "0011_job_run_token")]
AFTER = [("analytics", "0013_analytics_job_rows")]


@pytest.mark.django_db(transaction=True)
def test_churn_models_written_before_keep_their_outcome_and_reason(migrate_to):
    old = migrate_to(BEFORE)
    trained = timezone.now() - datetime.timedelta(days=1)
    rows = old.get_model("analytics", "ChurnModel").objects
    common = {"as_of": trained, "horizon_days": 90, "trained_at": trained}
    scored = rows.create(status="scored", auc=0.8, scored_customers=5, **common)
    little = rows.create(
        status="too_little_data",
        reason="too_few_buyers",
        reason_values={"count": 1, "date": "2026-01-01", "needed": 100},
        **common,
    )
    failed = rows.create(status="failed", reason="failed", **common)
    running = rows.create(status="running", **common)
    finished = trained + datetime.timedelta(minutes=3)
    metrics = old.get_model("analytics", "MetricsRun").objects.create(
        as_of=trained, status="done", finished_at=finished
    )
    new = migrate_to(AFTER)
    mapped = {row.pk: row for row in new.get_model("analytics", "ChurnModel").objects.all()}
    assert (mapped[scored.pk].status, mapped[scored.pk].outcome) == ("done", "scored")
    assert mapped[scored.pk].auc == 0.8
    assert (mapped[little.pk].status, mapped[little.pk].outcome) == ("done", "too_little_data")
    assert mapped[little.pk].reason_values["needed"] == 100
    assert (mapped[failed.pk].status, mapped[failed.pk].reason) == ("failed", "")
    assert mapped[failed.pk].failure.startswith("Training failed")
    assert mapped[running.pk].status == "running"
    assert {row.created_at for row in mapped.values()} == {trained}
    assert {row.started_at for row in mapped.values()} == {trained}
    run = new.get_model("analytics", "MetricsRun").objects.get(pk=metrics.pk)
    assert run.computed_at == finished
