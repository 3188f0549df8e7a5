"""The import wizard in the browser's place: upload, mapping, preview, start, progress, report,
and a real Celery worker killed in the middle of an import."""

import csv
import io
import signal
import time

import pytest
from django.core.management import call_command

from customers.imports import jobs
from customers.models import Customer, ImportJob
from kernel.models import JobStatus
from kernel.tasks import recover_stalled_jobs_task
from privacy.models import AuditEvent
from tests.customers.importfiles import csv_bytes, upload
from tests.job_pages import assert_job_page_shows
from tests.worker_process import start_worker, stop_workers, wait_for, worker_env

pytestmark = pytest.mark.django_db

ROWS = [
    ["姓名", "手机号码", "生日", "备注"],
    ["王丽娟", "13800138000", "1990-02-30", '=HYPERLINK("http://evil")'],
    ["Anna Schmidt", "+49 30 1234567", "1990-01-01", ""],
]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _upload(client, content=None, name="customers.csv"):
    return client.post(
        "/imports/",
        {"kind": "customers", "file": upload(name, content or csv_bytes(ROWS))},
    )


def _mapping_post(job, **extra):
    data = {f"column_{i}": key for i, key in enumerate(job.mapping)}
    data.update(source_name="", source_channel="import", policy="fill", invalid_values="reject")
    data.update(extra)
    return data


def test_upload_maps_previews_and_starts(
    client, admin_user_role, django_capture_on_commit_callbacks
):
    client.force_login(admin_user_role)
    response = _upload(client)
    job = ImportJob.objects.get()
    assert response["Location"] == f"/imports/{job.pk}/"
    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert 'value="name" selected' in html
    assert 'value="phone" selected' in html
    assert [row.outcome for row in page.context["preview"]] == ["failed", "created"]
    assert "This is not a real calendar date." in html
    with django_capture_on_commit_callbacks() as callbacks:
        started = client.post(f"/imports/{job.pk}/", _mapping_post(job, start="1"))
    assert started.status_code == 302
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    jobs.IMPORT_JOBS.run(job.pk)  # what the worker does with the message
    progress = client.get(f"/imports/{job.pk}/progress/").content.decode()
    assert "Download the error report" in progress


def test_a_refused_upload_says_why_in_the_users_language(client, admin_user_role):
    client.force_login(admin_user_role)
    response = client.post(
        "/imports/",
        {"kind": "customers", "file": upload("x.csv", csv_bytes([["姓名", "姓名"], ["a", "b"]]))},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 400
    assert "出现了两次" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_an_invalid_mapping_is_explained(client, admin_user_role):
    client.force_login(admin_user_role)
    _upload(client)
    job = ImportJob.objects.get()
    response = client.post(
        f"/imports/{job.pk}/", _mapping_post(job, column_0="", column_1="", start="1")
    )
    assert response.status_code == 400
    assert "Choose the column with the name" in response.content.decode()
    job.refresh_from_db()
    assert job.status == JobStatus.DRAFT


def test_the_error_report_is_formula_safe_and_audited(client, admin_user_role):
    client.force_login(admin_user_role)
    _upload(client, csv_bytes([["姓名", "手机"], ["=cmd|' /C calc'!A0", "not a phone"]]))
    job = ImportJob.objects.get()
    jobs.configure_import(actor=admin_user_role, job=job, mapping=job.mapping)
    jobs.start_import(actor=admin_user_role, job=job, queue=False)
    jobs.IMPORT_JOBS.run(job.pk)
    response = client.get(f"/imports/{job.pk}/report.csv")
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert lines[0] == ["Row", "Column", "Value", "Severity", "Message"]
    assert lines[1][:4] == ["2", "手机", "not a phone", "Error"]
    assert AuditEvent.objects.filter(action="import.report", target_id=str(job.pk)).exists()


def test_someone_elses_job_answers_404(client, sales_user, other_sales_user):
    client.force_login(sales_user)
    _upload(client)
    job = ImportJob.objects.get()
    client.force_login(other_sales_user)
    for path in ("", "progress/", "report.csv"):
        assert client.get(f"/imports/{job.pk}/{path}").status_code == 404
    assert client.post(f"/imports/{job.pk}/cancel/").status_code == 404


def test_staff_without_the_import_permission_cannot_upload(client, analyst_user):
    client.force_login(analyst_user)
    assert _upload(client).status_code == 403
    assert not ImportJob.objects.exists()


def test_the_command_prints_a_json_summary_and_fails_loudly(tmp_path, admin_user_role, capsys):
    import json

    from django.core.management.base import CommandError

    path = tmp_path / "customers.csv"
    path.write_bytes(csv_bytes(ROWS))
    call_command(
        "import_customers",
        str(path),
        "--user",
        admin_user_role.username,
        "--invalid-values",
        "drop",
        "--source",
        "pos",
    )
    summary = json.loads(capsys.readouterr().out)
    assert (summary["status"], summary["created"], summary["warnings"]) == ("done", 2, 1)
    call_command("import_customers", str(path), "--user", admin_user_role.username, "--dry-run")
    summary = json.loads(capsys.readouterr().out)
    assert summary["unchanged"] == 1
    assert summary["failed"] == 1
    assert summary["dry_run"]
    assert summary["errors"] == [
        {"row": 2, "column": "生日", "message": "This is not a real calendar date."}
    ]
    path.write_bytes(b"")
    with pytest.raises(CommandError, match="empty"):
        call_command("import_customers", str(path), "--user", admin_user_role.username)
    assert Customer.objects.count() == 2


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_import_is_seen_and_the_import_finishes_by_itself_without_duplicates(
    client, admin_user_role, settings
):
    """A real worker process on the real broker is killed with SIGKILL halfway. Within a few
    heartbeats the page says the import was interrupted (no "about 5 s left"); beat's recovery
    queues it again and the next worker goes on after its last committed batch: the result
    equals an uninterrupted import."""
    settings.JOB_HEARTBEAT_SECONDS, settings.JOB_STALLED_AFTER_SECONDS = 1, 3
    rows = [["姓名", "手机"]] + [[f"顾客{i}", f"138{i:08d}"] for i in range(3000)]
    job = jobs.create_import(
        actor=admin_user_role, kind="customers", upload=upload("big.csv", csv_bytes(rows))
    )
    jobs.configure_import(actor=admin_user_role, job=job, mapping=job.mapping)
    env = worker_env(
        IMPORT_BATCH_SIZE="50", JOB_HEARTBEAT_SECONDS="1", JOB_STALLED_AFTER_SECONDS="3"
    )
    client.force_login(admin_user_role)
    workers = [start_worker(env)]
    try:
        jobs.start_import(actor=admin_user_role, job=job)
        wait_for(lambda: ImportJob.objects.get(pk=job.pk).rows_done >= 500, seconds=60)
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(timeout=10)
        job.refresh_from_db()
        assert job.status == JobStatus.RUNNING
        assert 500 <= job.rows_done < 3000
        assert Customer.objects.count() == job.checkpoint_row - 1 == job.rows_created
        killed_at = time.monotonic()
        wait_for(lambda: ImportJob.objects.get(pk=job.pk).lost_worker, seconds=10)
        assert time.monotonic() - killed_at < 3 + 2  # the threshold, plus the last beat's age
        panel = client.get(f"/imports/{job.pk}/progress/").content.decode()
        assert "Interrupted" in panel
        assert "s left" not in panel
        # Beat's minute comes (a filesystem broker may also hand the dead worker's message to
        # the next worker: that run would take the stalled job over just as safely).
        assert recover_stalled_jobs_task() == 1
        assert ImportJob.objects.get(pk=job.pk).status == JobStatus.QUEUED
        workers.append(start_worker(env))
        wait_for(lambda: ImportJob.objects.get(pk=job.pk).status == JobStatus.DONE, seconds=60)
    finally:
        stop_workers(workers)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert (job.rows_created, job.rows_failed, job.recoveries) == (3000, 0, 1)
    assert Customer.objects.count() == 3000
    assert Customer.objects.values("phone").distinct().count() == 3000
    resumed = AuditEvent.objects.get(action="import.resume", target_id=str(job.pk))
    assert resumed.changes == {"automatic": True, "attempt": 1}
    assert resumed.via == "task"


def test_only_kinds_with_a_row_handler_are_offered(client, admin_user_role):
    client.force_login(admin_user_role)
    page = client.get("/imports/").content.decode()
    assert 'value="customers"' in page
    response = client.post(
        "/imports/",
        {"kind": "no-such-kind", "file": upload("a.csv", csv_bytes([["姓名"], ["王"]]))},
    )
    assert response.status_code == 400
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize("ending", ["done", "cancelled"])
def test_the_import_page_and_its_polled_panel_say_how_the_job_ended(
    client, admin_user_role, ending
):
    client.force_login(admin_user_role)
    _upload(client)
    job = ImportJob.objects.get()
    client.post(f"/imports/{job.pk}/", _mapping_post(job, start="1"))
    job.refresh_from_db()
    page, progress = f"/imports/{job.pk}/", f"/imports/{job.pk}/progress/"
    assert "Queued" in client.get(progress).content.decode()  # the panel the page polls
    if ending == "done":
        jobs.IMPORT_JOBS.run(job.pk)
    else:
        jobs.cancel_import(actor=admin_user_role, job=job)
    assert_job_page_shows(
        client, page, progress, {"done": "Done", "cancelled": "Cancelled"}[ending]
    )
