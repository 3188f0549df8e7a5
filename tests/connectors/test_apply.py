"""What the worker makes of the shops' deliveries, each posted over real HTTP: customers kept
up to date and never set back by a late delivery, orders with their lines whatever came
first, refunds counted once in any order, and the shops' privacy requests in the privacy
officer's queue."""

import datetime
from decimal import Decimal

import pytest

from connectors.models import DeliveryStatus, InboundDelivery, SourceRecord
from customers.models import Customer, ExternalId
from interactions.models import Transaction, TransactionStatus
from privacy.models import AuditEvent, ConsentRecord, DataSubjectRequest, RequestChannel
from tests.connectors.conftest import (
    apply_received,
    last_delivery,
    payload,
    post_shopify,
    post_woo,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_new_customer_arrives_with_chinese_name_phone_address_tags_and_consents(
    base_url, shopify
):
    post_shopify(base_url, shopify, "customers/create", payload("shopify/customers_create.json"))
    assert apply_received(shopify) == [DeliveryStatus.APPLIED]
    customer = Customer.objects.get()
    assert (customer.name, customer.family_name, customer.given_name) == ("王丽娟", "王", "丽娟")
    assert (customer.phone, customer.email) == ("+8613800138000", "wang.lijuan@example.cn")
    assert (customer.city, customer.country, customer.company_name) == (
        "北京市",
        "CN",
        "北京星辰贸易有限公司",
    )
    assert customer.source_channel == "online_shop"
    assert (customer.consent_email, customer.consent_sms) == (True, False)
    assert ConsentRecord.objects.filter(customer=customer, purpose="marketing_email").exists()
    assert {tag.name for tag in customer.tags.all()} == {"VIP", "北京"}
    delivery = last_delivery(shopify)
    assert delivery.customer_id == customer.pk
    event = AuditEvent.objects.get(action="import.bulk_upsert")
    assert event.actor_id == shopify.service_account_id


def test_a_newer_update_changes_the_customer_and_an_older_one_arriving_late_does_not(
    base_url, shopify
):
    created = payload("shopify/customers_create.json")
    updated = payload("shopify/customers_update.json")
    post_shopify(base_url, shopify, "customers/create", created)
    post_shopify(base_url, shopify, "customers/update", updated)
    assert apply_received(shopify) == [DeliveryStatus.APPLIED, DeliveryStatus.APPLIED]
    customer = Customer.objects.get()
    assert (customer.phone, customer.city, customer.consent_email) == (
        "+8613900139000",
        "上海市",
        False,
    )
    withdrawn = ConsentRecord.objects.filter(customer=customer, purpose="marketing_email")
    assert [record.granted for record in withdrawn.order_by("pk")] == [True, False]

    # An update made between the two, delivered only now (Shopify retried it).
    late = dict(created, updated_at="2024-03-03T12:00:00+08:00", phone="+8613700137000")
    post_shopify(base_url, shopify, "customers/update", late)
    assert apply_received(shopify) == [DeliveryStatus.SKIPPED]
    customer.refresh_from_db()
    assert (customer.phone, customer.city) == ("+8613900139000", "上海市")
    assert withdrawn.count() == 2
    record = SourceRecord.objects.get(kind="customer")
    assert record.source_updated_at == datetime.datetime.fromisoformat("2024-03-05T16:20:00+08:00")


def test_an_order_before_its_customer_creates_the_customer_and_the_order_with_its_lines(
    base_url, shopify
):
    post_shopify(base_url, shopify, "orders/create", payload("shopify/orders_create.json"))
    assert apply_received(shopify) == [DeliveryStatus.APPLIED]
    customer = Customer.objects.get()
    assert (customer.name, customer.phone) == ("李娜", "+8613712345678")
    assert ExternalId.objects.get(customer=customer).external_id == "7039851250001"
    order = Transaction.objects.get()
    assert (order.customer, order.external_ref, order.source_system) == (
        customer,
        "1001",
        "shopify:cha-yu.myshopify.com",
    )
    assert (order.amount, order.discount, order.status, order.channel) == (
        Decimal("596.00"),
        Decimal("20.00"),
        TransactionStatus.PAID,
        "online_shop",
    )
    lines = {line.description: line for line in order.lines.all()}
    assert set(lines) == {"西湖龙井 - 250克", "白毫银针 - 100克"}
    assert (lines["白毫银针 - 100克"].quantity, lines["白毫银针 - 100克"].line_total) == (
        Decimal("2.000"),
        Decimal("218.00"),
    )
    assert last_delivery(shopify).customer_id == customer.pk

    # The customer's own webhook, sent when the account was made, comes afterwards.
    buyer = payload("shopify/orders_create.json")["customer"]
    post_shopify(
        base_url, shopify, "customers/create", dict(buyer, updated_at="2024-04-02T09:58:00+08:00")
    )
    assert apply_received(shopify) == [DeliveryStatus.SKIPPED]
    assert Customer.objects.count() == 1


def test_a_refund_lowers_the_amount_once_whether_it_comes_after_or_inside_the_order(
    base_url, shopify
):
    post_shopify(base_url, shopify, "orders/create", payload("shopify/orders_create.json"))
    post_shopify(base_url, shopify, "refunds/create", payload("shopify/refunds_create.json"))
    post_shopify(base_url, shopify, "orders/updated", payload("shopify/orders_updated.json"))
    assert apply_received(shopify) == [
        DeliveryStatus.APPLIED,
        DeliveryStatus.APPLIED,
        DeliveryStatus.SKIPPED,  # the update carries the same refund: nothing new
    ]
    order = Transaction.objects.get()
    assert (order.amount, order.status) == (Decimal("487.00"), TransactionStatus.PAID)
    revised = AuditEvent.objects.get(action="transaction.revise")
    assert revised.changes == {"transaction": order.pk, "amount": ["596.00", "487.00"]}
    assert revised.actor_id == shopify.service_account_id


def test_a_refund_arriving_before_its_order_is_counted_when_the_order_comes(base_url, shopify):
    post_shopify(base_url, shopify, "refunds/create", payload("shopify/refunds_create.json"))
    assert apply_received(shopify) == [DeliveryStatus.APPLIED]
    assert "not in the CRM yet" in last_delivery(shopify).note
    post_shopify(base_url, shopify, "orders/create", payload("shopify/orders_create.json"))
    assert apply_received(shopify) == [DeliveryStatus.APPLIED]
    assert Transaction.objects.get().amount == Decimal("487.00")


def test_an_order_update_older_than_the_one_held_changes_nothing(base_url, shopify):
    post_shopify(base_url, shopify, "orders/updated", payload("shopify/orders_updated.json"))
    post_shopify(base_url, shopify, "orders/create", payload("shopify/orders_create.json"))
    assert apply_received(shopify) == [DeliveryStatus.APPLIED, DeliveryStatus.SKIPPED]
    assert Transaction.objects.get().amount == Decimal("487.00")
    cancelled = dict(
        payload("shopify/orders_updated.json"),
        cancelled_at="2024-04-07T09:00:00+08:00",
        updated_at="2024-04-07T09:00:01+08:00",
    )
    post_shopify(base_url, shopify, "orders/updated", cancelled)
    assert apply_received(shopify) == [DeliveryStatus.APPLIED]
    assert Transaction.objects.get().status == TransactionStatus.CANCELLED


def test_an_order_not_paid_yet_is_recorded_once_it_is(base_url, shopify):
    pending = dict(payload("shopify/orders_create.json"), financial_status="pending")
    post_shopify(base_url, shopify, "orders/create", pending)
    # Its buyer is a customer already; the order is not a purchase yet.
    assert apply_received(shopify) == [DeliveryStatus.APPLIED]
    assert Customer.objects.count() == 1
    assert not Transaction.objects.exists()
    assert "not paid yet" in last_delivery(shopify).note
    paid = dict(pending, financial_status="paid", updated_at="2024-04-02T11:00:00+08:00")
    post_shopify(base_url, shopify, "orders/updated", paid)
    assert apply_received(shopify) == [DeliveryStatus.APPLIED]
    assert Transaction.objects.get().status == TransactionStatus.PAID


def test_a_woocommerce_order_refunded_in_full_is_marked_refunded(base_url, woo):
    post_woo(base_url, woo, "order.created", payload("woocommerce/order_created.json"))
    post_woo(base_url, woo, "order.updated", payload("woocommerce/order_updated_refunded.json"))
    assert apply_received(woo) == [DeliveryStatus.APPLIED, DeliveryStatus.APPLIED]
    order = Transaction.objects.get()
    assert (order.external_ref, order.status, order.amount) == (
        "727",
        TransactionStatus.REFUNDED,
        Decimal("0.00"),
    )
    assert {line.description for line in order.lines.all()} == {"铁观音 250克", "紫砂壶"}
    customer = order.customer
    assert (customer.name, customer.phone) == ("刘晓明", "+8613512345678")
    assert ExternalId.objects.get(customer=customer).system == "woocommerce:shop.example.cn"


def test_a_shopify_redaction_request_opens_an_erasure_request_for_the_privacy_officer(
    base_url, shopify
):
    post_shopify(base_url, shopify, "customers/create", payload("shopify/customers_create.json"))
    post_shopify(base_url, shopify, "customers/redact", payload("shopify/customers_redact.json"))
    assert apply_received(shopify) == [DeliveryStatus.APPLIED, DeliveryStatus.APPLIED]
    request = DataSubjectRequest.objects.get()
    assert (request.customer, request.kind, request.channel) == (
        Customer.objects.get(),
        "erasure",
        RequestChannel.CONNECTED_SYSTEM,
    )
    assert "customers/redact" in request.details
    assert "5612300000007" in request.details
    assert request.created_by_id == shopify.service_account_id


def test_a_data_request_found_by_email_opens_an_access_request(base_url, shopify):
    post_shopify(base_url, shopify, "orders/create", payload("shopify/orders_create.json"))
    data_request = payload("shopify/customers_data_request.json")
    data_request["customer"]["id"] = 1  # an id the CRM does not know: found by email
    post_shopify(base_url, shopify, "customers/data_request", data_request)
    assert apply_received(shopify) == [DeliveryStatus.APPLIED, DeliveryStatus.APPLIED]
    request = DataSubjectRequest.objects.get()
    assert (request.customer.name, request.kind) == ("李娜", "access")


def test_a_request_for_someone_the_crm_does_not_know_is_applied_with_nothing_to_do(
    base_url, shopify
):
    post_shopify(base_url, shopify, "customers/redact", payload("shopify/customers_redact.json"))
    assert apply_received(shopify) == [DeliveryStatus.APPLIED]
    assert not DataSubjectRequest.objects.exists()
    assert last_delivery(shopify).note == "No customer in the CRM matches: nothing to do."


def test_a_delivery_the_crm_cannot_apply_fails_with_the_reason_and_writes_nothing(
    base_url, shopify
):
    nameless = dict(payload("shopify/orders_create.json"))
    nameless["customer"] = dict(nameless["customer"], first_name=None, last_name=None)
    post_shopify(base_url, shopify, "orders/create", nameless)
    post_shopify(base_url, shopify, "orders/create", b"{not json")
    assert apply_received(shopify) == [DeliveryStatus.FAILED, DeliveryStatus.FAILED]
    failed, broken = InboundDelivery.objects.order_by("pk")
    assert "needs a name" in failed.note
    assert "李" not in failed.note
    assert "13712345678" not in failed.note
    assert broken.note == "The body is not JSON."
    assert not Customer.objects.exists()
    assert not Transaction.objects.exists()


def test_a_customer_whose_processing_is_restricted_is_left_alone_and_the_note_says_why(
    base_url, shopify
):
    post_shopify(base_url, shopify, "customers/create", payload("shopify/customers_create.json"))
    apply_received(shopify)
    Customer.objects.update(restricted_at=datetime.datetime.now(tz=datetime.UTC))
    post_shopify(base_url, shopify, "customers/update", payload("shopify/customers_update.json"))
    assert apply_received(shopify) == [DeliveryStatus.SKIPPED]
    assert Customer.objects.get().phone == "+8613800138000"
    assert "processing is restricted" in last_delivery(shopify).note
