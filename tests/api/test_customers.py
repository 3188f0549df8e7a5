"""/api/v1/customers/ against a real database: scope, masking, validation, concurrency,
idempotency, duplicates, pages."""

import pytest
from django.urls import reverse

from customers.models import Customer
from privacy.models import AuditEvent
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/customers/"


def detail(pk: int) -> str:
    return f"/api/v1/customers/{pk}/"


def test_a_call_without_a_key_is_refused_as_a_problem(client):
    response = client.get(LIST)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"].endswith("/not-authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_key_stops_working_at_once(admin_api):
    from accounts.api_keys import revoke_api_key

    assert admin_api.get(LIST).status_code == 200
    revoke_api_key(actor=None, key=admin_api.key)
    assert admin_api.get(LIST).status_code == 401


def test_create_normalises_like_the_form_and_audits_on_the_api_channel(admin_api):
    response = admin_api.post(
        LIST,
        {"name": "张伟", "phone": "138 0013 8000", "email": " Zhang.Wei@Example.COM "},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["phone"] == "+8613800138000"
    assert body["email"] == "zhang.wei@example.com"
    assert response["ETag"] == '"1"'
    assert response["Location"] == detail(body["id"])
    event = AuditEvent.objects.get(action="customer.create", target_id=str(body["id"]))
    assert event.via == "api"
    assert event.actor == admin_api.account


def test_invalid_values_come_back_per_field_in_the_callers_language(admin_api):
    response = admin_api.post(
        LIST, {"name": "李娜", "phone": "12345"}, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert response.status_code == 400
    problem = response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert problem["status"] == 400
    assert problem["type"].endswith("/invalid")
    assert set(problem["errors"]) == {"phone"}
    assert any("\u4e00" <= ch <= "\u9fff" for ch in problem["errors"]["phone"][0])
    assert not Customer.objects.filter(name="李娜").exists()


def test_a_likely_duplicate_answers_409_with_the_existing_id(admin_api):
    existing = CustomerFactory(name="王芳", phone="13900139000")
    response = admin_api.post(LIST, {"name": "王芳", "phone": "139-0013-9000"}, format="json")
    assert response.status_code == 409
    assert response.json()["duplicates"] == [existing.pk]
    forced = admin_api.post(
        LIST, {"name": "王芳", "phone": "13900139000", "allow_duplicate": True}, format="json"
    )
    assert forced.status_code == 201


def test_sales_keys_see_their_own_and_unassigned_customers_and_nothing_else(
    sales_api, other_sales_user
):
    own = CustomerFactory(name="Own", owner=sales_api.account)
    unassigned = CustomerFactory(name="Pool")
    others = CustomerFactory(name="Other's", owner=other_sales_user)
    listed = {row["id"] for row in sales_api.get(LIST).json()["results"]}
    assert listed == {own.pk, unassigned.pk}
    assert sales_api.get(detail(others.pk)).status_code == 404
    assert sales_api.get(detail(own.pk)).status_code == 200


def test_personal_data_is_masked_without_the_permission(analyst_api, admin_api):
    customer = CustomerFactory(name="Masked", phone="13800138000", email="m@example.com")
    shown = analyst_api.get(detail(customer.pk)).json()
    assert shown["phone"] != "+8613800138000"
    assert "*" in shown["phone"]
    assert shown["email"] != "m@example.com"
    assert admin_api.get(detail(customer.pk)).json()["phone"] == "+8613800138000"
    assert AuditEvent.objects.filter(action="customer.view_personal", via="api").count() == 1


def test_an_update_needs_if_match_and_a_stale_one_is_refused(admin_api):
    customer = CustomerFactory(name="Versioned")
    missing = admin_api.patch(detail(customer.pk), {"notes": "x"}, format="json")
    assert missing.status_code == 428
    first = admin_api.patch(
        detail(customer.pk), {"notes": "first"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert first.status_code == 200
    assert first["ETag"] == '"2"'
    stale = admin_api.patch(
        detail(customer.pk), {"notes": "second"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert stale.status_code == 412
    customer.refresh_from_db()
    assert customer.notes == "first"


def test_a_retried_post_with_the_same_idempotency_key_writes_nothing_new(admin_api):
    payload = {"name": "Retried Ltd", "kind": "company"}
    first = admin_api.post(LIST, payload, format="json", HTTP_IDEMPOTENCY_KEY="order-77")
    again = admin_api.post(LIST, payload, format="json", HTTP_IDEMPOTENCY_KEY="order-77")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Customer.objects.filter(name="Retried Ltd").count() == 1
    other = admin_api.post(
        LIST, {"name": "Another"}, format="json", HTTP_IDEMPOTENCY_KEY="order-77"
    )
    assert other.status_code == 422


def test_cursor_pages_neither_repeat_nor_skip_when_customers_arrive_meanwhile(admin_api):
    for n in range(5):
        CustomerFactory(name=f"Paged {n}")
    first = admin_api.get(LIST, {"limit": 2}).json()
    CustomerFactory(name="Arrived while paging")
    seen = [row["name"] for row in first["results"]]
    url = first["next"]
    while url:
        page = admin_api.get(url).json()
        seen += [row["name"] for row in page["results"]]
        url = page["next"]
    assert seen == [f"Paged {n}" for n in range(4, -1, -1)]
    assert "count" not in first


def test_the_list_takes_the_list_pages_filters_and_search(admin_api):
    CustomerFactory(name="陈静", lifecycle_stage="customer")
    CustomerFactory(name="Someone Else", lifecycle_stage="lead")
    names = [r["name"] for r in admin_api.get(LIST, {"q": "chenjing"}).json()["results"]]
    assert names == ["陈静"]
    staged = admin_api.get(LIST, {"lifecycle_stage": "lead"}).json()["results"]
    assert [r["name"] for r in staged] == ["Someone Else"]
    bad = admin_api.get(LIST, {"lifecycle_stage": "nonsense"})
    assert bad.status_code == 400
    assert "lifecycle_stage" in bad.json()["errors"]


def test_archive_and_merge_go_through_the_services(admin_api):
    survivor = CustomerFactory(name="Survivor", phone="13800138001")
    other = CustomerFactory(name="Survivor", email="s@example.com")
    assert (
        admin_api.post(
            detail(other.pk) + "merge/", {"others": [survivor.pk]}, format="json"
        ).status_code
        == 200
    )
    survivor.refresh_from_db()
    assert survivor.merged_into_id == other.pk
    moved = admin_api.get(detail(survivor.pk))
    assert moved.status_code == 301
    assert moved["Location"] == reverse("api:customer-detail", args=[other.pk])
    archived = admin_api.post(detail(other.pk) + "archive/")
    assert archived.status_code == 200
    assert archived.json()["archived_at"]
