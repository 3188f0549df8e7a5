"""/api/v1/segments/ and /api/v1/segment-refreshes/: the segment pages' permissions, sizes and
scope; members masked per caller; a refresh started on the worker (202) and polled."""

import pytest

from analytics.models import SegmentKind, SegmentRefresh
from analytics.segments.refresh import SEGMENT_REFRESH, refresh_segment
from analytics.segments.services import save_segment
from kernel.models import JobStatus
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

SHANGHAI = {"match": "all", "rules": [{"field": "city", "operator": "is", "value": "上海"}]}


@pytest.fixture
def shanghai(sales_api, other_sales_user, analyst_user):
    CustomerFactory(name="Mine", city="上海", phone="13800138001", owner=sales_api.account)
    CustomerFactory(name="Theirs", city="上海", phone="13800138002", owner=other_sales_user)
    CustomerFactory(name="Free", city="上海", phone="13800138003")
    CustomerFactory(name="Away", city="北京")
    return refresh_segment(save_segment(actor=analyst_user, name="Shanghai", rules=SHANGHAI))


def members_of(client, segment) -> list[dict]:
    response = client.get(f"/api/v1/segments/{segment.pk}/members/")
    assert response.status_code == 200, response.json()
    return response.json()["results"]


def test_a_segment_reads_with_its_rules_in_words_and_the_size_the_caller_may_see(
    shanghai, sales_api, analyst_api
):
    whole = analyst_api.get(f"/api/v1/segments/{shanghai.pk}/")
    assert whole.status_code == 200
    assert whole["ETag"] == f'"{shanghai.version}"'
    body = whole.json()
    assert body["size"] == 3
    assert "上海" in body["rules_in_words"]
    assert body["refresh"] is None
    # Sales see their own and unassigned customers: the page counts those.
    assert sales_api.get(f"/api/v1/segments/{shanghai.pk}/").json()["size"] == 2
    listed = sales_api.get("/api/v1/segments/").json()["results"]
    assert [(row["name"], row["size"]) for row in listed] == [("Shanghai", 2)]


def test_members_are_scoped_to_the_caller_and_masked_without_the_permission(
    shanghai, sales_api, analyst_api, admin_api
):
    assert {row["name"] for row in members_of(sales_api, shanghai)} == {"Mine", "Free"}
    seen_by_analyst = members_of(analyst_api, shanghai)
    assert {row["name"] for row in seen_by_analyst} == {"Mine", "Theirs", "Free"}
    assert all("*" in row["phone"] for row in seen_by_analyst)
    assert {row["phone"] for row in members_of(admin_api, shanghai)} == {
        "+8613800138001",
        "+8613800138002",
        "+8613800138003",
    }


def test_a_refresh_is_started_on_the_worker_and_polled_where_location_says(shanghai, analyst_api):
    CustomerFactory(name="Newcomer", city="上海")
    started = analyst_api.post(f"/api/v1/segments/{shanghai.pk}/refresh/")
    assert started.status_code == 202, started.json()
    job = SegmentRefresh.objects.get()
    assert started["Location"] == f"/api/v1/segment-refreshes/{job.pk}/"
    body = started.json()
    assert body["status"] == JobStatus.QUEUED
    assert body["job_kind"] == "analytics.SegmentRefresh"
    assert body["url"] == started["Location"]
    assert analyst_api.get(f"/api/v1/segments/{shanghai.pk}/").json()["refresh"]["id"] == job.pk
    SEGMENT_REFRESH.run(job.pk)  # what the worker does with the message
    polled = analyst_api.get(started["Location"]).json()
    assert polled["status"] == JobStatus.DONE
    assert (polled["size_before"], polled["size_after"]) == (3, 4)
    assert polled["progress"]["percent"] == 100
    assert polled["finished_at"]
    assert polled["failure"] == ""


def test_only_those_who_change_segments_may_refresh_them(shanghai, sales_api):
    assert sales_api.get(f"/api/v1/segments/{shanghai.pk}/").status_code == 200
    refused = sales_api.post(f"/api/v1/segments/{shanghai.pk}/refresh/")
    assert refused.status_code == 403
    assert not SegmentRefresh.objects.exists()


def test_a_static_list_has_nothing_to_refresh_and_an_unknown_segment_answers_404(
    analyst_api, analyst_user
):
    static = save_segment(actor=analyst_user, name="Fair leads", kind=SegmentKind.STATIC)
    refused = analyst_api.post(f"/api/v1/segments/{static.pk}/refresh/")
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/static-list")
    assert analyst_api.get(f"/api/v1/segments/{static.pk + 100}/").status_code == 404
    assert analyst_api.get(f"/api/v1/segments/{static.pk + 100}/members/").status_code == 404


def test_a_page_of_members_costs_the_same_queries_however_many_members(
    analyst_api, analyst_user, django_assert_max_num_queries
):
    for number in range(30):
        CustomerFactory(name=f"Member {number}", city="上海")
    segment = refresh_segment(save_segment(actor=analyst_user, name="Big", rules=SHANGHAI))
    analyst_api.get(f"/api/v1/segments/{segment.pk}/members/", {"limit": 1})  # the key's first use
    # The key, its account, permissions, the segment, one page of members, their tags.
    with django_assert_max_num_queries(7):
        page = analyst_api.get(f"/api/v1/segments/{segment.pk}/members/", {"limit": 30})
    assert len(page.json()["results"]) == 30
