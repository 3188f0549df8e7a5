"""The consent ledger: every way a consent changes (on its own, a profile edit, a new
customer, an import, a merge and its undo) adds an entry and keeps the current status; the
policy version in force is noted; staff record consents with evidence on the customer page."""

from __future__ import annotations

import datetime
import json

import pytest
import tablib
from django.utils import timezone

from analytics.exports.jobs import EXPORT_JOBS
from analytics.models import ExportJob
from analytics.segments.refresh import refresh_segment
from analytics.segments.selectors import members_visible_to
from analytics.segments.services import add_members, save_segment
from customers import merge as merging
from customers import services
from customers.models import Customer
from customers.resources import CustomerResource
from privacy import consent
from privacy.models import AuditEvent, ConsentPurpose, ConsentRecord, ConsentSource, PrivacyPolicy
from tests.customers.importfiles import csv_bytes
from tests.customers.test_imports import _import
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def policies():
    today = timezone.localdate()
    return {
        "old": PrivacyPolicy.objects.create(
            version="2025-01", effective_from=today - datetime.timedelta(days=400)
        ),
        "current": PrivacyPolicy.objects.create(
            version="2026-06", effective_from=today - datetime.timedelta(days=30)
        ),
        "next": PrivacyPolicy.objects.create(
            version="2027-01", effective_from=today + datetime.timedelta(days=30)
        ),
    }


def _ledger(customer):
    return [
        (record.purpose, record.granted, record.source)
        for record in ConsentRecord.objects.filter(customer=customer).order_by("pk")
    ]


def test_a_consent_given_and_withdrawn_is_in_the_ledger_and_the_status(policies, service_user):
    customer = CustomerFactory()
    record = consent.record_consent(
        actor=service_user,
        customer=customer,
        purpose=ConsentPurpose.SENSITIVE,
        granted=True,
        source=ConsentSource.STAFF,
        evidence="  Signed form, store 12  ",
    )
    assert (record.policy, record.evidence, record.recorded_by) == (
        policies["current"],
        "Signed form, store 12",
        service_user,
    )
    assert Customer.objects.get(pk=customer.pk).consent_sensitive is True
    consent.record_consent(
        actor=service_user,
        customer=customer,
        purpose=ConsentPurpose.SENSITIVE,
        granted=False,
        source=ConsentSource.STAFF,
    )
    assert Customer.objects.get(pk=customer.pk).consent_sensitive is False
    assert _ledger(customer) == [
        ("sensitive_data", True, "staff"),
        ("sensitive_data", False, "staff"),
    ]
    events = AuditEvent.objects.filter(target_id=str(customer.pk), action__startswith="consent.")
    assert [event.action for event in events.order_by("pk")] == [
        "consent.grant",
        "consent.withdraw",
    ]
    assert "Signed form" not in str([event.changes for event in events])


def test_profile_writes_add_what_they_change_to_the_ledger(policies, sales_user):
    customer = services.create_customer(actor=sales_user, name="王丽娟", consent_sms=True)
    assert _ledger(customer) == [("marketing_sms", True, "staff")]
    services.update_customer(
        actor=sales_user, customer=customer, consent_sms=False, consent_email=True, city="上海"
    )
    services.update_customer(actor=sales_user, customer=customer, city="北京")  # no consent
    assert _ledger(customer) == [
        ("marketing_sms", True, "staff"),
        ("marketing_email", True, "staff"),
        ("marketing_sms", False, "staff"),
    ]
    assert {record.policy for record in ConsentRecord.objects.filter(customer=customer)} == {
        policies["current"]
    }


def test_an_import_records_the_consents_it_gives_or_changes(admin_user_role):
    known = CustomerFactory(name="王", phone="13800138000", consent_email=False)
    rows = [
        ["姓名", "手机", "同意邮件营销", "同意短信营销"],
        ["王", "13800138000", "是", "否"],
        ["李雷", "13900139000", "是", "是"],
    ]
    job = _import(admin_user_role, csv_bytes(rows), policy="overwrite")
    assert _ledger(known) == [("marketing_email", True, "import")]
    new = Customer.objects.get(phone="+8613900139000")
    assert sorted(_ledger(new)) == [
        ("marketing_email", True, "import"),
        ("marketing_sms", True, "import"),
    ]
    assert ConsentRecord.objects.filter(customer=new).first().evidence == f"import #{job.pk}"
    # The same file again changes nothing, so adds nothing.
    _import(admin_user_role, csv_bytes(rows), policy="overwrite")
    assert ConsentRecord.objects.count() == 3


def test_a_merge_keeps_a_consent_only_where_every_record_gave_it_and_undo_restores(
    service_user,
):
    survivor = CustomerFactory(consent_email=True)
    other = CustomerFactory(consent_email=True)
    consent.record_consent(
        actor=service_user,
        customer=survivor,
        purpose=ConsentPurpose.PROFILING,
        granted=True,
        source=ConsentSource.FORM,
        evidence="Web form",
    )
    record = merging.merge_customers(actor=service_user, survivor=survivor, others=[other])
    survivor.refresh_from_db()
    assert (survivor.consent_email, survivor.consent_profiling) == (True, False)
    assert _ledger(survivor)[-1] == ("profiling", False, "staff")
    merging.undo_merge(actor=service_user, merge=record)
    survivor.refresh_from_db()
    assert survivor.consent_profiling is True
    assert _ledger(survivor)[-2:] == [("profiling", False, "staff"), ("profiling", True, "staff")]


def test_staff_record_a_consent_with_evidence_on_the_customer_page(client, privacy_user):
    customer = CustomerFactory()
    client.force_login(privacy_user)
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert 'id="consent"' in page
    assert "Record a consent given or withdrawn" in page
    url = f"/customers/{customer.pk}/consent/"
    refused = client.post(url, {"purpose": "profiling", "decision": "grant"}, follow=True)
    assert "Say how the customer gave this consent." in refused.content.decode()
    assert not ConsentRecord.objects.exists()
    client.post(url, {"purpose": "profiling", "decision": "grant", "evidence": "Web form"})
    client.post(url, {"purpose": "marketing_email", "decision": "withdraw"})
    assert _ledger(customer) == [
        ("profiling", True, "staff"),
        ("marketing_email", False, "staff"),
    ]
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert "Web form" in page


def test_recording_consent_needs_the_permission_and_a_customer_in_scope(
    client, analyst_user, sales_user, other_sales_user
):
    theirs = CustomerFactory(owner=other_sales_user)
    mine = CustomerFactory(owner=sales_user)
    grant = {"purpose": "profiling", "decision": "grant", "evidence": "Web form"}
    client.force_login(analyst_user)
    assert client.post(f"/customers/{mine.pk}/consent/", grant).status_code == 403
    client.force_login(sales_user)
    assert client.post(f"/customers/{theirs.pk}/consent/", grant).status_code == 404
    assert client.post(f"/customers/{mine.pk}/consent/", grant).status_code == 302
    assert [record.customer_id for record in ConsentRecord.objects.all()] == [mine.pk]


def test_an_admin_import_records_its_consents_as_an_import(admin_user_role):
    data = tablib.Dataset(headers=["id", "name", "consent_email"])
    data.append(["", "王丽娟", "1"])
    CustomerResource(actor=admin_user_role).import_data(data, dry_run=False)
    assert _ledger(Customer.objects.get()) == [("marketing_email", True, "import")]


def test_a_marketing_export_leaves_out_customers_without_that_consent(
    client, privacy_user, django_capture_on_commit_callbacks
):
    CustomerFactory(name="Yes", consent_sms=True)
    CustomerFactory(name="No", consent_sms=False, consent_email=True)
    client.force_login(privacy_user)
    for channel in ("marketing_sms", ""):
        with django_capture_on_commit_callbacks():
            client.post(
                "/exports/new/",
                {"columns": ["name"], "format": "csv", "marketing_channel": channel},
            )
    sms, everyone = ExportJob.objects.order_by("pk")
    assert sms.marketing_channel == "marketing_sms"
    for job, names in ((sms, ["Yes"]), (everyone, ["No", "Yes"])):
        EXPORT_JOBS.run(job.pk)
        job.refresh_from_db()
        with job.file.open("rb") as handle:
            assert sorted(handle.read().decode("utf-8-sig").splitlines()[1:]) == names
    started = AuditEvent.objects.filter(action="export.start", target_id=str(sms.pk)).get()
    assert started.changes["marketing_channel"] == "marketing_sms"
    refused = client.post(
        "/exports/new/", {"columns": ["name"], "format": "csv", "marketing_channel": "profiling"}
    )
    assert refused.status_code == 400


def test_a_marketing_segment_holds_only_customers_who_consented(client, analyst_user):
    CustomerFactory(name="Yes", city="上海", consent_email=True)
    CustomerFactory(name="No", city="上海", consent_email=False)
    rules = {"match": "all", "rules": [{"field": "city", "operator": "is", "value": "上海"}]}
    client.force_login(analyst_user)
    count = client.post(
        "/segments/count/", {"rules": json.dumps(rules), "marketing_channel": "marketing_email"}
    )
    assert 'data-count="1"' in count.content.decode()
    segment = refresh_segment(
        save_segment(
            actor=analyst_user, name="Mail", rules=rules, marketing_channel="marketing_email"
        )
    )
    assert list(segment.members.values_list("name", flat=True)) == ["Yes"]
    listed = save_segment(
        actor=analyst_user, name="Texts", kind="static", marketing_channel="marketing_email"
    )
    add_members(actor=analyst_user, segment=listed, customers=Customer.objects.all())
    assert list(listed.members.values_list("name", flat=True)) == ["Yes"]
    page = client.get(f"/exports/new/?segment={segment.pk}").content.decode()
    assert '<option value="marketing_email" selected>' in page
    # A withdrawal counts at once, before the segment's next refresh.
    consent.record_consent(
        actor=analyst_user,
        customer=Customer.objects.get(name="Yes"),
        purpose=ConsentPurpose.EMAIL,
        granted=False,
        source=ConsentSource.STAFF,
    )
    assert not members_visible_to(segment, analyst_user).exists()
    listed_page = client.get(f"/customers/?segment={segment.pk}")
    assert list(listed_page.context["customers"]) == []
