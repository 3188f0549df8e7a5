"""Segment pages: who may read, build and change them; the builder's live count; static lists
filled from the customer list; members scoped to the reader; export of a segment through the
export feature; merges carrying list memberships."""

from __future__ import annotations

import datetime
import json

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone, translation

from analytics.exports.jobs import EXPORT_JOBS
from analytics.exports.services import start_export
from analytics.models import ExportJob, MetricsRun, Segment, SegmentKind, SegmentMember
from analytics.nightly import ANALYTICS_REFRESH
from analytics.segments.description import describe_rules
from analytics.segments.ready_made import ensure_ready_made_segments
from analytics.segments.refresh import refresh_segment
from analytics.segments.services import add_members, save_segment
from analytics.segments.validation import validate
from analytics.segments.vocabulary import FIELDS
from customers import merge as merging
from customers.models import Customer, Tag
from kernel.models import JobStatus
from privacy.models import AuditEvent
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

SHANGHAI = {"match": "all", "rules": [{"field": "city", "operator": "is", "value": "上海"}]}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def town(sales_user, other_sales_user):
    return {
        "mine": CustomerFactory(name="Mine", city="上海", owner=sales_user),
        "theirs": CustomerFactory(name="Theirs", city="上海", owner=other_sales_user),
        "free": CustomerFactory(name="Free", city="上海", owner=None),
        "away": CustomerFactory(name="Away", city="北京", owner=None),
    }


def _dynamic(actor, name="Shanghai", rules=SHANGHAI):
    segment = save_segment(actor=actor, name=name, rules=rules)
    return refresh_segment(segment)


def _static(actor, name="Fair leads"):
    return save_segment(actor=actor, name=name, kind=SegmentKind.STATIC)


def test_anonymous_is_sent_to_log_in(client):
    response = client.get("/segments/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/segments/new/"),
        ("post", "/segments/new/"),
        ("post", "/segments/count/"),
        ("post", "/segments/members/"),
        ("post", "/segments/refresh-metrics/"),
    ],
)
def test_sales_reads_segments_but_builds_none(client, sales_user, method, url):
    client.force_login(sales_user)
    assert client.get("/segments/").status_code == 200
    assert getattr(client, method)(url).status_code == 403


def test_sales_cannot_change_or_delete_a_segment(client, sales_user, analyst_user, town):
    segment = _dynamic(analyst_user)
    client.force_login(sales_user)
    assert client.get(f"/segments/{segment.pk}/").status_code == 200
    assert client.get(f"/segments/{segment.pk}/edit/").status_code == 403
    assert client.post(f"/segments/{segment.pk}/delete/").status_code == 403
    assert client.post(f"/segments/{segment.pk}/refresh/").status_code == 403
    assert Segment.objects.filter(pk=segment.pk).exists()


def test_members_on_the_segment_page_are_those_the_reader_may_see(
    client, sales_user, analyst_user, town
):
    segment = _dynamic(analyst_user)
    assert segment.size == 3
    client.force_login(sales_user)
    page = client.get(f"/segments/{segment.pk}/")
    assert {customer.name for customer in page.context["members"]} == {"Mine", "Free"}
    listed = client.get(f"/customers/?segment={segment.pk}")
    assert {customer.name for customer in listed.context["customers"]} == {"Mine", "Free"}
    client.force_login(analyst_user)
    page = client.get(f"/segments/{segment.pk}/")
    assert {customer.name for customer in page.context["members"]} == {"Mine", "Theirs", "Free"}
    assert "city is 上海" in page.content.decode()


def test_an_analyst_builds_a_segment_in_the_browser_form(
    client, analyst_user, town, django_capture_on_commit_callbacks
):
    client.force_login(analyst_user)
    form = client.get("/segments/new/")
    vocabulary = form.context["vocabulary"]
    assert {field["name"] for field in vocabulary["fields"]} == set(FIELDS)
    assert 'id="segment-vocabulary"' in form.content.decode()
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            "/segments/new/",
            {
                "name": "Shanghai",
                "description": "",
                "kind": "dynamic",
                "rules": json.dumps(SHANGHAI),
            },
        )
    segment = Segment.objects.get(name="Shanghai")
    assert response["Location"] == f"/segments/{segment.pk}/"
    assert segment.rules == SHANGHAI
    assert len(callbacks) == 1  # the refresh, queued for the worker
    refresh_segment(segment)
    assert Segment.objects.get(pk=segment.pk).size == 3
    assert AuditEvent.objects.filter(action="segment.save", target_id=str(segment.pk)).exists()


def test_rules_outside_the_vocabulary_are_refused_with_where_and_why(client, analyst_user):
    client.force_login(analyst_user)
    rules = {"match": "all", "rules": [{"field": "password", "operator": "is", "value": "x"}]}
    response = client.post(
        "/segments/new/", {"name": "Bad", "kind": "dynamic", "rules": json.dumps(rules)}
    )
    assert response.status_code == 200
    assert "/1: unknown field." in response.content.decode()
    assert not Segment.objects.filter(name="Bad").exists()
    with translation.override("zh-hans"):
        response = client.post(
            "/segments/new/",
            {"name": "Bad", "kind": "dynamic", "rules": "{not json"},
            HTTP_ACCEPT_LANGUAGE="zh-hans",
        )
    assert response.status_code == 200
    assert not Segment.objects.filter(name="Bad").exists()


def test_the_live_count_is_scoped_and_explains_bad_rules(client, analyst_user, sales_user, town):
    client.force_login(analyst_user)
    response = client.post("/segments/count/", {"rules": json.dumps(SHANGHAI)})
    assert 'data-count="3"' in response.content.decode()
    bad = {"match": "all", "rules": [{"field": "revenue", "operator": "between", "value": 1}]}
    response = client.post("/segments/count/", {"rules": json.dumps(bad)})
    assert "/1: the value does not fit “lifetime value”." in response.content.decode()
    response = client.post("/segments/count/", {"rules": "{"})
    assert "not valid JSON" in response.content.decode()
    # Someone who sees only their own and unassigned customers counts only those.
    sales_user.user_permissions.add(Permission.objects.get(codename="add_segment"))
    client.force_login(sales_user)
    response = client.post("/segments/count/", {"rules": json.dumps(SHANGHAI)})
    assert 'data-count="2"' in response.content.decode()


def test_static_lists_are_filled_from_the_customer_list(client, analyst_user, town):
    listed = _static(analyst_user)
    client.force_login(analyst_user)
    page = client.get("/customers/")
    assert 'name="list-segment"' in page.content.decode()
    assert 'name="customer"' in page.content.decode()  # tick boxes without change_customer
    response = client.post(
        "/segments/members/",
        {
            "list-segment": listed.pk,
            "list-action": "add",
            "list-scope": "selected",
            "customer": [town["mine"].pk, town["away"].pk],
            "next": "/customers/",
        },
    )
    assert response["Location"] == "/customers/"
    assert set(listed.members.values_list("name", flat=True)) == {"Mine", "Away"}
    # Everyone the list's filters show, added once.
    client.post(
        "/segments/members/",
        {
            "list-segment": listed.pk,
            "list-action": "add",
            "list-scope": "matching",
            "query": "city=上海",
        },
    )
    assert set(listed.members.values_list("name", flat=True)) == {
        "Mine",
        "Away",
        "Theirs",
        "Free",
    }
    client.post(
        "/segments/members/",
        {
            "list-segment": listed.pk,
            "list-action": "remove",
            "list-scope": "selected",
            "customer": [town["away"].pk],
        },
    )
    listed.refresh_from_db()
    assert listed.size == 3
    assert list(listed.sizes.values_list("size", flat=True)) == [3, 4, 2]
    actions = AuditEvent.objects.filter(target_id=str(listed.pk)).values_list("action", flat=True)
    assert {"segment.add_members", "segment.remove_members"} <= set(actions)


def test_a_dynamic_segment_is_not_filled_by_hand(client, analyst_user, town):
    segment = _dynamic(analyst_user)
    client.force_login(analyst_user)
    response = client.post(
        "/segments/members/",
        {"list-segment": segment.pk, "list-action": "add", "list-scope": "selected"},
    )
    assert response.status_code == 302
    assert SegmentMember.objects.filter(segment=segment).count() == 3


def test_a_segment_is_exported_through_the_export_feature(
    client, analyst_user, town, django_capture_on_commit_callbacks
):
    segment = _dynamic(analyst_user)
    client.force_login(analyst_user)
    with django_capture_on_commit_callbacks():
        client.post(
            f"/exports/new/?segment={segment.pk}", {"columns": ["name", "city"], "format": "csv"}
        )
    job = ExportJob.objects.get()
    assert job.filters == {"segment": str(segment.pk)}
    EXPORT_JOBS.run(job.pk)
    job.refresh_from_db()
    with job.file.open("rb") as handle:
        rows = handle.read().decode("utf-8-sig").splitlines()
    assert sorted(rows[1:]) == ["Free,上海市", "Mine,上海市", "Theirs,上海市"]


def test_a_merge_carries_static_list_memberships_and_undo_restores_them(
    service_user, analyst_user, town
):
    both, only_newer = _static(analyst_user, "Both"), _static(analyst_user, "Only newer")
    older, newer = town["free"], town["away"]
    add_members(
        actor=analyst_user,
        segment=both,
        customers=Customer.objects.filter(pk__in=[older.pk, newer.pk]),
    )
    add_members(
        actor=analyst_user, segment=only_newer, customers=Customer.objects.filter(pk=newer.pk)
    )
    record = merging.merge_customers(actor=service_user, survivor=older, others=[newer])
    assert list(both.members.all()) == [older]
    assert list(only_newer.members.all()) == [older]
    assert Segment.objects.get(pk=both.pk).size == 1
    merging.undo_merge(actor=service_user, merge=record)
    assert set(both.members.all()) == {older, newer}
    assert list(only_newer.members.all()) == [newer]
    assert Segment.objects.get(pk=both.pk).size == 2


def test_ready_made_segments_stay_and_others_are_deleted(client, analyst_user, town):
    ensure_ready_made_segments()
    ready = Segment.objects.get(key="churned")
    own = _static(analyst_user)
    client.force_login(analyst_user)
    client.post(f"/segments/{ready.pk}/delete/")
    assert Segment.objects.filter(pk=ready.pk).exists()
    response = client.post(f"/segments/{own.pk}/delete/")
    assert response["Location"] == "/segments/"
    assert not Segment.objects.filter(pk=own.pk).exists()
    assert AuditEvent.objects.filter(action="segment.delete", target_id=str(own.pk)).exists()


def test_ready_made_segments_are_named_in_the_readers_language(client, analyst_user):
    ensure_ready_made_segments()
    ready = Segment.objects.get(key="high_value")
    assert ready.name == "High value"
    client.force_login(analyst_user)
    page = client.get("/segments/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    with translation.override("zh-hans"):
        assert ready.shown_name != "High value"
        assert ready.shown_name in page.content.decode()
    ready.name = "Our best"
    assert ready.shown_name == "Our best"


def test_the_rules_read_as_words():
    rules = {
        "match": "any",
        "rules": [
            {"field": "lifecycle_stage", "operator": "in", "value": ["at_risk", "churned"]},
            {
                "match": "all",
                "rules": [
                    {"field": "revenue", "operator": "gte", "value": 1000},
                    {"field": "purchased", "operator": "yes", "value": {"category": "Tea"}},
                ],
            },
            {"field": "created_at", "operator": "within_days", "value": 30},
        ],
    }
    with translation.override("en"):
        in_words = describe_rules(validate(rules))
    assert in_words == (
        "lifecycle stage is one of At risk, Churned or "
        "(lifetime value ≥ 1000 and bought at least once (category Tea)) or "
        "created in the last 30 days"
    )


def test_an_analyst_may_ask_for_metrics_now_once_at_a_time(
    client, analyst_user, django_capture_on_commit_callbacks
):
    client.force_login(analyst_user)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post("/segments/refresh-metrics/")
        again = client.post("/segments/refresh-metrics/", follow=True)
    assert response["Location"] == "/segments/"
    assert len(callbacks) == 1  # the second click queued nothing
    assert "A refresh is already running." in again.content.decode()
    run = MetricsRun.objects.get()
    assert (run.status, run.created_by) == (JobStatus.QUEUED, analyst_user)
    assert ANALYTICS_REFRESH.run(run.pk).status == JobStatus.DONE
    assert ANALYTICS_REFRESH.run(run.pk) is None  # a redelivered message: nothing more
    run.refresh_from_db()
    assert run.status == JobStatus.DONE
    assert MetricsRun.objects.count() == 1
    assert AuditEvent.objects.get(action="metrics.refresh").actor == analyst_user


def test_a_refresh_whose_worker_died_does_not_block_the_next(
    client, analyst_user, django_capture_on_commit_callbacks
):
    long_ago = timezone.now() - ANALYTICS_REFRESH.time_limit - datetime.timedelta(minutes=1)
    lost = MetricsRun.objects.create(
        status=JobStatus.RUNNING, started_at=long_ago, heartbeat_at=long_ago
    )
    client.force_login(analyst_user)
    with django_capture_on_commit_callbacks() as callbacks:
        client.post("/segments/refresh-metrics/")
    assert len(callbacks) == 1
    lost.refresh_from_db()
    assert lost.status == JobStatus.FAILED
    assert "worker stopped" in lost.failure
    assert MetricsRun.objects.filter(status=JobStatus.QUEUED).count() == 1


def test_sales_see_how_many_of_their_customers_are_in_a_segment_and_no_history(
    client, sales_user, analyst_user, town
):
    segment = _dynamic(analyst_user)
    client.force_login(sales_user)
    listing = client.get("/segments/").content.decode()
    assert "Your customers" in listing
    page = client.get(f"/segments/{segment.pk}/")
    assert page.context["size"] == 2  # Mine and Free, not Theirs
    assert 'id="size-history"' not in page.content.decode()
    client.force_login(analyst_user)
    page = client.get(f"/segments/{segment.pk}/")
    assert page.context["size"] == 3
    assert 'id="size-history"' in page.content.decode()


def test_the_segment_list_reads_tags_once_however_many_segments(
    client, analyst_user, django_assert_max_num_queries
):
    vip = Tag.objects.create(name="VIP")
    for number in range(8):
        rules = {"match": "all", "rules": [{"field": "tag", "operator": "has", "value": vip.pk}]}
        save_segment(actor=analyst_user, name=f"Tagged {number}", rules=rules)
    client.force_login(analyst_user)
    with django_assert_max_num_queries(12):
        page = client.get("/segments/")
    assert page.content.decode().count("tag has VIP") == 8


def test_a_deleted_segment_in_a_link_matches_no_one_and_says_why(
    client, analyst_user, town, django_capture_on_commit_callbacks
):
    segment, listed = _dynamic(analyst_user), _static(analyst_user)
    link = f"segment={segment.pk}"
    segment.delete()
    client.force_login(analyst_user)
    page = client.get(f"/customers/?{link}")
    assert list(page.context["customers"]) == []
    assert "Select a valid choice" in page.content.decode()
    client.post(
        "/segments/members/",
        {"list-segment": listed.pk, "list-action": "add", "list-scope": "matching", "query": link},
    )
    assert not listed.members.exists()
    with django_capture_on_commit_callbacks():
        refused = client.post(f"/exports/new/?{link}", {"columns": ["name"], "format": "csv"})
    assert refused.status_code == 400
    assert "These filters no longer apply" in refused.content.decode()
    assert not ExportJob.objects.exists()


def test_an_export_whose_segment_went_meanwhile_fails_with_a_reason(analyst_user, town):
    segment = _dynamic(analyst_user)
    job = start_export(
        actor=analyst_user,
        params={"segment": str(segment.pk)},
        columns=["name"],
        format="csv",
        queue=False,
    )
    segment.delete()
    EXPORT_JOBS.run(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "These filters no longer apply" in job.failure
    assert not job.file


def test_a_stale_segment_form_is_refused_and_saving_again_keeps_both(make_user):
    from privacy import roles
    from tests.conftest import StaffClient
    from tests.factories import form_data

    browsers = []
    for _ in range(2):
        analyst = make_user(roles.ANALYST)
        browser = StaffClient()
        browser.force_login(analyst)
        browsers.append((analyst, browser))
    (first, first_browser), (_second, second_browser) = browsers
    segment = _static(first)
    url = f"/segments/{segment.pk}/edit/"
    first_form = first_browser.get(url).context["form"]
    second_form = second_browser.get(url).context["form"]
    assert first_browser.post(url, form_data(first_form, name="Spring fair")).status_code == 302

    refused = second_browser.post(url, form_data(second_form, description="Met in April"))
    assert refused.status_code == 200
    form = refused.context["form"]
    assert [(now, started) for _label, now, started, _ in form.conflict_rows] == [
        ("Spring fair", "Fair leads")
    ]
    assert first.username in refused.content.decode()
    assert Segment.objects.get(pk=segment.pk).description == ""

    assert second_browser.post(url, form_data(form)).status_code == 302
    stored = Segment.objects.get(pk=segment.pk)
    assert (stored.name, stored.description, stored.version) == (
        "Spring fair",
        "Met in April",
        3,
    )
