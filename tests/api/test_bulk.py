"""/api/v1/{customers,transactions,interactions}/bulk/ against a real database: records go
through the file import's own rows code, with a result per record, scope as the import's,
one audit event per call, idempotent retries."""

import datetime
import json
from decimal import Decimal

import pytest

from customers.models import Customer, ExternalId
from interactions.models import Interaction, Transaction, TransactionLine
from privacy.models import AuditEvent
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

CUSTOMERS = "/api/v1/customers/bulk/"
TRANSACTIONS = "/api/v1/transactions/bulk/"
INTERACTIONS = "/api/v1/interactions/bulk/"


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= character <= "\u9fff" for character in text)


def post(client, url, records, **body):
    return client.post(url, {"records": records, **body}, format="json")


def test_mixed_records_each_get_their_outcome_and_messages_in_the_callers_language(admin_api):
    records = [
        {
            "external_id": "S-1",
            "name": "张伟",
            "phone": "138 0013 8000",
            "email": " Zhang.Wei@Example.COM ",
            "birth_date": "1985/3/4",
            "tags": ["VIP", "老客户"],
        },
        # Excel kept too few digits of this phone: the record fails, the others go on.
        {"external_id": "S-2", "name": "李娜", "phone": "1.38001E+10"},
        # Excel's damage the import repairs: a phone stored as a float, a date as a serial.
        {"external_id": "S-3", "name": "王芳", "phone": 13900139000.0, "birth_date": "32582"},
        {"external_id": "S-4", "name": "Anna Müller", "phone": "+86-137-0013-7000", "fax": "1"},
        # The same customer as record 0 (same phone, another format): combined with it.
        {"phone": "0086 13800138000", "city": "北京"},
        {"name": "孙丽", "consent_email": {"given": True}},
    ]
    response = admin_api.post(
        CUSTOMERS,
        {"records": records, "source": {"system": "shopify"}},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    results = body["results"]
    assert [result["status"] for result in results] == [
        "created",
        "failed",
        "created",
        "created",
        "updated",
        "failed",
    ]
    assert (body["created"], body["updated"], body["unchanged"], body["failed"]) == (3, 1, 0, 2)
    assert [result["index"] for result in results] == list(range(6))

    zhang = Customer.objects.get(pk=results[0]["id"])
    assert (zhang.name, zhang.phone, zhang.email) == (
        "张伟",
        "+8613800138000",
        "zhang.wei@example.com",
    )
    assert zhang.birth_date == datetime.date(1985, 3, 4)
    assert zhang.city == "北京市"
    assert set(zhang.tags.values_list("name", flat=True)) == {"VIP", "老客户"}
    assert ExternalId.objects.get(system="shopify", external_id="S-1").customer == zhang
    assert results[4]["id"] == zhang.pk
    assert list(results[4]["warnings"]) == ["phone"]

    assert results[1]["id"] is None
    assert list(results[1]["errors"]) == ["phone"]
    assert has_chinese(results[1]["errors"]["phone"][0])
    assert not Customer.objects.filter(name="李娜").exists()
    assert not ExternalId.objects.filter(external_id="S-2").exists()

    wang = Customer.objects.get(pk=results[2]["id"])
    assert wang.phone == "+8613900139000"
    assert wang.birth_date == datetime.date(1989, 3, 15)
    assert Customer.objects.get(pk=results[3]["id"]).phone == "+8613700137000"
    assert list(results[3]["warnings"]) == ["fax"]
    assert results[3]["errors"] == {}

    assert list(results[5]["errors"]) == ["consent_email"]
    assert has_chinese(results[5]["errors"]["consent_email"][0])
    assert not Customer.objects.filter(name="孙丽").exists()

    event = AuditEvent.objects.get(action="import.bulk_upsert")
    assert event.via == "api"
    assert event.actor == admin_api.account
    assert event.changes["records"] == 6
    assert (event.changes["created"], event.changes["failed"]) == (3, 2)
    logged = json.dumps(event.changes, ensure_ascii=False)
    assert "张伟" not in logged
    assert "13800138000" not in logged


@pytest.mark.parametrize(
    "record",
    [
        {"phone": "138-0013-8000"},
        {"email": "WANG.WEI@example.com"},
        {"external_id": "C-9"},
        {"id_number": "11010519491231002x"},
    ],
    ids=["phone", "email", "external id", "identity number"],
)
def test_a_record_matching_an_existing_customer_updates_it(admin_api, record):
    existing = CustomerFactory(
        name="王伟",
        phone="13800138000",
        email="wang.wei@example.com",
        id_document_kind="cn_resident",
        id_number="11010519491231002X",
        external_ids=[("shop", "C-9")],
    )
    response = post(admin_api, CUSTOMERS, [{**record, "city": "上海"}], source={"system": "shop"})
    assert response.status_code == 200, response.json()
    (result,) = response.json()["results"]
    assert (result["status"], result["id"]) == ("updated", existing.pk)
    existing.refresh_from_db()
    assert existing.city == "上海市"
    assert existing.version == 2  # a form opened before the call is now stale
    assert Customer.objects.count() == 1
    again = post(admin_api, CUSTOMERS, [{**record, "city": "上海"}], source={"system": "shop"})
    assert again.json()["results"][0]["status"] == "unchanged"


def test_match_on_limits_what_finds_an_existing_customer(admin_api):
    existing = CustomerFactory(name="周杰", phone="13800138000")
    response = post(
        admin_api, CUSTOMERS, [{"name": "周杰", "phone": "13800138000"}], match_on=["email"]
    )
    (result,) = response.json()["results"]
    assert result["status"] == "created"
    assert result["id"] != existing.pk


def test_a_sales_key_owns_what_it_creates_and_cannot_touch_or_find_anothers_customer(
    sales_api, other_sales_user
):
    theirs = CustomerFactory(
        name="Theirs Ltd",
        phone="13700137000",
        owner=other_sales_user,
        external_ids=[("shop", "T-1")],
    )
    records = [
        {"external_id": "T-1", "name": "Taken over", "city": "深圳"},
        {"name": "Phone twin", "phone": "137 0013 7000"},
        {"name": "刘洋", "phone": "13600136000"},
    ]
    response = post(sales_api, CUSTOMERS, records, source={"system": "shop"})
    assert response.status_code == 200, response.json()
    taken, twin, new = response.json()["results"]
    assert (taken["status"], taken["id"]) == ("failed", None)
    assert str(theirs.pk) not in json.dumps(taken)
    # A phone the key may not see unmasked finds no one: a new customer, as any new phone.
    assert twin["status"] == new["status"] == "created"
    assert theirs.pk not in (twin["id"], new["id"])
    theirs.refresh_from_db()
    assert (theirs.name, theirs.city, theirs.version) == ("Theirs Ltd", "", 1)
    owners = set(
        Customer.objects.filter(pk__in=[twin["id"], new["id"]]).values_list("owner", flat=True)
    )
    assert owners == {sales_api.account.pk}


def test_only_who_may_import_may_upsert_in_bulk(analyst_api):
    assert post(analyst_api, CUSTOMERS, [{"name": "Nobody"}]).status_code == 403
    assert post(analyst_api, TRANSACTIONS, []).status_code == 403
    assert not Customer.objects.exists()


def test_more_than_a_thousand_records_answer_413_and_write_nothing(admin_api):
    response = post(admin_api, CUSTOMERS, [{"name": f"Customer {n}"} for n in range(1001)])
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"].endswith("/too-many-records")
    assert not Customer.objects.exists()


def test_customer_ids_need_the_source_system(admin_api):
    response = post(admin_api, CUSTOMERS, [{"external_id": "X-1", "name": "No source"}])
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["source"]


def test_a_retried_bulk_call_with_the_same_idempotency_key_writes_nothing_new(admin_api):
    body = {"records": [{"name": "重试公司", "kind": "企业"}], "source": {"system": "erp"}}
    first = admin_api.post(CUSTOMERS, body, format="json", HTTP_IDEMPOTENCY_KEY="batch-7")
    again = admin_api.post(CUSTOMERS, body, format="json", HTTP_IDEMPOTENCY_KEY="batch-7")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Customer.objects.filter(name="重试公司").count() == 1
    assert AuditEvent.objects.filter(action="import.bulk_upsert").count() == 1


def order_lines(**changes):
    return [
        {
            "external_ref": "#1001",
            "customer_external_id": "C-1",
            "occurred_at": "2024/5/1 10:00",
            "sku": "TEA-1",
            "product_name": "龙井茶",
            "quantity": "2",
            "unit_price": "¥88",
            **changes,
        },
        {
            "external_ref": "1001",
            "customer_external_id": "C-1",
            "occurred_at": "2024/5/1 10:00",
            "sku": "POT-2",
            "product_name": "紫砂壶",
            "amount": "1,299.00",
            **changes,
        },
        {
            "external_ref": "1002",
            "customer_phone": "138 0013 8000",
            "occurred_at": "2024-05-02",
            "amount": 50,
            **changes,
        },
        {
            "external_ref": "1003",
            "customer_email": "nobody@example.com",
            "occurred_at": "2024-05-03",
            "amount": 10,
        },
    ]


def test_orders_link_their_customer_and_an_order_sent_again_is_unchanged_not_doubled(
    admin_api,
):
    customer = CustomerFactory(name="林静", phone="13800138000", external_ids=[("shop", "C-1")])
    first = post(admin_api, TRANSACTIONS, order_lines(), source={"system": "shop"})
    assert first.status_code == 200, first.json()
    results = first.json()["results"]
    assert [result["status"] for result in results] == ["created", "created", "created", "failed"]
    assert results[0]["id"] == results[1]["id"]
    assert "non_field_errors" in results[3]["errors"]
    order = Transaction.objects.get(pk=results[0]["id"])
    assert order.customer == customer
    assert order.amount == Decimal("1475.00")  # 2 × 88 + 1,299
    assert Transaction.objects.get(pk=results[2]["id"]).customer == customer
    assert Transaction.objects.count() == 2
    lines = TransactionLine.objects.count()

    again = post(admin_api, TRANSACTIONS, order_lines(), source={"system": "shop"})
    assert [result["status"] for result in again.json()["results"]] == [
        "unchanged",
        "unchanged",
        "unchanged",
        "failed",
    ]
    assert [result["id"] for result in again.json()["results"]] == [
        result["id"] for result in results
    ]
    assert Transaction.objects.count() == 2
    assert TransactionLine.objects.count() == lines

    refunded = post(
        admin_api, TRANSACTIONS, order_lines(status="已退款"), source={"system": "shop"}
    )
    assert [result["status"] for result in refunded.json()["results"][:3]] == ["updated"] * 3
    order.refresh_from_db()
    assert order.status == "refunded"


def test_interactions_are_linked_to_their_customer_and_never_doubled(admin_api):
    customer = CustomerFactory(name="黄磊", phone="13800138000", email="huang.lei@example.com")
    records = [
        {
            "customer_email": "Huang.Lei@Example.com",
            "kind": "投诉",
            "occurred_at": "2024-06-01 09:30",
            "subject": "快递破损",
            "satisfaction": "★★",
        },
        {
            "customer_phone": "+86 138-0013-8000",
            "external_ref": "T-55",
            "kind": "来电",
            "occurred_at": "2024/6/2 14:00",
            "channel": "电话",
        },
        {"customer_phone": "13800138000", "kind": "visit", "occurred_at": "06/07/2024"},
    ]
    first = post(admin_api, INTERACTIONS, records, source={"system": "desk"})
    assert first.status_code == 200, first.json()
    results = first.json()["results"]
    assert [result["status"] for result in results] == ["created", "created", "failed"]
    # 06/07/2024 could be either day: the same message as the file import's.
    assert list(results[2]["errors"]) == ["occurred_at"]
    complaint = Interaction.objects.get(pk=results[0]["id"])
    assert (complaint.customer, complaint.kind, complaint.satisfaction) == (
        customer,
        "complaint",
        2,
    )
    assert Interaction.objects.get(pk=results[1]["id"]).channel == "phone"

    again = post(
        admin_api, INTERACTIONS, records, source={"system": "desk"}, date_order="day_first"
    )
    statuses = [result["status"] for result in again.json()["results"]]
    assert statuses == ["unchanged", "unchanged", "created"]
    assert [result["id"] for result in again.json()["results"][:2]] == [
        result["id"] for result in results[:2]
    ]
    assert Interaction.objects.filter(customer=customer).count() == 3
