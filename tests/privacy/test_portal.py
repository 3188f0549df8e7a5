"""The customer's own privacy page and one-click unsubscribe: signed links that name the
customer only sealed, expire, and follow merges; withdrawals written to the ledger at once;
requests for a copy or erasure entering the queue with the link as identity check."""

from __future__ import annotations

import time

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from customers import merge as merging
from customers.models import Customer
from privacy import consent
from privacy.models import (
    AuditEvent,
    ConsentPurpose,
    ConsentRecord,
    ConsentSource,
    DataSubjectRequest,
    PrivacyPolicy,
    RequestChannel,
    RequestKind,
    RequestStatus,
    VerificationMethod,
)
from privacy.portal import links
from privacy.subjects.services import PRIVACY_PAGE_ACTOR
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer():
    return CustomerFactory(
        name="王小明", email="xiaoming@example.com", consent_email=True, consent_sms=True
    )


def _path(url: str) -> str:
    return url.removeprefix("http://testserver")


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "http://testserver"


def _open_page(client: Client, customer) -> None:
    response = client.get(_path(links.privacy_page_url(customer)))
    assert response.status_code == 303
    assert response["Location"] == reverse("privacy-page-self")


def test_a_token_names_the_customer_only_sealed_and_reads_back(customer):
    token = links.subject_token(customer, ConsentPurpose.EMAIL)
    payload = signing.loads(token, salt="privacy.portal.links")
    assert payload["s"].startswith("v1:")
    assert str(customer.pk) != payload["s"]
    assert links.read_token(token) == (customer, ConsentPurpose.EMAIL)


def test_an_altered_or_expired_token_opens_nothing(client, customer, monkeypatch, settings):
    token = links.subject_token(customer)
    altered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    response = client.get(reverse("privacy-page", args=[altered]))
    assert response.status_code == 404
    assert "This link does not work" in response.content.decode()
    assert "privacy_page_subject" not in client.session

    issued = time.time() - (settings.PRIVACY_LINK_DAYS + 1) * 86400
    monkeypatch.setattr(signing.time, "time", lambda: issued)
    old = links.subject_token(customer)
    monkeypatch.undo()
    assert client.get(reverse("privacy-page", args=[old])).status_code == 404


def test_a_link_of_a_merged_customer_opens_the_survivor(customer):
    survivor = CustomerFactory(name="王小明", phone="13800138000")
    token = links.subject_token(customer)
    merging.merge_customers(actor=None, survivor=survivor, others=[customer])
    assert links.read_token(token)[0] == survivor


def test_the_page_needs_the_link_and_keeps_the_token_out_of_its_address(client, customer):
    assert client.get(reverse("privacy-page-self")).status_code == 404
    _open_page(client, customer)
    page = client.get(reverse("privacy-page-self"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Marketing by email" in text
    assert "Withdraw" in text
    assert page["Cache-Control"].startswith("max-age=0")


def test_withdrawing_on_the_page_is_in_the_ledger_and_in_lists_at_once(client, customer):
    _open_page(client, customer)
    client.post(reverse("privacy-page-self"), {"withdraw": ConsentPurpose.EMAIL})
    customer.refresh_from_db()
    assert customer.consent_email is False
    assert customer.consent_sms is True
    entry = ConsentRecord.objects.filter(customer=customer, purpose=ConsentPurpose.EMAIL).first()
    assert (entry.granted, entry.source) == (False, ConsentSource.PRIVACY_PAGE)
    assert "signed link" in entry.evidence
    listed = consent.usable_for_list(Customer.objects.all(), ConsentPurpose.EMAIL)
    assert not listed.filter(pk=customer.pk).exists()
    # A second click (an old tab) adds nothing.
    client.post(reverse("privacy-page-self"), {"withdraw": ConsentPurpose.EMAIL})
    assert (
        ConsentRecord.objects.filter(customer=customer, purpose=ConsentPurpose.EMAIL).count() == 2
    )


def test_asking_for_a_copy_enters_the_queue_verified_by_the_link_once(client, customer):
    _open_page(client, customer)
    for _ in range(2):
        client.post(reverse("privacy-page-self"), {"kind": RequestKind.ACCESS})
    request = DataSubjectRequest.objects.get(customer=customer)
    assert (request.kind, request.channel, request.status) == (
        RequestKind.ACCESS,
        RequestChannel.PRIVACY_PAGE,
        RequestStatus.VERIFIED,
    )
    assert request.verification_method == VerificationMethod.SIGNED_LINK
    events = AuditEvent.objects.filter(action__startswith="subject_request").values_list(
        "action", "actor_label"
    )
    assert set(events) == {
        ("subject_request.create", PRIVACY_PAGE_ACTOR),
        ("subject_request.verify", PRIVACY_PAGE_ACTOR),
    }
    page = client.get(reverse("privacy-page-self")).content.decode()
    assert "Access and copy: received" in page


def test_erasure_is_asked_only_when_confirmed(client, customer):
    _open_page(client, customer)
    client.post(reverse("privacy-page-self"), {"kind": RequestKind.ERASURE, "details": "请删除"})
    assert not DataSubjectRequest.objects.exists()
    client.post(
        reverse("privacy-page-self"),
        {"kind": RequestKind.ERASURE, "details": "请删除", "confirm_erasure": "1"},
    )
    request = DataSubjectRequest.objects.get()
    assert (request.kind, request.details) == (RequestKind.ERASURE, "请删除")


def test_one_click_unsubscribe_withdraws_on_post_only_without_cookie_or_csrf(customer):
    headers = links.marketing_headers(customer)
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = _path(headers["List-Unsubscribe"].strip("<>"))
    mail_program = Client(enforce_csrf_checks=True)
    assert "Unsubscribe" in mail_program.get(url).content.decode()
    customer.refresh_from_db()
    assert customer.consent_email is True
    response = mail_program.post(
        url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.consent_email is False
    assert customer.consent_sms is True


def test_a_page_link_does_not_unsubscribe(client, customer):
    token = links.subject_token(customer)
    assert client.post(reverse("privacy-unsubscribe", args=[token])).status_code == 404
    customer.refresh_from_db()
    assert customer.consent_email is True


def test_the_page_speaks_the_visitors_language(client, customer):
    _open_page(client, customer)
    page = client.get(reverse("privacy-page-self"), headers={"accept-language": "zh-hans"})
    assert "撤回" in page.content.decode()


def test_the_policy_in_force_is_public(client):
    policy = PrivacyPolicy.objects.create(
        version="2026-1", effective_from="2026-01-01", text="我们如何处理您的个人信息"
    )
    response = client.get(reverse("privacy-policy"))
    assert response.status_code == 200
    assert "我们如何处理" in response.content.decode()
    assert client.get(reverse("privacy-policy-version", args=[policy.pk])).status_code == 200
