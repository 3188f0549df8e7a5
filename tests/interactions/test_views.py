import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from interactions.models import FollowUp, Interaction, Transaction
from interactions.selectors import TIMELINE_PURCHASES, customer_timeline
from privacy.models import AuditEvent
from tests.factories import CustomerFactory, InteractionFactory, TransactionFactory

pytestmark = pytest.mark.django_db


def _history(customer, count):
    base = timezone.now() - datetime.timedelta(days=30)
    for n in range(count):
        # Every third purchase shares its time with an interaction: the order must still hold.
        at = base + datetime.timedelta(hours=n // 2)
        if n % 3:
            InteractionFactory(customer=customer, occurred_at=at, kind="call" if n % 2 else "visit")
        else:
            TransactionFactory(customer=customer, occurred_at=at)


@pytest.mark.parametrize("kind", ["", TIMELINE_PURCHASES, "call"])
def test_timeline_pages_through_the_whole_history_newest_first(kind):
    customer = CustomerFactory()
    _history(customer, 47)
    seen, after = [], ""
    while True:
        entries, after = customer_timeline(customer=customer, kind=kind, after=after, size=10)
        seen += entries
        if after is None:
            break
    expected_interactions = Interaction.objects.filter(customer=customer)
    if kind:
        expected_interactions = expected_interactions.filter(kind=kind)
    expected = (0 if kind == "call" else Transaction.objects.filter(customer=customer).count()) + (
        0 if kind == TIMELINE_PURCHASES else expected_interactions.count()
    )
    assert len(seen) == expected
    assert len({entry.cursor for entry in seen}) == expected
    keys = [(e.occurred_at, e.is_purchase, e.record.pk) for e in seen]
    assert keys == sorted(keys, reverse=True)


def test_timeline_endpoint_serves_the_next_page(client, service_user):
    customer = CustomerFactory()
    _history(customer, 30)
    client.force_login(service_user)
    page = client.get(reverse("customers:detail", args=[customer.pk]))
    cursor = page.context["next_cursor"]
    more = client.get(reverse("interactions:timeline", args=[customer.pk]), {"after": cursor})
    assert more.status_code == 200
    assert len(more.context["entries"]) == 10


def test_logging_a_call_from_the_customer_page(client, sales_user):
    customer = CustomerFactory(owner=sales_user)
    client.force_login(sales_user)
    url = reverse("interactions:log_interaction", args=[customer.pk])
    form = client.get(url + "?kind=call", HTTP_HX_REQUEST="true")
    assert form.templates[0].name == "customers/_record_form.html"
    assert form.context["form"].initial["kind"] == "call"
    response = client.post(
        url,
        {
            "kind": "call",
            "channel": "phone",
            "occurred_at": "2026-11-20T10:30",
            "subject": "Asked about the delivery date",
            "body": "",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("customers:detail", args=[customer.pk])
    call = Interaction.objects.get(customer=customer)
    assert (call.staff, call.subject) == (sales_user, "Asked about the delivery date")
    assert AuditEvent.objects.filter(action="interaction.create", actor=sales_user).exists()
    page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert "Asked about the delivery date" in page


def test_complaint_needs_a_satisfaction_score(client, service_user):
    customer = CustomerFactory()
    client.force_login(service_user)
    response = client.post(
        reverse("interactions:log_interaction", args=[customer.pk]),
        {"kind": "complaint", "occurred_at": "2026-11-20T10:30", "subject": "Broken parcel"},
    )
    assert response.status_code == 200
    assert "satisfaction" in response.context["form"].errors
    assert not Interaction.objects.exists()


def test_interaction_form_refuses_a_two_million_character_note_and_unreadable_text(
    client, service_user
):
    customer = CustomerFactory()
    client.force_login(service_user)
    url = reverse("interactions:log_interaction", args=[customer.pk])
    assert 'maxlength="10000"' in client.get(url).content.decode()
    response = client.post(
        url, {"kind": "call", "occurred_at": "2026-11-20T10:30", "body": "d" * 2_000_000}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["body"] == [
        "Ensure this value has at most 10000 characters (it has 2000000)."
    ]
    response = client.post(
        url,
        {"kind": "call", "occurred_at": "2026-11-20T10:30", "subject": "Asked \ufffd delivery"},
    )
    assert response.context["form"].errors["subject"] == [
        "This contains characters that could not be read. Retype it."
    ]
    assert not Interaction.objects.exists()


def test_recording_a_purchase_and_a_follow_up_then_completing_it(client, service_user):
    customer = CustomerFactory()
    client.force_login(service_user)
    client.post(
        reverse("interactions:record_transaction", args=[customer.pk]),
        {
            "occurred_at": "2026-11-20T10:30",
            "channel": "store",
            "status": "paid",
            "amount": "399.00",
            "currency": "CNY",
            "source_system": "pos",
            "external_ref": "P-1",
        },
    )
    assert Transaction.objects.get(customer=customer).amount == Decimal("399.00")
    client.post(
        reverse("interactions:schedule_follow_up", args=[customer.pk]),
        {
            "title": "Call back about the invoice",
            "due_at": "2026-12-01T10:00",
            "assignee": service_user.pk,
        },
    )
    follow_up = FollowUp.objects.get(customer=customer)
    done = client.post(reverse("interactions:complete_follow_up", args=[customer.pk, follow_up.pk]))
    assert done.status_code == 302
    follow_up.refresh_from_db()
    assert follow_up.is_done


def test_duplicate_order_number_from_the_same_system_is_refused(client, service_user):
    customer = CustomerFactory()
    TransactionFactory(customer=customer, source_system="pos", external_ref="P-1")
    client.force_login(service_user)
    response = client.post(
        reverse("interactions:record_transaction", args=[customer.pk]),
        {
            "occurred_at": "2026-11-20T10:30",
            "channel": "store",
            "status": "paid",
            "amount": "10",
            "currency": "CNY",
            "source_system": "pos",
            "external_ref": "P-1",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    assert Transaction.objects.count() == 1


@pytest.mark.parametrize("name", ["log_interaction", "record_transaction", "schedule_follow_up"])
def test_analyst_cannot_log_and_sales_cannot_reach_other_reps_customers(
    client, analyst_user, sales_user, other_sales_user, name
):
    customer = CustomerFactory(owner=other_sales_user)
    url = reverse(f"interactions:{name}", args=[customer.pk])
    client.force_login(analyst_user)
    assert client.get(url).status_code == 403
    assert client.post(url, {}).status_code == 403
    client.force_login(sales_user)
    assert client.get(url).status_code == 404
    assert client.get(reverse("interactions:timeline", args=[customer.pk])).status_code == 404
