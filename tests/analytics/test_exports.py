"""Customer exports: the list's customers, the chosen columns, masked unless permitted,
formula-safe, audited, and importable again unchanged."""

import csv
import datetime
import io
import json
from pathlib import Path

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command

from analytics.exports.columns import DEFAULT_COLUMNS
from analytics.exports.jobs import EXPORT_JOBS, delete_expired_exports
from analytics.exports.services import cancel_export, start_export
from analytics.models import ExportJob
from customers import services
from customers.imports import jobs as import_jobs
from customers.models import Customer, Tag
from kernel.models import JobStatus, job_stalled_after
from privacy import roles
from privacy.models import AuditEvent
from tests.customers.importfiles import upload
from tests.factories import CustomerFactory
from tests.job_pages import assert_job_page_shows

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _export(actor, *, columns=None, params=None, search="", format="csv"):
    job = start_export(
        actor=actor,
        params=params or {},
        search=search,
        columns=columns or DEFAULT_COLUMNS,
        format=format,
        queue=False,
    )
    EXPORT_JOBS.run(job.pk)
    job.refresh_from_db()
    return job


def _csv(job):
    with job.file.open("rb") as handle:
        text = handle.read().decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


@pytest.fixture
def customers():
    vip = Tag.objects.create(name="VIP")
    wang = CustomerFactory(
        name="王丽娟",
        phone="13800138000",
        email="wlj@example.com",
        gender="female",
        birth_date="1990-01-05",
        province="上海",
        city="上海",
        street="南京西路 1266 号",
        lifecycle_stage="repeat",
        value_grade="A",
        source_channel="marketplace",
        notes='=HYPERLINK("http://evil","click")',
        consent_email=True,
        tags=[vip],
    )
    anna = CustomerFactory(
        name="Anna Schmidt",
        email="anna@example.de",
        city="Berlin",
        country="DE",
        company_name="@Acme GmbH",
        lifecycle_stage="lead",
        source_channel="trade_fair",
    )
    return wang, anna


def test_privacy_officer_exports_unmasked_and_formula_safe(privacy_user, customers):
    job = _export(
        privacy_user,
        columns=[
            "name",
            "phone",
            "email",
            "street",
            "tags",
            "notes",
            "company_name",
            "lifecycle_stage",
            "consent_email",
        ],
    )
    assert job.status == JobStatus.DONE
    assert job.rows_done == 2
    assert job.unmasked
    header, wang, anna = _csv(job)
    assert header == [
        "Name",
        "Mobile phone",
        "Email",
        "Street address",
        "Tags",
        "Notes",
        "Company",
        "Lifecycle stage",
        "Email marketing consent",
    ]
    assert wang == [
        "王丽娟",
        "'+8613800138000",
        "wlj@example.com",
        "南京西路 1266 号",
        "VIP",
        '\'=HYPERLINK("http://evil","click")',
        "",
        "Repeat customer",
        "yes",
    ]
    assert anna[6] == "'@Acme GmbH"


def test_analyst_exports_masked_personal_data(analyst_user, customers):
    job = _export(analyst_user, columns=["name", "phone", "email", "street", "postcode"])
    assert not job.unmasked
    rows = _csv(job)
    assert rows[1][:4] == ["王丽娟", "138****8000", "w***@example.com", "南京***"]
    assert "13800138000" not in str(rows)
    assert "wlj@" not in str(rows)


def test_an_unmasked_export_file_is_readable_by_the_crms_account_only(privacy_user, customers):
    job = _export(privacy_user, columns=["name", "phone"])
    assert job.unmasked
    file = Path(job.file.path)
    # Neither the file nor its month's folders are open to other local users (crm/__init__.py).
    for path in (file, file.parent, file.parent.parent):
        assert path.stat().st_mode & 0o077 == 0, path


def test_an_export_reads_the_lists_filters_and_is_audited(admin_user_role, customers):
    job = _export(admin_user_role, params={"lifecycle_stage": "lead", "after": "9"}, search="Anna")
    assert [row[0] for row in _csv(job)[1:]] == ["Anna Schmidt"]
    start = AuditEvent.objects.get(action="export.start", target_id=str(job.pk))
    assert start.changes["filters"] == {"lifecycle_stage": "lead"}
    assert start.changes["searched"] is True
    assert "Anna" not in json.dumps(start.changes)
    done = AuditEvent.objects.get(action="export.done", target_id=str(job.pk))
    assert done.changes["rows"] == 1


def test_xlsx_export_keeps_numbers_as_text_and_neutralises(admin_user_role, customers):
    job = _export(admin_user_role, columns=["name", "phone", "notes"], format="xlsx")
    with job.file.open("rb") as handle:
        sheet = openpyxl.load_workbook(handle, read_only=True).worksheets[0]
        rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == ["Name", "Mobile phone", "Notes"]
    assert rows[1] == ["王丽娟", "'+8613800138000", '\'=HYPERLINK("http://evil","click")']


def test_sales_may_not_export_and_others_cannot_fetch_an_export(
    client, sales_user, analyst_user, privacy_user, customers
):
    with pytest.raises(PermissionDenied):
        start_export(actor=sales_user, params={}, columns=["name"], format="csv")
    job = _export(analyst_user)
    client.force_login(privacy_user)
    assert client.get(f"/exports/{job.pk}/download/").status_code == 404
    client.force_login(analyst_user)
    response = client.get(f"/exports/{job.pk}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith("\ufeff".encode())
    assert AuditEvent.objects.filter(action="export.download", target_id=str(job.pk)).exists()


def test_export_then_import_then_export_gives_the_same_file(admin_user_role, customers):
    columns = [
        "name",
        "gender",
        "birth_date",
        "phone",
        "email",
        "province",
        "city",
        "street",
        "company_name",
        "lifecycle_stage",
        "value_grade",
        "source_channel",
        "tags",
        "notes",
        "consent_email",
    ]
    first = _export(admin_user_role, columns=columns)
    with first.file.open("rb") as handle:
        content = handle.read()
    Customer.objects.all().delete()
    job = import_jobs.create_import(
        actor=admin_user_role, kind="customers", upload=upload("export.csv", content)
    )
    assert job.mapping == columns  # the export's headers are the import's field names
    import_jobs.configure_import(actor=admin_user_role, job=job, mapping=job.mapping)
    import_jobs.start_import(actor=admin_user_role, job=job, queue=False)
    import_jobs.IMPORT_JOBS.run(job.pk)
    job.refresh_from_db()
    assert list(import_jobs.report_rows(job)) == []
    assert (job.rows_created, job.rows_failed, job.warnings) == (2, 0, 0)
    second = _export(admin_user_role, columns=columns)
    assert _csv(second) == _csv(first)


def test_the_command_exports_a_saved_view(tmp_path, admin_user_role, customers):
    from django.http import QueryDict

    services.save_customer_view(
        actor=admin_user_role,
        name="Leads",
        query=QueryDict("lifecycle_stage=lead"),
        is_shared=False,
    )
    out = tmp_path / "leads.xlsx"
    call_command(
        "export_customers",
        "-o",
        str(out),
        "--view",
        "Leads",
        "--format",
        "xlsx",
        "--user",
        admin_user_role.username,
        "--columns",
        "name,city",
    )
    sheet = openpyxl.load_workbook(out, read_only=True).worksheets[0]
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [
        ["Name", "City"],
        ["Anna Schmidt", "Berlin"],
    ]
    assert ExportJob.objects.get().view_name == "Leads"


def test_exports_are_written_in_chunks(admin_user_role, monkeypatch):
    monkeypatch.setattr("analytics.exports.rows.CHUNK", 3)
    for index in range(8):
        CustomerFactory(name=f"客户{index}", tags=[Tag.objects.get_or_create(name=f"t{index}")[0]])
    rows = _csv(_export(admin_user_role, columns=["name", "tags"]))
    assert rows[1:] == [[f"客户{index}", f"t{index}"] for index in range(8)]


def test_a_cancelled_export_leaves_no_file(admin_user_role, customers, settings):
    job = start_export(
        actor=admin_user_role, params={}, columns=["name"], format="csv", queue=False
    )
    cancel_export(actor=admin_user_role, job=job)
    EXPORT_JOBS.run(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert not job.file
    assert not list((settings.MEDIA_ROOT).rglob("*.csv"))


def test_old_export_files_are_deleted(admin_user_role, customers):
    job = _export(admin_user_role)
    path = job.file.path
    later = job.finished_at + datetime.timedelta(days=8)
    assert delete_expired_exports(now=later) == 1
    job.refresh_from_db()
    assert not job.file
    import os

    assert not os.path.exists(path)


def test_the_export_page_names_an_owner_filter_as_the_list_offers_it(
    client, analyst_user, make_user
):
    owner = make_user(roles.SALES, username="wlj", last_name="王", first_name="丽娟")
    client.force_login(analyst_user)
    page = client.get(f"/exports/new/?owner={owner.pk}")
    assert [(str(label), value) for label, value in page.context["filters"]] == [
        ("owner", "王丽娟 (wlj)")
    ]


def test_the_export_page_starts_a_job_for_the_lists_filters(
    client, analyst_user, customers, django_capture_on_commit_callbacks
):
    client.force_login(analyst_user)
    page = client.get("/exports/new/?lifecycle_stage=lead")
    assert page.status_code == 200
    # The filters as the list's form shows them: labels, and no empty date ranges.
    assert [(str(label), value) for label, value in page.context["filters"]] == [
        ("lifecycle stage", "Lead")
    ]
    assert "masked in your exports" in page.content.decode()
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            "/exports/new/?lifecycle_stage=lead", {"columns": ["name", "city"], "format": "csv"}
        )
    job = ExportJob.objects.get()
    assert response["Location"] == f"/exports/{job.pk}/"
    assert len(callbacks) == 1
    assert job.filters == {"lifecycle_stage": "lead"}
    EXPORT_JOBS.run(job.pk)
    assert "Download" in client.get(f"/exports/{job.pk}/progress/").content.decode()


def test_a_redelivered_export_leaves_a_live_run_alone(admin_user_role, customers, settings):
    from django.utils import timezone

    job = start_export(
        actor=admin_user_role, params={}, columns=["name"], format="csv", queue=False
    )
    ExportJob.objects.filter(pk=job.pk).update(status="running", heartbeat_at=timezone.now())
    EXPORT_JOBS.run(job.pk)
    job.refresh_from_db()
    assert job.status == "running"
    assert not job.file
    ExportJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - job_stalled_after() * 2,
        started_at=timezone.now() - job_stalled_after() * 2,
    )
    EXPORT_JOBS.run(job.pk)  # the first worker is presumed dead: this run takes over
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert job.rows_done == 2


def test_half_written_files_of_dead_workers_are_removed(admin_user_role, settings):
    import os
    import time

    partial = settings.MEDIA_ROOT / "exports" / "partial" / "job-99.csv"
    partial.parent.mkdir(parents=True)
    partial.write_text("王丽娟,13800138000\n")
    old = time.time() - 3600
    os.utime(partial, (old, old))
    assert delete_expired_exports() == 1
    assert not partial.exists()


@pytest.mark.parametrize("ending", ["done", "cancelled"])
def test_the_export_page_and_its_polled_panel_say_how_the_job_ended(
    client, admin_user_role, customers, ending
):
    client.force_login(admin_user_role)
    job = start_export(
        actor=admin_user_role, params={}, columns=["name"], format="csv", queue=False
    )
    page, progress = f"/exports/{job.pk}/", f"/exports/{job.pk}/progress/"
    assert "Queued" in client.get(progress).content.decode()
    if ending == "cancelled":
        cancel_export(actor=admin_user_role, job=job)
    EXPORT_JOBS.run(job.pk)
    assert_job_page_shows(
        client, page, progress, {"done": "Done", "cancelled": "Cancelled"}[ending]
    )
