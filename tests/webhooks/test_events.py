"""What the outbox holds and what each subscriber is sent: nothing for topics nobody listens
to, payloads masked and scoped with each subscription's service account, an erasure that
carries ids only and scrubs what waits, follow-ups announced once when they fall due."""

from __future__ import annotations

import datetime
import json

import pytest
from django.utils import timezone

from customers.imports.records import upsert_records
from customers.merge import merge_customers
from customers.models import ImportKind
from customers.services import archive_customer, create_customer, update_customer
from interactions.events import announce_due_follow_ups
from interactions.services import record_interaction, schedule_follow_up
from kernel.models import OutboxEvent, OutboxWatermark
from privacy import roles
from privacy.consent import record_consent
from privacy.subjects.erasure import anonymise_customers
from tests.factories import TransactionFactory, UserFactory
from webhooks import services
from webhooks.models import Delivery
from webhooks.relay import relay_events
from webhooks.tasks import deliver_webhooks

pytestmark = pytest.mark.django_db


def _payloads(subscription) -> list[dict]:
    return [
        json.loads(body)
        for body in Delivery.objects.filter(subscription=subscription)
        .order_by("pk")
        .values_list("body", flat=True)
    ]


def test_topics_no_one_subscribes_to_write_no_outbox_rows(receiver, subscribe):
    create_customer(actor=None, name="Nobody listens", phone="13800138000")
    assert OutboxEvent.objects.count() == 0
    subscribe(receiver.url, ["transaction.recorded"])
    customer = create_customer(actor=None, name="Still nobody")
    update_customer(actor=None, customer=customer, city="上海")
    assert OutboxEvent.objects.count() == 0
    TransactionFactory(customer=customer)
    assert list(OutboxEvent.objects.values_list("topic", flat=True)) == ["transaction.recorded"]


def test_deleting_the_only_listener_stops_the_outbox_writing(receiver, subscribe):
    new = subscribe(receiver.url, ["customer.created"])
    create_customer(actor=None, name="Heard")
    services.pause_subscription(actor=None, subscription=new.subscription)
    create_customer(actor=None, name="Heard while paused: waits for the resume")
    assert OutboxEvent.objects.count() == 2
    services.delete_subscription(actor=None, subscription=new.subscription)
    create_customer(actor=None, name="Not heard")
    assert OutboxEvent.objects.count() == 2


def test_each_service_writes_its_event(receiver, subscribe):
    subscribe(
        receiver.url,
        [
            "customer.created",
            "customer.updated",
            "customer.archived",
            "customer.merged",
            "consent.changed",
            "transaction.recorded",
            "interaction.logged",
        ],
    )
    customer = create_customer(actor=None, name="张三", consent_email=True)
    update_customer(actor=None, customer=customer, city="北京")
    record_consent(
        actor=None,
        customer=customer,
        purpose="marketing_sms",
        granted=True,
        source="staff",
        evidence="x",
    )
    TransactionFactory(customer=customer)
    record_interaction(actor=None, customer=customer, kind="call", subject="Called")
    other = create_customer(actor=None, name="张三 (dup)")
    merge_customers(actor=None, survivor=customer, others=[other])
    archive_customer(actor=None, customer=customer)
    topics = list(OutboxEvent.objects.order_by("pk").values_list("topic", flat=True))
    assert [topic for topic in topics if topic != "consent.changed"] == [
        "customer.created",
        "customer.updated",
        "transaction.recorded",
        "interaction.logged",
        "customer.created",
        "customer.merged",
        "customer.archived",
    ]
    # The e-mail consent given on creation, the SMS consent recorded on its own (and whatever
    # the merge settled in the ledger).
    assert topics[1] == "consent.changed"
    assert topics.count("consent.changed") >= 2
    merged = OutboxEvent.objects.get(topic="customer.merged")
    assert (merged.data["id"], merged.data["merged"]) == (customer.pk, [other.pk])
    consents = [event.data for event in OutboxEvent.objects.filter(topic="consent.changed")]
    assert {"purpose": "marketing_sms", "granted": True, "source": "staff"}.items() <= consents[
        1
    ].items()
    assert all("evidence" not in consent for consent in consents)


def test_payloads_are_masked_and_scoped_per_service_account(receiver, subscribe):
    topics = ["customer.created"]
    admin = subscribe(receiver.url, topics, roles.ADMINISTRATOR, name="Admin").subscription
    analyst = subscribe(receiver.url, topics, roles.ANALYST, name="Analyst").subscription
    sales = subscribe(receiver.url, topics, roles.SALES, name="Sales").subscription
    rep = UserFactory(role=roles.SALES)
    create_customer(
        actor=None, name="王芳", phone="13800138000", email="wangfang@qq.com", owner=rep
    )
    relay_events()
    (to_admin,) = _payloads(admin)
    assert (to_admin["data"]["phone"], to_admin["data"]["email"]) == (
        "+8613800138000",
        "wangfang@qq.com",
    )
    (to_analyst,) = _payloads(analyst)
    assert (to_analyst["data"]["phone"], to_analyst["data"]["email"]) == (
        "138****8000",
        "w***@qq.com",
    )
    assert to_analyst["data"]["name"] == "王芳"
    # Another rep's customer is out of the Sales account's scope: not sent at all.
    assert _payloads(sales) == []


def test_erasure_event_carries_ids_only_and_scrubs_waiting_payloads(receiver, subscribe):
    receiver.answers = [500]
    subscription = subscribe(receiver.url, ["customer.created", "customer.erased"]).subscription
    customer = create_customer(actor=None, name="赵六", phone="13900139000")
    deliver_webhooks()  # fails: the payload waits for its retry
    assert "13900139000" in Delivery.objects.get().body
    anonymise_customers([customer.pk], actor=None, reason="request", evidence="asked")
    relay_events()
    waiting, erased = _payloads(subscription)
    assert waiting["type"] == "customer.created"
    assert waiting["data"] == {"id": customer.pk, "erased": True}
    assert erased == {
        "type": "customer.erased",
        "timestamp": erased["timestamp"],
        "data": {"id": customer.pk, "erased": True},
    }
    for event in OutboxEvent.objects.all():
        assert "赵六" not in json.dumps(event.data, ensure_ascii=False)
        assert "13900139000" not in json.dumps(event.data)


def test_follow_ups_falling_due_are_announced_once(receiver, subscribe):
    subscribe(receiver.url, ["follow_up.due"])
    customer = create_customer(actor=None, name="Follow me")
    assignee = UserFactory(role=roles.SALES)
    now = timezone.now()
    assert announce_due_follow_ups(now=now) == 0  # the first run only marks where it starts
    OutboxWatermark.objects.update(reached_at=now - datetime.timedelta(hours=2))
    due = schedule_follow_up(
        actor=None,
        customer=customer,
        title="Call back",
        due_at=now - datetime.timedelta(hours=1),
        assignee=assignee,
    )
    schedule_follow_up(
        actor=None,
        customer=customer,
        title="Next week",
        due_at=now + datetime.timedelta(days=7),
        assignee=assignee,
    )
    assert announce_due_follow_ups(now=now) == 1
    assert announce_due_follow_ups(now=now + datetime.timedelta(minutes=1)) == 0
    (event,) = OutboxEvent.objects.all()
    assert (event.topic, event.data["id"], event.data["title"]) == (
        "follow_up.due",
        due.pk,
        "Call back",
    )


def test_a_segment_refresh_announces_who_joined_and_who_left(receiver, subscribe):
    from analytics.models import SegmentKind
    from analytics.segments.refresh import refresh_segment
    from analytics.segments.services import save_segment

    admin = subscribe(receiver.url, ["segment.membership_changed"], name="Admin").subscription
    sales = subscribe(
        receiver.url, ["segment.membership_changed"], roles.SALES, name="Sales"
    ).subscription
    leaving = create_customer(actor=None, name="Leaves", city="上海")
    staying = create_customer(actor=None, name="Stays", city="上海")
    segment = save_segment(
        actor=None,
        name="Shanghai",
        kind=SegmentKind.DYNAMIC,
        rules={
            "match": "all",
            "rules": [{"field": "city", "operator": "contains", "value": "上海"}],
        },
    )
    refresh_segment(segment)
    update_customer(actor=None, customer=leaving, city="北京")
    someone_elses = create_customer(
        actor=None, name="Joins", city="上海", owner=UserFactory(role=roles.SALES)
    )
    refresh_segment(segment)
    refresh_segment(segment)  # nothing changed: nothing announced
    relay_events()
    first, second = (payload["data"] for payload in _payloads(admin))
    assert (first["joined"], first["left"]) == (sorted([leaving.pk, staying.pk]), [])
    assert (second["joined"], second["left"], second["size"]) == (
        [someone_elses.pk],
        [leaving.pk],
        2,
    )
    # The Sales account hears only of customers in its scope (unassigned ones here).
    assert [payload["data"]["joined"] for payload in _payloads(sales)] == [
        sorted([leaving.pk, staying.pk]),
        [],
    ]


def test_orders_and_interactions_written_in_bulk_are_announced_like_recorded_ones(
    receiver, subscribe
):
    subscribe(receiver.url, ["transaction.recorded", "interaction.logged"])
    importer = UserFactory(role=roles.ADMINISTRATOR)
    customer = create_customer(actor=None, name="周杰", phone="13900139000")
    orders = upsert_records(
        actor=importer,
        kind=ImportKind.TRANSACTIONS,
        source_name="shop",
        records=[
            {
                "customer_phone": "13900139000",
                "external_ref": "A-1",
                "occurred_at": "2024-05-01",
                "product_name": "茶叶",
                "quantity": "2",
                "unit_price": "88",
            },
            {
                "customer_phone": "13900139000",
                "external_ref": "A-1",
                "occurred_at": "2024-05-01",
                "product_name": "茶具",
                "quantity": "1",
                "unit_price": "300",
            },
        ],
    )
    assert [result.status for result in orders.results] == ["created", "created"]
    upsert_records(
        actor=importer,
        kind=ImportKind.INTERACTIONS,
        source_name="desk",
        records=[{"customer_phone": "13900139000", "kind": "call", "occurred_at": "2024-05-02"}],
    )
    events = {event.topic: event for event in OutboxEvent.objects.all()}
    assert set(events) == {"transaction.recorded", "interaction.logged"}
    order = events["transaction.recorded"].data
    assert order["customer"] == customer.pk
    assert sorted(line["description"] for line in order["lines"]) == ["茶具", "茶叶"]
    assert events["interaction.logged"].data["customer"] == customer.pk
