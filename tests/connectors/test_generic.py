"""Generic webhooks over real HTTP: a 有赞云-style push (Event-Sign, its message as URL-encoded
JSON under `msg`, nested buyer info, Chinese names and +86 mobiles) and a POS posting a flat
JSON array signed `X-Signature: sha256=<hex>`, each read through the field mapping saved on
the connector and applied through the import's bulk upsert; the mapping page guessing from a
sample in Chinese and English keys, versioned and audited."""

from __future__ import annotations

import hashlib
import hmac
import json
from decimal import Decimal
from typing import Any
from urllib.parse import quote_plus

import pytest
import requests

from connectors import services
from connectors.models import Connector, DeliveryStatus, InboundDelivery, SignatureScheme
from connectors.platforms.generic import flatten, guess_mapping, records_of
from customers.models import Customer, ExternalId
from interactions.models import Transaction
from kernel.versioning import EditConflictError
from privacy.models import AuditEvent
from tests.connectors.conftest import apply_received, intake_url, last_delivery

POS_SECRET = "pos-共享密钥-0f9d3c1e2b7a"
YOUZAN_CLIENT_ID = "6cd25b3d3d2b9b0c0a"
YOUZAN_SECRET = "youzan-client-secret-8e5c3b1a"


def _body(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


def post_signed(
    base_url: str,
    connector: Connector,
    data: Any,
    *,
    secret: str = POS_SECRET,
    header: str = "X-Signature",
    headers: dict[str, str] | None = None,
) -> requests.Response:
    """POST as GitHub-style senders do: X-Signature: sha256=<hex HMAC-SHA256 of the body>."""
    body = _body(data)
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return requests.post(
        intake_url(base_url, connector),
        data=body,
        headers={"Content-Type": "application/json", header: f"sha256={digest}", **(headers or {})},
        timeout=30,
    )


def post_youzan(base_url: str, connector: Connector, message: dict[str, Any], *, msg_id: str):
    """POST as 有赞云's push does: the message URL-encoded under `msg`, Event-Sign the hex MD5
    of client id + body + client secret."""
    body = _body(
        {
            "client_id": YOUZAN_CLIENT_ID,
            "id": msg_id,
            "kdt_id": 44011,
            "kdt_name": "茶语小店",
            "mode": 1,
            "msg": quote_plus(json.dumps(message, ensure_ascii=False)),
            "sendCount": 0,
            "status": "CUSTOMER_UPDATED",
            "test": False,
            "type": "SCRM_CUSTOMER_EVENT",
            "version": 1709265600,
        }
    )
    sign = hashlib.md5(YOUZAN_CLIENT_ID.encode() + body + YOUZAN_SECRET.encode()).hexdigest()  # noqa: S324
    return requests.post(
        intake_url(base_url, connector),
        data=body,
        headers={
            "Content-Type": "application/json",
            "Event-Sign": sign,
            "Event-Type": "SCRM_CUSTOMER_EVENT",
            "Client-Id": YOUZAN_CLIENT_ID,
        },
        timeout=30,
    )


def _map(connector: Connector, mapping: dict[str, str], **settings: Any) -> None:
    services.save_feed(
        actor=None,
        connector=connector,
        keys=list(mapping),
        mapping=list(mapping.values()),
        **settings,
    )


YOUZAN_CUSTOMER = {
    "yz_open_id": "yz-7f3a9c",
    "buyer_info": {"name": "张伟", "mobile": "+86 138 0013 8000", "gender": "男"},
    "tags": ["老客", "杭州"],
    "points": 120,
    "update_time": "2024-03-01 12:00:00",
}


@pytest.fixture
def youzan(admin_user_role) -> Connector:
    connector = services.create_generic_connector(
        actor=admin_user_role,
        name="有赞小店",
        system_name="youzan",
        kind="customers",
        secret=YOUZAN_SECRET,
        signature_scheme=SignatureScheme.YOUZAN,
        client_id=YOUZAN_CLIENT_ID,
    )
    _map(
        connector,
        {
            "yz_open_id": "external_id",
            "buyer_info.name": "name",
            "buyer_info.mobile": "phone",
            "buyer_info.gender": "gender",
            "tags": "tags",
        },
        records_key="msg",
        delivery_id_key="id",
        updated_at_key="update_time",
        policy="overwrite",
    )
    return connector


@pytest.fixture
def pos(admin_user_role) -> Connector:
    return services.create_generic_connector(
        actor=admin_user_role,
        name="门店 POS 1",
        system_name="pos-store-1",
        kind="customers",
        secret=POS_SECRET,
    )


POS_MAPPING = {
    "member_no": "external_id",
    "姓名": "name",
    "手机号": "phone",
    "邮箱": "email",
    "address.city": "city",
}


@pytest.mark.django_db(transaction=True)
class TestOverHttp:
    def test_a_youzan_push_creates_the_customer_from_its_nested_url_encoded_message(
        self, live_server, youzan
    ):
        response = post_youzan(live_server.url, youzan, YOUZAN_CUSTOMER, msg_id="m-1")
        assert (response.status_code, response.json()) == (200, {"status": "stored"})
        assert apply_received(youzan) == [DeliveryStatus.APPLIED]
        customer = Customer.objects.get()
        assert (customer.name, customer.gender) == ("张伟", "male")
        assert customer.phone == "+8613800138000"
        assert {tag.name for tag in customer.tags.all()} == {"老客", "杭州"}
        assert ExternalId.objects.get(customer=customer).system == "youzan"
        delivery = last_delivery(youzan)
        assert delivery.delivery_id == "m-1"
        assert delivery.customer_id == customer.pk
        assert delivery.subject_ref == "yz-7f3a9c"
        assert delivery.note == "Keys not mapped, left out: points."
        event = AuditEvent.objects.get(action="import.bulk_upsert")
        assert event.actor_id == youzan.service_account_id
        assert event.changes["source_name"] == "youzan"

    def test_a_wrong_signature_is_refused_and_nothing_is_stored(self, live_server, youzan, pos):
        assert post_signed(
            live_server.url, pos, [{"姓名": "李娜"}], secret="wrong"
        ).status_code == (401)
        forged = post_signed(live_server.url, youzan, {"msg": "{}"}, header="Event-Sign")
        assert forged.status_code == 401
        unsigned = requests.post(intake_url(live_server.url, pos), data=b"[]", timeout=30)
        assert unsigned.status_code == 401
        assert not InboundDelivery.objects.exists()
        pos.refresh_from_db()
        assert pos.refused_signatures == 2

    def test_a_repeated_delivery_is_stored_and_applied_once(self, live_server, youzan, pos):
        assert post_youzan(live_server.url, youzan, YOUZAN_CUSTOMER, msg_id="m-9").json() == {
            "status": "stored"
        }
        again = post_youzan(live_server.url, youzan, YOUZAN_CUSTOMER, msg_id="m-9")
        assert again.json() == {"status": "repeated"}
        # Without a delivery id the body's digest names it: the same body is one delivery.
        _map(pos, POS_MAPPING)
        records = [{"member_no": "M-1", "姓名": "李娜", "手机号": "13900139000"}]
        post_signed(live_server.url, pos, records)
        assert post_signed(live_server.url, pos, records).json() == {"status": "repeated"}
        # A header naming the delivery wins over the digest.
        _map(pos, POS_MAPPING, delivery_id_header="X-Request-Id")
        named = {"X-Request-Id": "req-1"}
        assert post_signed(live_server.url, pos, records, headers=named).json() == {
            "status": "stored"
        }
        other = [{"member_no": "M-2", "姓名": "王芳"}]
        assert post_signed(live_server.url, pos, other, headers=named).json() == {
            "status": "repeated"
        }
        assert InboundDelivery.objects.count() == 3
        apply_received(youzan)
        apply_received(pos)
        assert Customer.objects.count() == 2
        assert AuditEvent.objects.filter(action="import.bulk_upsert").count() == 3

    def test_a_pos_array_is_one_batch_and_a_bad_record_fails_alone(self, live_server, pos):
        _map(pos, POS_MAPPING, policy="fill", source_channel="pos")
        records = [
            {
                "member_no": "M-1",
                "姓名": "李娜",
                "手机号": "139 0013 9000",
                "address": {"city": "杭州市"},
            },
            {"member_no": "", "姓名": "", "积分": 30},
            {"member_no": "M-3", "姓名": "Chen Jie", "邮箱": "chen.jie@example.cn"},
        ]
        assert post_signed(live_server.url, pos, records).status_code == 200
        assert apply_received(pos) == [DeliveryStatus.APPLIED]
        assert dict(Customer.objects.values_list("name", "email")) == {
            "李娜": "",
            "Chen Jie": "chen.jie@example.cn",
        }
        assert Customer.objects.get(name="李娜").city == "杭州市"
        assert set(Customer.objects.values_list("source_channel", flat=True)) == {"pos"}
        assert AuditEvent.objects.filter(action="import.bulk_upsert").count() == 1
        note = last_delivery(pos).note
        assert note.startswith("Record 2: ")
        assert "积分" in note  # the key left out is named

    def test_a_payload_without_a_required_field_fails_with_the_import_s_message(
        self, live_server, pos
    ):
        _map(pos, POS_MAPPING)
        post_signed(live_server.url, pos, {"积分": 30, "门店": "西湖店"})
        assert apply_received(pos) == [DeliveryStatus.FAILED]
        assert last_delivery(pos).note.startswith("Record 1: ")
        assert not Customer.objects.exists()

    def test_a_delivery_before_the_mapping_fails_and_applies_once_retried(
        self, live_server, pos, admin_user_role
    ):
        post_signed(live_server.url, pos, [{"member_no": "M-1", "姓名": "李娜"}])
        assert apply_received(pos) == [DeliveryStatus.FAILED]
        delivery = last_delivery(pos)
        assert "No field mapping is saved yet" in delivery.note
        _map(pos, POS_MAPPING)
        services.retry_delivery(actor=admin_user_role, delivery=delivery)
        assert apply_received(pos) == [DeliveryStatus.APPLIED]
        assert Customer.objects.get().name == "李娜"

    def test_an_older_update_arriving_late_changes_nothing(self, live_server, youzan):
        newer = {**YOUZAN_CUSTOMER, "update_time": "2024-03-05 09:00:00"}
        newer["buyer_info"] = {**YOUZAN_CUSTOMER["buyer_info"], "mobile": "13700137000"}
        post_youzan(live_server.url, youzan, newer, msg_id="m-2")
        post_youzan(live_server.url, youzan, YOUZAN_CUSTOMER, msg_id="m-1")
        assert apply_received(youzan) == [DeliveryStatus.APPLIED, DeliveryStatus.SKIPPED]
        assert Customer.objects.get().phone == "+8613700137000"
        assert "Older than what the CRM holds" in last_delivery(youzan).note
        # An epoch time (seconds) newer still is applied.
        newest = {**YOUZAN_CUSTOMER, "update_time": 1709800000}
        post_youzan(live_server.url, youzan, newest, msg_id="m-3")
        assert apply_received(youzan) == [DeliveryStatus.APPLIED]
        assert Customer.objects.get().phone == "+8613800138000"

    def test_orders_from_a_pos_with_their_lines(self, live_server, pos, admin_user_role):
        _map(pos, POS_MAPPING)
        post_signed(live_server.url, pos, [{"member_no": "M-1", "姓名": "李娜"}])
        apply_received(pos)
        orders = services.create_generic_connector(
            actor=admin_user_role,
            name="门店 POS 1 订单",
            system_name="pos-store-1",
            kind="transactions",
            secret=POS_SECRET,
        )
        lines = [
            {
                "order_no": "P-1001",
                "member_no": "M-1",
                "paid_at": "2024-03-01 10:00:00",
                "sku": "TEA-LJ",
                "item": "西湖龙井",
                "qty": 2,
                "price": "88.00",
            },
            {
                "order_no": "P-1001",
                "member_no": "M-1",
                "paid_at": "2024-03-01 10:00:00",
                "sku": "CUP-1",
                "item": "茶杯",
                "qty": 1,
                "price": "30",
            },
        ]
        keys = list(flatten(lines[0]))
        guessed = dict(zip(keys, guess_mapping("transactions", keys), strict=True))
        assert guessed == {
            "order_no": "external_ref",
            "member_no": "",
            "paid_at": "occurred_at",
            "sku": "sku",
            "item": "product_name",
            "qty": "quantity",
            "price": "unit_price",
        }
        _map(orders, {**guessed, "member_no": "customer_external_id"})
        assert post_signed(live_server.url, orders, lines).status_code == 200
        assert apply_received(orders) == [DeliveryStatus.APPLIED]
        order = Transaction.objects.get()
        assert (order.external_ref, order.source_system, order.amount) == (
            "P-1001",
            "pos-store-1",
            Decimal("206.00"),
        )
        assert order.customer == Customer.objects.get(name="李娜")
        assert order.lines.count() == 2


def test_records_are_read_from_an_object_an_array_or_under_a_key():
    assert records_of({"a": 1}) == [{"a": 1}]
    assert records_of([{"a": 1}, {"a": 2}]) == [{"a": 1}, {"a": 2}]
    assert records_of({"data": {"list": [{"a": 1}]}}, "data.list") == [{"a": 1}]
    assert records_of({"msg": quote_plus('{"a": "+86 1"}')}, "msg") == [{"a": "+86 1"}]
    assert flatten({"buyer": {"mobile": "1", "tags": ["a", "b"]}, "items": [{"sku": "x"}]}) == {
        "buyer.mobile": "1",
        "buyer.tags": "a, b",
        "items.0.sku": "x",
    }


@pytest.mark.django_db  # custom fields are guessed too, from the database
def test_the_mapping_is_guessed_from_chinese_and_english_keys():
    keys = ["会员卡号", "姓名", "手机号码", "buyer_info.email", "生日", "Company Name", "积分"]
    assert guess_mapping("customers", keys) == [
        "external_id",
        "name",
        "phone",
        "email",
        "birth_date",
        "company_name",
        "",
    ]


@pytest.mark.django_db
def test_staff_map_a_sample_on_the_page_and_the_mapping_is_versioned_and_audited(
    client, admin_user_role
):
    client.force_login(admin_user_role)
    response = client.post(
        "/connectors/new/generic/",
        {
            "name": "门店 POS",
            "system_name": "pos-store-1",
            "kind": "customers",
            "signature_scheme": "hmac_sha256_hex",
            "signature_header": "X-Pos-Signature",
            "secret": POS_SECRET,
        },
    )
    connector = Connector.objects.get()
    assert response["Location"] == f"/connectors/{connector.pk}/mapping/"
    assert connector.feed.signature_header == "X-Pos-Signature"
    assert POS_SECRET not in str(AuditEvent.objects.get(action="connector.create").changes)
    page = client.get(f"/connectors/{connector.pk}/").content.decode()
    assert "No mapping yet" in page
    assert "X-Pos-Signature: sha256=" in page

    sample = json.dumps(
        {"data": [{"会员卡号": "M-1", "姓名": "李娜", "手机号码": "13900139000", "积分": 3}]},
        ensure_ascii=False,
    )
    read = client.post(
        f"/connectors/{connector.pk}/mapping/",
        {"read_sample": "", "sample": sample, "records_key": "data"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    form = read.context["form"]
    assert [field.label for field in form.column_fields()] == [
        "会员卡号",
        "姓名",
        "手机号码",
        "积分",
    ]
    assert [form.initial[f"column_{index}"] for index in range(4)] == [
        "external_id",
        "name",
        "phone",
        "",
    ]
    assert "读取其字段名" in read.content.decode()
    assert "李娜" not in json.dumps(read.context["form"].initial, ensure_ascii=False)

    post = {
        "keys": form.initial["keys"],
        "row_version": 1,
        "records_key": "data",
        "signature_scheme": "hmac_sha256_hex",
        "signature_header": "X-Pos-Signature",
        "policy": "overwrite",
        "source_channel": "pos",
        "column_0": "",
        "column_1": "",
        "column_2": "",
        "column_3": "",
    }
    refused = client.post(f"/connectors/{connector.pk}/mapping/", post)
    assert refused.status_code == 400
    assert "Choose the column with the name" in refused.content.decode()

    saved = client.post(
        f"/connectors/{connector.pk}/mapping/",
        {**post, "column_0": "external_id", "column_1": "name", "column_2": "phone"},
    )
    assert saved.status_code == 302
    connector.feed.refresh_from_db()
    assert connector.feed.mapping == {
        "会员卡号": "external_id",
        "姓名": "name",
        "手机号码": "phone",
    }
    assert (connector.feed.version, connector.feed.records_key) == (2, "data")
    event = AuditEvent.objects.get(action="connector.mapping")
    assert event.changes["version"] == [1, 2]
    assert event.changes["mapping"][1]["姓名"] == "name"
    assert "李娜" not in json.dumps(event.changes, ensure_ascii=False)

    stale = client.post(
        f"/connectors/{connector.pk}/mapping/", {**post, "column_1": "name", "policy": "fill"}
    )
    assert stale.status_code == 400
    assert "after you opened it" in stale.content.decode()
    with pytest.raises(EditConflictError):
        services.save_feed(
            actor=admin_user_role,
            connector=connector,
            keys=["姓名"],
            mapping=["name"],
            expected_version=1,
        )
    detail = client.get(f"/connectors/{connector.pk}/").content.decode()
    assert "会员卡号" in detail
    assert "start-backfill" not in detail
