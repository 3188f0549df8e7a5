"""/api/v1/imports/: the import wizard over HTTP, with the wizard's own upload checks, mapping
rules and scope; a messy Chinese file run end to end by a real worker, polled, and its report
read a page at a time; a retried start that starts nothing twice."""

import datetime

import pytest
from django.utils import timezone

from customers.imports import jobs
from customers.models import Customer, ImportJob
from kernel.models import JobStatus
from privacy.models import AuditEvent
from tests.customers.importfiles import csv_bytes, upload, xlsx_bytes
from tests.worker_process import start_worker, stop_workers, wait_for, worker_env

IMPORTS = "/api/v1/imports/"

# As a shop's back office writes it: GBK, padded headers, phones in every format, full-width
# digits, a date with Chinese units, an impossible phone, an invalid identity number, a row
# without a name.
MESSY_ROWS = [
    [" 姓名 ", "手机号码", "电子邮箱", "出生日期", "身份证号", "备注"],
    ["王丽娟", "138 0013 8000", "WANG.LJ@Example.COM ", "1985年3月7日", "", "老客户"],
    ["李 强", "+86-139-0013-9000", "", "1990/12/01", "", ""],
    ["张伟", "１３７００１３７０００", "zw@example.cn", "", "", "全角数字"],
    ["陈静", "12345", "", "", "", "号码不对"],
    ["刘洋", "13600136000", "", "", "110101199003071235", "身份证校验位错"],
    ["", "13500135000", "", "", "", "没有名字"],
]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def upload_file(client, content: bytes, name: str = "客户.csv", **headers):
    return client.post(IMPORTS, {"file": upload(name, content)}, format="multipart", **headers)


def mapped(body: dict) -> dict[str, str]:
    return {column["header"]: column["field"] for column in body["columns"]}


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_messy_chinese_file_runs_end_to_end_on_a_real_worker_and_reports_its_bad_rows(
    admin_api,
):
    uploaded = upload_file(
        admin_api, csv_bytes(MESSY_ROWS, encoding="gbk"), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert uploaded.status_code == 201, uploaded.json()
    job_url = uploaded["Location"]
    body = uploaded.json()
    assert body["status"] == JobStatus.DRAFT
    assert mapped(body) == {
        "姓名": "name",
        "手机号码": "phone",
        "电子邮箱": "email",
        "出生日期": "birth_date",
        "身份证号": "id_number",
        "备注": "notes",
    }
    assert "phone" in {field["key"] for field in body["mappable_fields"]}
    changed = admin_api.patch(
        job_url, {"source_name": "tmall", "invalid_values": "reject"}, format="json"
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["options"]["source_name"] == "tmall"
    worker = start_worker(worker_env())
    try:
        started = admin_api.post(f"{job_url}start/", HTTP_IDEMPOTENCY_KEY="import-1")
        assert started.status_code == 202, started.json()
        assert started["Location"] == job_url
        wait_for(
            lambda: ImportJob.objects.get(pk=body["id"]).status in ImportJob.FINISHED, seconds=60
        )
    finally:
        stop_workers([worker])
    polled = admin_api.get(job_url).json()
    assert polled["status"] == JobStatus.DONE, polled
    progress = polled["progress"]
    assert (progress["done"], progress["total"], progress["percent"]) == (6, 6, 100)
    assert progress["rows_per_second"] > 0
    assert progress["seconds_left"] is None  # ended
    assert polled["counts"]["created"] == 3
    assert polled["counts"]["failed"] == 3
    phones = set(Customer.objects.values_list("phone", flat=True))
    assert phones == {"+8613800138000", "+8613900139000", "+8613700137000"}
    assert Customer.objects.get(phone="+8613800138000").email == "wang.lj@example.com"
    first = admin_api.get(polled["report"], {"limit": 2}).json()
    issues = first["results"]
    while first["next"]:
        first = admin_api.get(first["next"]).json()
        issues += first["results"]
    assert [issue["row"] for issue in issues] == sorted(issue["row"] for issue in issues)
    assert {issue["row"] for issue in issues if issue["severity"] == "error"} == {5, 6, 7}
    id_issue = next(issue for issue in issues if issue["row"] == 6)
    assert id_issue["value"].startswith("110")
    assert "*" in id_issue["value"]
    assert "110101199003071235" not in id_issue["value"]
    # The messages are in the language the file was uploaded in.
    assert ImportJob.objects.get(pk=body["id"]).language == "zh-hans"
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in issue["message"]) for issue in issues)
    assert AuditEvent.objects.filter(action="import.report", via="api").count() == 1


@pytest.mark.django_db
def test_a_running_import_reports_its_rate_and_the_time_left(admin_api, admin_user_role):
    """As the wizard's progress panel does (templates/jobs/_bar.html): rows a second since it
    started and, at that rate, about how long the rest takes; no estimate once its worker is
    silent past the limit."""
    job = jobs.create_import(
        actor=admin_user_role, kind="customers", upload=upload("c.csv", csv_bytes(MESSY_ROWS))
    )
    now = timezone.now()
    ImportJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING,
        started_at=now - datetime.timedelta(seconds=10),
        heartbeat_at=now,
        rows_done=500,
        rows_total=1500,
    )
    progress = admin_api.get(f"{IMPORTS}{job.pk}/").json()["progress"]
    assert progress["rows_per_second"] == pytest.approx(50, rel=0.01)
    assert progress["seconds_left"] in (19, 20)  # 1,000 rows at 50 a second, rounded down
    ImportJob.objects.filter(pk=job.pk).update(
        started_at=now - datetime.timedelta(hours=1),
        heartbeat_at=now - datetime.timedelta(minutes=50),
    )
    progress = admin_api.get(f"{IMPORTS}{job.pk}/").json()["progress"]
    assert progress["rows_per_second"] == pytest.approx(500 / 600, rel=0.01)  # to its last beat
    assert progress["seconds_left"] is None  # its worker stopped: no estimate


def test_a_retried_start_with_the_same_idempotency_key_starts_one_job(
    admin_api, django_capture_on_commit_callbacks
):
    job_url = upload_file(admin_api, csv_bytes([["姓名", "手机"], ["王芳", "13900139000"]]))[
        "Location"
    ]
    with django_capture_on_commit_callbacks() as queued:
        first = admin_api.post(f"{job_url}start/", HTTP_IDEMPOTENCY_KEY="start-42")
        again = admin_api.post(f"{job_url}start/", HTTP_IDEMPOTENCY_KEY="start-42")
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again["Location"] == first["Location"] == job_url
    assert again["Idempotent-Replayed"] == "true"
    assert len(queued) == 1
    assert AuditEvent.objects.filter(action="import.start").count() == 1
    without_key = admin_api.post(f"{job_url}start/")
    assert without_key.status_code == 409
    assert admin_api.patch(job_url, {"policy": "overwrite"}, format="json").status_code == 409


@pytest.mark.django_db
def test_a_file_that_cannot_be_imported_is_refused_on_file_in_the_callers_language(admin_api):
    refused = upload_file(
        admin_api, b"\x00\x01\x02PK\x03\x04" * 50, name="photo.csv", HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert refused.status_code == 400
    errors = refused.json()["errors"]
    assert set(errors) == {"file"}
    assert any("\u4e00" <= ch <= "\u9fff" for ch in errors["file"][0]), errors
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_a_mapping_the_import_cannot_use_is_explained(admin_api):
    job_url = upload_file(
        admin_api, xlsx_bytes([["姓名", "手机"], ["王芳", "13900139000"]]), name="c.xlsx"
    )["Location"]
    unknown = admin_api.patch(job_url, {"mapping": ["name", "shoe_size"]}, format="json")
    assert unknown.status_code == 400
    assert "shoe_size" in unknown.json()["errors"]["mapping"][0]
    twice = admin_api.patch(job_url, {"mapping": ["name", "name"]}, format="json")
    assert twice.status_code == 400
    assert "non_field_errors" in twice.json()["errors"]
    remapped = admin_api.patch(job_url, {"mapping": ["name", ""]}, format="json")
    assert remapped.status_code == 200
    assert mapped(remapped.json()) == {"姓名": "name", "手机": ""}


@pytest.mark.django_db
def test_imports_are_the_importers_own_and_other_roles_may_not_import(
    sales_api, api_client_for, analyst_api
):
    from privacy import roles

    other_sales = api_client_for(roles.SALES)
    job_url = upload_file(sales_api, csv_bytes([["姓名"], ["王芳"]]))["Location"]
    assert sales_api.get(job_url).status_code == 200
    assert other_sales.get(job_url).status_code == 404
    assert other_sales.post(f"{job_url}start/").status_code == 404
    assert other_sales.get(IMPORTS).json()["results"] == []
    assert analyst_api.get(IMPORTS).status_code == 403
    assert upload_file(analyst_api, csv_bytes([["姓名"], ["王芳"]])).status_code == 403
    # Sales import their customers as their own, and may not choose another owner.
    assert sales_api.patch(job_url, {"owner": None}, format="json").status_code == 403
    assert ImportJob.objects.get().owner == sales_api.account
    assert jobs.jobs_visible_to(sales_api.account).count() == 1
