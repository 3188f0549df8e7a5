"""The audit log pages: who may read them, the filters, keyset pages, one event, the CSV export,
and the customer page's own entries (views of unmasked data, the link to its trail)."""

import csv
import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.audit import CustomerAction
from privacy import roles
from privacy.actions import KeyAction
from privacy.audit import filters as audit_filters
from privacy.audit.recording import audit_context, record_event
from privacy.models import AuditChannel, AuditEvent
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

LIST = reverse("audit:list")
EXPORT = reverse("audit:export")


@pytest.fixture
def trail(admin_user_role, service_user):
    """A few events by two people, from two places, about two customers."""
    first, second = CustomerFactory(), CustomerFactory()
    with audit_context(via=AuditChannel.WEB, ip_address="10.1.1.1"):
        record_event(actor=service_user, action="customer.update", target=first)
        record_event(actor=service_user, action="customer.view_personal", target=second)
    with audit_context(via=AuditChannel.ADMIN, ip_address="10.2.2.2"):
        record_event(actor=admin_user_role, action="customer.reveal_id", target=first)
        record_event(actor=admin_user_role, action="keys.rotate", changes={"checked": 3})
    return first, second


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (roles.SALES, 403),
        (roles.SERVICE, 403),
        (roles.ANALYST, 403),
        (roles.PRIVACY_OFFICER, 200),
        (roles.ADMINISTRATOR, 200),
    ],
)
def test_only_privacy_officers_and_administrators_read_the_audit_log(
    client, make_user, role, status
):
    event = record_event(actor=None, action=KeyAction.ROTATE)
    client.force_login(make_user(role))
    for url in (LIST, reverse("audit:detail", args=[event.pk]), EXPORT):
        response = client.get(url)
        assert response.status_code == status, url
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get(LIST)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def _listed(client, **params) -> list[str]:
    response = client.get(LIST, params)
    assert response.status_code == 200
    return [event.action for event in response.context["events"]]


def test_the_filters_answer_who_did_what_to_which_record(
    client, privacy_user, trail, service_user, admin_user_role
):
    first, _second = trail
    client.force_login(privacy_user)
    assert _listed(client, user=service_user.username) == [
        "customer.view_personal",
        "customer.update",
    ]
    assert _listed(client, target_type="customers.customer", target_id=first.pk) == [
        "customer.reveal_id",
        "customer.update",
        "customer.create",
    ]
    assert _listed(client, action="customer.reveal_id") == ["customer.reveal_id"]
    assert set(_listed(client, action="customer")) >= {"customer.update", "customer.reveal_id"}
    assert _listed(client, action="keys") == ["keys.rotate"]
    assert _listed(client, ip_address="10.2.2.2") == ["keys.rotate", "customer.reveal_id"]
    assert _listed(client, via="admin", user=admin_user_role.username) == [
        "keys.rotate",
        "customer.reveal_id",
    ]
    today = timezone.localdate()
    assert "keys.rotate" in _listed(client, since=today.isoformat(), until=today.isoformat())
    yesterday = (today - datetime.timedelta(days=1)).isoformat()
    assert _listed(client, until=yesterday) == []


def test_the_pages_show_actions_in_words_in_the_users_language(client, privacy_user):
    event = record_event(actor=None, action=CustomerAction.UPDATE)
    gone = AuditEvent.objects.create(action="test.gone")
    client.force_login(privacy_user)
    for language, words in (("en", "Customer changed"), ("zh-hans", "修改客户")):
        page = client.get(LIST, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        assert f'<span title="customer.update">{words}</span>' in page
        assert '<span title="test.gone">test.gone</span>' in page
        # The filter is a select of the actions in words.
        assert f'<option value="customer.update">{words}</option>' in page
        detail = client.get(
            reverse("audit:detail", args=[event.pk]), HTTP_ACCEPT_LANGUAGE=language
        ).content.decode()
        assert f'<h1 class="h3">{words} <small' in detail
    detail = client.get(reverse("audit:detail", args=[gone.pk])).content.decode()
    assert '<h1 class="h3">test.gone</h1>' in detail


def test_the_action_filter_keeps_a_value_it_does_not_list(client, privacy_user, trail):
    client.force_login(privacy_user)
    response = client.get(LIST, {"action": "customer"})
    assert '<option value="customer" selected>customer</option>' in response.content.decode()
    assert {event.action for event in response.context["events"]} >= {"customer.update"}


def test_an_invalid_filter_shows_the_error_and_no_events(client, privacy_user, trail):
    client.force_login(privacy_user)
    response = client.get(LIST, {"ip_address": "not-an-address"})
    assert response.context["events"] == []
    assert response.context["filter"].form.errors["ip_address"]


def test_pages_continue_by_key_without_counting(
    client, privacy_user, monkeypatch, django_assert_max_num_queries
):
    monkeypatch.setattr(audit_filters, "PAGE_SIZE", 3)
    for n in range(7):
        record_event(actor=None, action=KeyAction.ROTATE, changes={"n": n})
    client.force_login(privacy_user)
    seen, params = [], {"action": KeyAction.ROTATE.value}
    while True:
        with django_assert_max_num_queries(12) as queries:
            response = client.get(LIST, params)
        assert not any("COUNT(" in query["sql"].upper() for query in queries.captured_queries)
        seen += [event.changes["n"] for event in response.context["events"]]
        if response.context["next_before"] is None:
            break
        params = {"action": KeyAction.ROTATE.value, "before": response.context["next_before"]}
    assert seen == [6, 5, 4, 3, 2, 1, 0]


def test_the_event_page_shows_old_and_new_values_masked(client, privacy_user, service_user):
    customer = CustomerFactory(name="张伟", phone="13800138000")
    from customers import services

    services.update_customer(
        actor=service_user, customer=customer, name="张伟明", phone="13912345678"
    )
    event = AuditEvent.objects.get(action="customer.update", target_id=str(customer.pk))
    assert event.changes["name"] == ["张***", "张***"]
    assert event.changes["phone"] == ["138****8000", "139****5678"]
    client.force_login(privacy_user)
    page = client.get(reverse("audit:detail", args=[event.pk])).content.decode()
    assert "139****5678" in page
    assert "13912345678" not in page
    assert "张伟明" not in page
    assert f"target_id={customer.pk}" in page


def test_the_export_streams_the_filtered_events_as_safe_csv_and_is_audited(
    client, privacy_user, trail, service_user
):
    with audit_context(via=AuditChannel.WEB, ip_address="10.9.9.9"):
        record_event(
            actor=None, action="auth.login_failed", actor_label='=HYPERLINK("x")', changes={}
        )
    client.force_login(privacy_user)
    response = client.get(EXPORT, {"ip_address": "10.9.9.9"})
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:5] == ["sequence", "when (UTC)", "user name", "action", "action in words"]
    assert len(rows) == 2
    assert rows[1][2] == '\'=HYPERLINK("x")'
    assert rows[1][3:5] == ["auth.login_failed", "Sign-in failed"]
    start = AuditEvent.objects.get(action="audit.export_start")
    done = AuditEvent.objects.get(action="audit.export")
    assert start.changes == {"filters": {"ip_address": "10.9.9.9"}}
    assert done.changes == {"filters": {"ip_address": "10.9.9.9"}, "rows": 1, "complete": True}
    assert done.actor == privacy_user
    assert done.ip_address == "127.0.0.1"


def test_opening_a_customer_with_unmasked_data_is_audited_once_per_view(
    client, service_user, analyst_user
):
    customer = CustomerFactory(phone="13800138000")
    url = reverse("customers:detail", args=[customer.pk])
    client.force_login(service_user)
    client.get(url)
    client.get(url)
    views = AuditEvent.objects.filter(
        action="customer.view_personal", target_id=str(customer.pk), actor=service_user
    )
    assert views.count() == 2
    client.force_login(analyst_user)  # sees masked values only: nothing to record
    client.get(url)
    assert not AuditEvent.objects.filter(
        action="customer.view_personal", actor=analyst_user
    ).exists()


def test_the_customer_page_links_privacy_officers_to_its_audit_trail(
    client, privacy_user, service_user
):
    customer = CustomerFactory()
    url = reverse("customers:detail", args=[customer.pk])
    trail_link = f"target_type=customers.customer&amp;target_id={customer.pk}"
    client.force_login(service_user)
    assert trail_link not in client.get(url).content.decode()
    client.force_login(privacy_user)
    assert trail_link in client.get(url).content.decode()


def test_the_menu_shows_the_audit_log_to_those_who_may_read_it(client, privacy_user, sales_user):
    client.force_login(privacy_user)
    assert f'href="{LIST}"' in client.get("/").content.decode()
    client.force_login(sales_user)
    assert f'href="{LIST}"' not in client.get("/").content.decode()
