"""/api/v1/products/, /transactions/, /interactions/ and /follow-ups/ against a real database:
what customers bought and every contact with them, through the services, scoped through the
customer as on the customer page."""

import datetime

import pytest
from django.utils import timezone

from customers.services import save_contact
from interactions.archive import archive_interactions
from interactions.models import FollowUp, Interaction, Product, Transaction
from interactions.services import schedule_follow_up
from privacy.models import AuditEvent
from tests.factories import CustomerFactory, InteractionFactory, TransactionFactory

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"
TRANSACTIONS = "/api/v1/transactions/"
INTERACTIONS = "/api/v1/interactions/"
FOLLOW_UPS = "/api/v1/follow-ups/"


def test_products_are_added_and_changed_with_if_match(admin_api):
    created = admin_api.post(
        PRODUCTS, {"sku": "TEA-1", "name": "Longjing", "price": "88.50"}, format="json"
    )
    assert created.status_code == 201, created.json()
    assert created.json()["price"] == "88.50"
    url = f"{PRODUCTS}{created.json()['id']}/"
    assert admin_api.patch(url, {"price": "90.00"}, format="json").status_code == 428
    changed = admin_api.patch(url, {"price": "90.00"}, format="json", HTTP_IF_MATCH='"1"')
    assert changed.status_code == 200
    assert changed["ETag"] == '"2"'
    stale = admin_api.patch(url, {"is_active": False}, format="json", HTTP_IF_MATCH='"1"')
    assert stale.status_code == 412
    assert Product.objects.get().is_active
    assert AuditEvent.objects.filter(action__startswith="product.", via="api").count() == 2


def test_a_sku_used_already_is_refused_on_its_field(admin_api):
    Product.objects.create(sku="TEA-1", name="Longjing")
    response = admin_api.post(PRODUCTS, {"sku": "TEA-1", "name": "Copy"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"sku"}


def test_sales_and_analyst_keys_read_products_but_do_not_change_them(sales_api, analyst_api):
    for caller in (sales_api, analyst_api):
        assert caller.get(PRODUCTS).status_code == 200
        refused = caller.post(PRODUCTS, {"sku": "X", "name": "X"}, format="json")
        assert refused.status_code == 403
    assert not Product.objects.exists()


def test_a_purchase_is_recorded_with_its_lines_and_amounts_as_decimal_strings(admin_api):
    customer = CustomerFactory(name="Buyer")
    tea = Product.objects.create(sku="TEA-1", name="Longjing", price="88.50")
    response = admin_api.post(
        TRANSACTIONS,
        {
            "customer": customer.pk,
            "occurred_at": "2026-03-01T10:00:00+08:00",
            "channel": "online_shop",
            "currency": "cny",
            "source_system": "shopify",
            "external_ref": "#1001",
            "lines": [
                {"product": tea.pk, "quantity": "2", "unit_price": "88.50"},
                {"description": "Gift box", "unit_price": "12.345", "line_total": "12.35"},
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    order = response.json()
    assert order["amount"] == "189.35"
    assert order["currency"] == "CNY"
    assert [line["line_total"] for line in order["lines"]] == ["177.00", "12.35"]
    assert response["Location"] == f"{TRANSACTIONS}{order['id']}/"
    read = admin_api.get(response["Location"]).json()
    assert read == order
    event = AuditEvent.objects.get(action="transaction.create")
    assert (event.via, event.actor) == ("api", admin_api.account)


def test_a_retried_purchase_with_the_same_idempotency_key_is_recorded_once(admin_api):
    payload = {
        "customer": CustomerFactory().pk,
        "occurred_at": "2026-03-01T10:00:00Z",
        "channel": "pos",
        "amount": "50.00",
    }
    first = admin_api.post(TRANSACTIONS, payload, format="json", HTTP_IDEMPOTENCY_KEY="pos-9")
    again = admin_api.post(TRANSACTIONS, payload, format="json", HTTP_IDEMPOTENCY_KEY="pos-9")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Transaction.objects.count() == 1


def test_invalid_purchases_are_refused_field_by_field(admin_api):
    customer = CustomerFactory()
    empty = admin_api.post(
        TRANSACTIONS,
        {"customer": customer.pk, "occurred_at": "2026-03-01T10:00:00Z", "channel": "pos"},
        format="json",
    )
    assert empty.status_code == 400
    assert set(empty.json()["errors"]) == {"amount"}
    bad_line = admin_api.post(
        TRANSACTIONS,
        {
            "customer": customer.pk,
            "occurred_at": "2026-03-01T10:00:00Z",
            "channel": "teleport",
            "lines": [{"quantity": "0", "unit_price": "1.00"}],
        },
        format="json",
    )
    assert bad_line.status_code == 400
    assert set(bad_line.json()["errors"]) == {"channel", "lines.0.quantity"}
    TransactionFactory(customer=customer, source_system="tmall", external_ref="T-1")
    repeated = admin_api.post(
        TRANSACTIONS,
        {
            "customer": customer.pk,
            "occurred_at": "2026-03-01T10:00:00Z",
            "channel": "marketplace",
            "amount": "10.00",
            "source_system": "tmall",
            "external_ref": "T-1",
        },
        format="json",
    )
    assert repeated.status_code == 400
    assert Transaction.objects.count() == 1


def test_purchases_list_by_customer_and_between_two_times(admin_api):
    customer = CustomerFactory()
    now = timezone.now()
    old = TransactionFactory(customer=customer, occurred_at=now - datetime.timedelta(days=40))
    recent = TransactionFactory(customer=customer, occurred_at=now - datetime.timedelta(days=2))
    TransactionFactory(occurred_at=now - datetime.timedelta(days=2))
    mine = admin_api.get(TRANSACTIONS, {"customer": customer.pk}).json()["results"]
    assert [row["id"] for row in mine] == [recent.pk, old.pk]
    between = admin_api.get(
        TRANSACTIONS,
        {
            "customer": customer.pk,
            "occurred_after": (now - datetime.timedelta(days=60)).isoformat(),
            "occurred_before": (now - datetime.timedelta(days=30)).isoformat(),
        },
    ).json()["results"]
    assert [row["id"] for row in between] == [old.pk]


def test_records_of_another_salespersons_customer_answer_404_to_a_sales_key(
    sales_api, other_sales_user
):
    others = CustomerFactory(owner=other_sales_user)
    order = TransactionFactory(customer=others)
    interaction = InteractionFactory(customer=others)
    follow_up = schedule_follow_up(
        actor=None,
        customer=others,
        title="Call back",
        due_at=timezone.now(),
        assignee=other_sales_user,
    )
    assert sales_api.get(f"{TRANSACTIONS}{order.pk}/").status_code == 404
    assert sales_api.get(f"{INTERACTIONS}{interaction.pk}/").status_code == 404
    assert sales_api.get(f"{FOLLOW_UPS}{follow_up.pk}/").status_code == 404
    assert (
        sales_api.patch(
            f"{FOLLOW_UPS}{follow_up.pk}/", {"title": "x"}, format="json", HTTP_IF_MATCH='"1"'
        ).status_code
        == 404
    )
    assert sales_api.post(f"{FOLLOW_UPS}{follow_up.pk}/complete/").status_code == 404
    for listing in (TRANSACTIONS, INTERACTIONS, FOLLOW_UPS):
        assert sales_api.get(listing, {"customer": others.pk}).json()["results"] == []
    refused = sales_api.post(INTERACTIONS, {"customer": others.pk, "kind": "call"}, format="json")
    assert refused.status_code == 400
    assert set(refused.json()["errors"]) == {"customer"}
    follow_up.refresh_from_db()
    assert follow_up.done_at is None


def test_an_analyst_key_reads_purchases_and_interactions_but_records_none(analyst_api):
    customer = CustomerFactory()
    TransactionFactory(customer=customer)
    InteractionFactory(customer=customer)
    assert len(analyst_api.get(TRANSACTIONS).json()["results"]) == 1
    assert len(analyst_api.get(INTERACTIONS).json()["results"]) == 1
    refused = analyst_api.post(
        INTERACTIONS, {"customer": customer.pk, "kind": "call"}, format="json"
    )
    assert refused.status_code == 403


def test_an_interaction_is_logged_by_the_caller_and_a_complaint_needs_a_rating(sales_api):
    customer = CustomerFactory(owner=sales_api.account, kind="company", name="Acme")
    contact = save_contact(actor=None, customer=customer, name="王磊")
    unrated = sales_api.post(
        INTERACTIONS,
        {"customer": customer.pk, "kind": "complaint", "subject": "Late delivery"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert unrated.status_code == 400
    errors = unrated.json()["errors"]
    assert set(errors) == {"satisfaction"}
    assert any("\u4e00" <= ch <= "\u9fff" for ch in errors["satisfaction"][0])
    logged = sales_api.post(
        INTERACTIONS,
        {
            "customer": customer.pk,
            "kind": "complaint",
            "subject": "Late delivery",
            "satisfaction": 2,
            "contact": contact.pk,
        },
        format="json",
    )
    assert logged.status_code == 201, logged.json()
    assert logged.json()["staff"] == sales_api.account.pk
    assert logged.json()["archived"] is False
    assert AuditEvent.objects.get(action="interaction.create").via == "api"


def test_interactions_list_by_customer_kind_and_time_and_archived_ones_by_id(admin_api):
    customer = CustomerFactory()
    now = timezone.now()
    call = InteractionFactory(customer=customer, kind="call", occurred_at=now)
    InteractionFactory(customer=customer, kind="visit", occurred_at=now)
    old = InteractionFactory(
        customer=customer, kind="call", occurred_at=now - datetime.timedelta(days=1500)
    )
    calls = admin_api.get(INTERACTIONS, {"customer": customer.pk, "kind": "call"}).json()
    assert [row["id"] for row in calls["results"]] == [old.pk, call.pk]
    recent = admin_api.get(
        INTERACTIONS,
        {"customer": customer.pk, "occurred_after": (now - datetime.timedelta(days=1)).isoformat()},
    ).json()
    assert len(recent["results"]) == 2

    archive_interactions(older_than=datetime.timedelta(days=1095))
    assert not Interaction.objects.filter(pk=old.pk).exists()
    archived = admin_api.get(f"{INTERACTIONS}{old.pk}/").json()
    assert (archived["id"], archived["archived"]) == (old.pk, True)
    listed = admin_api.get(INTERACTIONS, {"customer": customer.pk, "archived": "true"}).json()
    assert [row["id"] for row in listed["results"]] == [old.pk]


def test_a_follow_up_is_scheduled_changed_with_if_match_and_completed_once(sales_api):
    customer = CustomerFactory(owner=sales_api.account)
    created = sales_api.post(
        FOLLOW_UPS,
        {"customer": customer.pk, "title": "Send a quote", "due_at": "2030-01-10T09:00:00Z"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    follow_up = created.json()
    assert follow_up["assignee"] == sales_api.account.pk
    url = f"{FOLLOW_UPS}{follow_up['id']}/"
    mine = sales_api.get(FOLLOW_UPS, {"assignee": "me", "status": "open"}).json()["results"]
    assert [row["id"] for row in mine] == [follow_up["id"]]

    assert sales_api.patch(url, {"title": "Call"}, format="json").status_code == 428
    moved = sales_api.patch(
        url, {"due_at": "2030-01-11T09:00:00Z"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert moved.status_code == 200, moved.json()
    assert moved.json()["title"] == "Send a quote"
    assert moved["ETag"] == '"2"'
    stale = sales_api.patch(url, {"title": "Call"}, format="json", HTTP_IF_MATCH='"1"')
    assert stale.status_code == 412

    done = sales_api.post(url + "complete/")
    assert done.status_code == 200
    assert done.json()["done_by"] == sales_api.account.pk
    again = sales_api.post(url + "complete/")
    assert again.status_code == 200
    assert again.json()["done_at"] == done.json()["done_at"]
    assert AuditEvent.objects.filter(action="follow_up.done").count() == 1
    assert sales_api.get(FOLLOW_UPS, {"assignee": "me", "status": "open"}).json()["results"] == []
    late = sales_api.patch(url, {"title": "Call"}, format="json", HTTP_IF_MATCH='"3"')
    assert late.status_code == 400


def test_follow_ups_list_by_due_date_and_status(admin_api, sales_user):
    customer = CustomerFactory()
    soon = schedule_follow_up(
        actor=None,
        customer=customer,
        title="Soon",
        due_at=timezone.now() + datetime.timedelta(days=1),
        assignee=sales_user,
    )
    schedule_follow_up(
        actor=None,
        customer=customer,
        title="Later",
        due_at=timezone.now() + datetime.timedelta(days=30),
        assignee=sales_user,
    )
    due = admin_api.get(
        FOLLOW_UPS,
        {
            "assignee": sales_user.pk,
            "due_before": (timezone.now() + datetime.timedelta(days=7)).isoformat(),
        },
    ).json()["results"]
    assert [row["title"] for row in due] == ["Soon"]
    assert admin_api.get(FOLLOW_UPS, {"status": "done"}).json()["results"] == []
    assert FollowUp.objects.get(pk=soon.pk).done_at is None


def test_a_follow_up_cannot_be_assigned_to_someone_who_does_not_work_on_them(
    sales_api, analyst_user
):
    customer = CustomerFactory(owner=sales_api.account)
    response = sales_api.post(
        FOLLOW_UPS,
        {
            "customer": customer.pk,
            "title": "Call",
            "due_at": "2030-01-10T09:00:00Z",
            "assignee": analyst_user.pk,
        },
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"assignee"}
