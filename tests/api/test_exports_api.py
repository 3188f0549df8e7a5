"""/api/v1/exports/: an export of the customer list (filters, search, a segment) started on the
worker (202), polled, and downloaded: masked for an Analyst, unmasked for an Administrator,
audited as the page's download; Sales may not export; another's export answers 404."""

import csv
import io

import pytest

from analytics.exports.jobs import EXPORT_JOBS
from analytics.models import ExportJob
from analytics.segments.refresh import refresh_segment
from analytics.segments.services import save_segment
from kernel.models import JobStatus
from privacy.models import AuditEvent
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

EXPORTS = "/api/v1/exports/"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def customers():
    CustomerFactory(
        name="王丽娟",
        phone="13800138000",
        email="wang@example.com",
        city="上海",
        lifecycle_stage="customer",
    )
    CustomerFactory(name="Lead Only", phone="13900139000", lifecycle_stage="lead")


def export_and_run(client, payload: dict) -> dict:
    started = client.post(EXPORTS, payload, format="json")
    assert started.status_code == 202, started.json()
    assert started["Location"] == started.json()["url"]
    EXPORT_JOBS.run(started.json()["id"])  # what the worker does with the message
    polled = client.get(started["Location"])
    assert polled.status_code == 200
    return polled.json()


def rows_of(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_an_analysts_export_is_polled_downloaded_masked_and_audited(customers, analyst_api):
    done = export_and_run(
        analyst_api,
        {"filters": {"lifecycle_stage": "customer"}, "columns": ["name", "phone", "email"]},
    )
    assert done["status"] == JobStatus.DONE
    assert done["unmasked"] is False
    assert done["progress"]["done"] == 1
    downloaded = analyst_api.get(done["download"])
    assert downloaded.status_code == 200
    assert downloaded["Content-Disposition"].startswith("attachment;")
    [row] = rows_of(downloaded)
    assert "王丽娟" in row.values()
    assert "13800138000" not in "".join(row.values())
    assert "wang@example.com" not in "".join(row.values())
    assert any("*" in value for value in row.values())
    download = AuditEvent.objects.get(action="export.download", target_id=str(done["id"]))
    assert download.via == "api"
    assert download.actor == analyst_api.account
    started = AuditEvent.objects.get(action="export.start", target_id=str(done["id"]))
    assert started.changes["unmasked"] is False


def test_an_administrators_export_of_a_segment_is_unmasked_as_xlsx(customers, admin_api):
    rules = {"match": "all", "rules": [{"field": "city", "operator": "is", "value": "上海"}]}
    segment = refresh_segment(save_segment(actor=admin_api.account, name="上海", rules=rules))
    done = export_and_run(
        admin_api, {"segment": segment.pk, "columns": ["name", "phone"], "format": "xlsx"}
    )
    assert done["unmasked"] is True
    assert done["filters"] == {"segment": str(segment.pk)}
    assert done["progress"]["done"] == 1
    downloaded = admin_api.get(done["download"])
    assert downloaded.status_code == 200
    assert downloaded["Content-Disposition"].endswith('.xlsx"')


def test_sales_may_not_export(sales_api):
    assert sales_api.post(EXPORTS, {}, format="json").status_code == 403
    assert sales_api.get(EXPORTS).status_code == 403
    assert not ExportJob.objects.exists()


def test_an_export_is_its_starters_alone(customers, analyst_api, api_client_for):
    from privacy import roles

    done = export_and_run(analyst_api, {"columns": ["name"]})
    colleague = api_client_for(roles.ANALYST)
    assert colleague.get(done["url"]).status_code == 404
    assert colleague.get(done["download"]).status_code == 404
    assert colleague.get(EXPORTS).json()["results"] == []
    assert not AuditEvent.objects.filter(action="export.download").exists()


def test_filters_the_list_does_not_know_or_values_it_refuses_answer_400(analyst_api):
    unknown = analyst_api.post(EXPORTS, {"filters": {"lifecyle_stage": "lead"}}, format="json")
    assert unknown.status_code == 400
    assert "lifecyle_stage" in unknown.json()["errors"]["filters"][0]
    invalid = analyst_api.post(EXPORTS, {"filters": {"lifecycle_stage": "nonsense"}}, format="json")
    assert invalid.status_code == 400
    assert set(invalid.json()["errors"]) == {"lifecycle_stage"}
    columns = analyst_api.post(EXPORTS, {"columns": ["password"]}, format="json")
    assert columns.status_code == 400
    assert not ExportJob.objects.exists()


def test_an_export_not_yet_written_has_nothing_to_download(customers, analyst_api):
    started = analyst_api.post(EXPORTS, {"columns": ["name"]}, format="json").json()
    assert started["download"] is None
    assert analyst_api.get(f"{EXPORTS}{started['id']}/download/").status_code == 404
