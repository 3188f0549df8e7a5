"""/api/v1/consents/ and /api/v1/data-subject-requests/: the consent ledger through
privacy/consent.py as the customer page records it, and requests logged as the "log a request"
page logs them; scope, permissions and validation in the caller's language."""

import datetime

import pytest
from django.utils import timezone

from customers.models import Customer
from privacy import roles
from privacy.models import AuditEvent, ConsentRecord, DataSubjectRequest, PrivacyPolicy
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

CONSENTS = "/api/v1/consents/"
REQUESTS = "/api/v1/data-subject-requests/"


@pytest.fixture
def privacy_api(api_client_for):
    return api_client_for(roles.PRIVACY_OFFICER)


def grant(client, customer, **extra):
    payload = {
        "customer": customer.pk,
        "purpose": "marketing_email",
        "granted": True,
        "evidence": "Ticked the box on the shop's checkout page",
        **extra,
    }
    return client.post(CONSENTS, payload, format="json")


def test_a_consent_given_goes_into_the_ledger_with_its_evidence_and_is_audited(sales_api):
    customer = CustomerFactory(name="Own", owner=sales_api.account)
    policy = PrivacyPolicy.objects.create(
        version="2026-01", effective_from=datetime.date(2026, 1, 1)
    )
    given_at = timezone.now() - datetime.timedelta(hours=2)
    response = grant(sales_api, customer, source="form", recorded_at=given_at.isoformat())
    assert response.status_code == 201, response.json()
    body = response.json()
    assert response["Location"] == f"{CONSENTS}{body['id']}/"
    assert (body["purpose"], body["granted"], body["source"]) == ("marketing_email", True, "form")
    assert body["policy"] == policy.version
    assert body["evidence"] == "Ticked the box on the shop's checkout page"
    assert Customer.objects.get(pk=customer.pk).consent_email is True
    event = AuditEvent.objects.get(action="consent.grant", target_id=str(customer.pk))
    assert event.via == "api"
    assert event.changes["source"] == "form"
    withdrawn = sales_api.post(
        CONSENTS,
        {"customer": customer.pk, "purpose": "marketing_email", "granted": False},
        format="json",
    )
    assert withdrawn.status_code == 201
    assert Customer.objects.get(pk=customer.pk).consent_email is False
    history = sales_api.get(CONSENTS, {"customer": customer.pk}).json()["results"]
    assert [entry["granted"] for entry in history] == [False, True]


def test_a_consent_given_without_evidence_is_refused_in_the_callers_language(sales_api):
    customer = CustomerFactory(name="Own", owner=sales_api.account)
    response = sales_api.post(
        CONSENTS,
        {"customer": customer.pk, "purpose": "marketing_sms", "granted": True, "evidence": " "},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"evidence"}
    assert any("\u4e00" <= ch <= "\u9fff" for ch in response.json()["errors"]["evidence"][0])
    assert not ConsentRecord.objects.exists()


def test_a_consent_reported_late_cannot_go_behind_a_later_entry_nor_into_the_future(sales_api):
    customer = CustomerFactory(name="Own", owner=sales_api.account)
    assert grant(sales_api, customer).status_code == 201
    earlier = timezone.now() - datetime.timedelta(days=1)
    behind = grant(sales_api, customer, granted=False, recorded_at=earlier.isoformat())
    assert behind.status_code == 400
    assert set(behind.json()["errors"]) == {"recorded_at"}
    future = timezone.now() + datetime.timedelta(days=1)
    ahead = grant(sales_api, customer, recorded_at=future.isoformat())
    assert ahead.status_code == 400
    assert ConsentRecord.objects.count() == 1
    assert Customer.objects.get(pk=customer.pk).consent_email is True


def test_another_sales_persons_customer_is_an_unknown_id_and_nothing_is_recorded(
    sales_api, other_sales_user
):
    theirs = CustomerFactory(name="Theirs", owner=other_sales_user)
    refused = grant(sales_api, theirs)
    assert refused.status_code == 400
    assert set(refused.json()["errors"]) == {"customer"}
    assert sales_api.get(CONSENTS, {"customer": theirs.pk}).status_code == 404
    assert not ConsentRecord.objects.exists()


def test_only_roles_that_record_consents_may_post_them(analyst_api):
    customer = CustomerFactory(name="Seen")
    assert grant(analyst_api, customer).status_code == 403
    assert analyst_api.get(CONSENTS, {"customer": customer.pk}).status_code == 200


def test_the_privacy_officer_logs_a_request_due_by_the_deadline(privacy_api, settings):
    customer = CustomerFactory(name="Asker")
    response = privacy_api.post(
        REQUESTS,
        {
            "customer": customer.pk,
            "kind": "access",
            "channel": "email",
            "details": "请提供我的全部个人信息副本",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    logged = DataSubjectRequest.objects.get()
    assert response["Location"] == f"{REQUESTS}{logged.pk}/"
    assert body["status"] == "received"
    assert (
        body["due_on"]
        == (
            timezone.localdate() + datetime.timedelta(days=settings.DATA_REQUEST_DUE_DAYS)
        ).isoformat()
    )
    assert AuditEvent.objects.get(action="subject_request.create").via == "api"
    assert [
        row["id"] for row in privacy_api.get(REQUESTS, {"status": "open"}).json()["results"]
    ] == [logged.pk]
    assert privacy_api.get(REQUESTS, {"status": "completed"}).json()["results"] == []
    assert privacy_api.get(f"{REQUESTS}{logged.pk}/").json()["details"] == body["details"]


def test_requests_are_for_the_privacy_roles_and_an_unknown_customer_answers_404(
    privacy_api, admin_api, sales_api
):
    customer = CustomerFactory(name="Asker")
    payload = {"customer": customer.pk, "kind": "erasure", "channel": "letter"}
    assert sales_api.get(REQUESTS).status_code == 403
    assert sales_api.post(REQUESTS, payload, format="json").status_code == 403
    assert admin_api.get(REQUESTS).status_code == 200
    assert admin_api.post(REQUESTS, payload, format="json").status_code == 403
    unknown = privacy_api.post(REQUESTS, {**payload, "customer": customer.pk + 100}, format="json")
    assert unknown.status_code == 404
    future = privacy_api.post(
        REQUESTS,
        {**payload, "received_at": (timezone.now() + datetime.timedelta(days=2)).isoformat()},
        format="json",
    )
    assert future.status_code == 400
    assert set(future.json()["errors"]) == {"received_at"}
    assert not DataSubjectRequest.objects.exists()


def test_a_policy_named_with_a_nul_is_refused_not_a_server_error(admin_api):
    customer = CustomerFactory()
    answer = admin_api.post(
        "/api/v1/consents/",
        {"customer": customer.pk, "purpose": "email", "granted": True, "policy": "v1\x00"},
        format="json",
    )
    assert answer.status_code == 400
    assert "policy" in answer.json()["errors"]
