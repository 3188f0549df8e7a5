"""Data-subject requests: the queue and its due dates, the identity check before anything is
done, the copy of everything held (through a real worker), correction, consent withdrawal,
restriction, and erasure that leaves no personal value anywhere in the database."""

from __future__ import annotations

import datetime
import io
import json
import os
import shutil
import sqlite3
import subprocess
import time
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from analytics.exports.jobs import EXPORT_JOBS
from analytics.exports.services import start_export
from analytics.models import ExportJob
from crm.celery import app as celery_app
from customers import merge as merging
from customers import services
from customers.models import Customer
from interactions import services as interaction_services
from kernel.jobs.recovery import recover_stalled_jobs
from kernel.models import JobStatus
from privacy import consent, registry
from privacy.models import (
    COPY_LOST_AFTER,
    AuditEvent,
    ConsentPurpose,
    ConsentRecord,
    ConsentSource,
    DataSubjectRequest,
    RequestKind,
    RequestStatus,
    SubjectCopy,
)
from privacy.subjects import copy as subject_copy
from privacy.subjects import services as requests
from privacy.subjects.erasure import anonymise_customers
from privacy.subjects.services import SUBJECT_COPIES
from tests.customers.importfiles import csv_bytes
from tests.customers.test_imports import _import
from tests.factories import CustomerFactory, UserFactory, form_data, import_issue

pytestmark = pytest.mark.django_db

PHONE = "13912345678"
OTHER_PHONE = "13687654321"
EMAIL = "zoltan.quixby@example.org"
ID_NUMBER = "11010519491231002X"
STREET = "幸福路88号3单元"
FAMILY, GIVEN = "Quixby", "Zoltan"
NOTE_TOKEN = "Xylophone-memo-4471"
CONTACT_PHONE = "13755550123"
ORDER_NUMBER = "ORD-ERASE-7731"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _person(actor=None, **extra):
    """A customer with a value in every place personal data can sit."""
    customer = services.create_customer(
        actor=actor,
        name=f"{GIVEN} {FAMILY}",
        family_name=FAMILY,
        given_name=GIVEN,
        phone=PHONE,
        email=EMAIL,
        id_document_kind="cn_resident",
        id_number=ID_NUMBER,
        street=STREET,
        city="杭州",
        province="浙江",
        notes=f"Prefers calls. {NOTE_TOKEN}",
        consent_email=True,
        **extra,
    )
    services.save_contact(
        actor=actor, customer=customer, name="Mira Quixby", phone=CONTACT_PHONE, email=""
    )
    services.add_external_id(actor=actor, customer=customer, system="tmall", external_id="TM-99881")
    interaction_services.record_interaction(
        actor=actor,
        customer=customer,
        kind="complaint",
        subject=f"Call from {FAMILY}",
        body=f"{GIVEN} called from {PHONE} about {NOTE_TOKEN}",
        satisfaction=2,
    )
    interaction_services.record_transaction(
        actor=actor,
        customer=customer,
        occurred_at=timezone.now() - datetime.timedelta(days=10),
        channel="marketplace",
        amount=Decimal("318.00"),
        source_system="tmall",
        external_ref=ORDER_NUMBER,
    )
    interaction_services.schedule_follow_up(
        actor=actor,
        customer=customer,
        title=f"Call {GIVEN} back",
        notes=EMAIL,
        due_at=timezone.now() + datetime.timedelta(days=2),
        assignee=actor or UserFactory(),
    )
    consent.record_consent(
        actor=actor,
        customer=customer,
        purpose=ConsentPurpose.SMS,
        granted=True,
        source=ConsentSource.FORM,
        evidence=f"Web form signed by {FAMILY} from {EMAIL}",
    )
    return customer


def _verified(officer, customer, kind, **extra):
    request = requests.log_request(
        actor=officer, customer=customer, kind=kind, channel="email", details=f"From {EMAIL}"
    )
    return requests.verify_identity(
        actor=officer, request=request, method="email_code", note="code confirmed", **extra
    )


# --- the queue -----------------------------------------------------------------------------


def test_a_request_is_due_after_the_configured_days_and_audited(privacy_user, settings):
    settings.DATA_REQUEST_DUE_DAYS = 30
    received = timezone.now() - datetime.timedelta(days=3)
    request = requests.log_request(
        actor=privacy_user,
        customer=CustomerFactory(),
        kind=RequestKind.ACCESS,
        channel="letter",
        received_at=received,
    )
    assert request.due_on == timezone.localdate(received) + datetime.timedelta(days=30)
    assert request.status == RequestStatus.RECEIVED
    assert AuditEvent.objects.filter(
        action="subject_request.create", target_id=str(request.pk)
    ).exists()


def test_the_default_due_date_is_fifteen_days(privacy_user):
    request = requests.log_request(
        actor=privacy_user, customer=CustomerFactory(), kind="erasure", channel="phone"
    )
    assert request.due_on == timezone.localdate() + datetime.timedelta(days=15)


def test_nothing_is_done_before_the_identity_is_verified(privacy_user):
    customer = _person()
    request = requests.log_request(
        actor=privacy_user, customer=customer, kind=RequestKind.ERASURE, channel="email"
    )
    with pytest.raises(ValidationError, match="Verify the person"):
        requests.erase_for_request(actor=privacy_user, request=request, resolution="Done")
    customer.refresh_from_db()
    assert customer.phone.endswith(PHONE)
    assert customer.erased_at is None


def test_staff_without_the_permission_cannot_log_or_act(sales_user, privacy_user):
    customer = CustomerFactory()
    with pytest.raises(PermissionDenied):
        requests.log_request(actor=sales_user, customer=customer, kind="access", channel="email")
    request = requests.log_request(
        actor=privacy_user, customer=customer, kind="access", channel="email"
    )
    with pytest.raises(PermissionDenied):
        requests.verify_identity(actor=sales_user, request=request, method="document")


@pytest.mark.parametrize("role", ["sales_user", "analyst_user", "service_user"])
def test_the_queue_is_closed_to_other_roles(client, request, role):
    client.force_login(request.getfixturevalue(role))
    assert client.get("/privacy/requests/").status_code == 403
    assert client.get("/privacy/requests/new/").status_code == 403


def test_the_officer_logs_a_request_from_a_search_without_personal_data_in_urls(
    client, privacy_user
):
    customer = _person()
    client.force_login(privacy_user)
    found = client.post("/privacy/requests/new/", {"query": PHONE})
    assert found.status_code == 200
    assert list(found.context["matches"]) == [customer]
    response = client.post(
        f"/privacy/requests/new/{customer.pk}/",
        {
            "kind": "access",
            "channel": "email",
            "received_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "details": "Please send me everything you hold.",
        },
    )
    request = DataSubjectRequest.objects.get()
    assert response["Location"] == f"/privacy/requests/{request.pk}/"
    page = client.get("/privacy/requests/").content.decode()
    assert "Access and copy" in page
    assert "15 days left" in page


def test_an_overdue_request_is_flagged_in_the_queue(client, privacy_user):
    requests.log_request(
        actor=privacy_user,
        customer=CustomerFactory(),
        kind="correction",
        channel="email",
        received_at=timezone.now() - datetime.timedelta(days=20),
    )
    client.force_login(privacy_user)
    page = client.get("/privacy/requests/")
    assert page.context["overdue"] == 1
    assert "overdue" in page.content.decode()


def test_a_rejection_needs_the_reason_given(privacy_user):
    request = requests.log_request(
        actor=privacy_user, customer=CustomerFactory(), kind="erasure", channel="phone"
    )
    with pytest.raises(ValidationError):
        requests.reject_request(actor=privacy_user, request=request, reason=" ")
    request = requests.reject_request(
        actor=privacy_user, request=request, reason="Identity could not be confirmed."
    )
    assert request.status == RequestStatus.REJECTED
    assert request.closed_at


# --- access and copy -------------------------------------------------------------------------


def _linked_models():
    """Every table holding rows about a customer: models with a key to it, and the tables
    behind many-to-many relations (a segment's members)."""
    return {
        (relation.through if relation.many_to_many else relation.related_model)._meta.label
        for relation in Customer._meta.related_objects
        if relation.related_model is not Customer
    }


def test_every_table_linked_to_a_customer_is_in_the_copy_or_named_as_left_out():
    copied = {section.model._meta.label for section in registry.COPY_SECTIONS}
    through = {
        "customers.Customer_tags",
        "customers.CustomerMerge_merged",
        "analytics.SegmentMember",
    }
    missing = _linked_models() - copied - set(registry.NOT_COPIED) - through
    assert missing == set()


def _read_zip(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name).decode("utf-8-sig") for name in archive.namelist()}


def test_the_copy_holds_every_record_as_json_and_csv(privacy_user, service_user, tmp_path):
    customer = _person(actor=service_user)
    duplicate = services.create_customer(actor=service_user, name="Z. Quixby", phone=OTHER_PHONE)
    merging.merge_customers(actor=service_user, survivor=customer, others=[duplicate])
    services.reveal_id_number(actor=privacy_user, customer=customer)
    request = _verified(privacy_user, customer, RequestKind.ACCESS)
    path = tmp_path / "copy.zip"
    counts = subject_copy.write_copy(customer, path, request=request)
    files = _read_zip(path)
    for section in registry.COPY_SECTIONS:
        assert f"json/{section.name}.json" in files
        assert f"csv/{section.name}.csv" in files
    profile = json.loads(files["json/profile.json"])
    assert {row["id"] for row in profile} == {customer.pk, duplicate.pk}
    assert f"+86{OTHER_PHONE}" in {row["phone"] for row in profile}
    person = next(row for row in profile if row["id"] == customer.pk)
    assert person["id_number"] == ID_NUMBER  # the person's own number, whole
    assert json.loads(files["json/interactions.json"])[0]["body"].endswith(NOTE_TOKEN)
    assert json.loads(files["json/transactions.json"])[0]["external_ref"] == ORDER_NUMBER
    assert json.loads(files["json/contacts.json"])[0]["name"] == "Mira Quixby"
    assert {row["purpose"] for row in json.loads(files["json/consents.json"])} >= {
        "Marketing by email",
        "Marketing by SMS",
    }
    access = json.loads(files["json/access_log.json"])
    assert {"customer.reveal_id", "customer.merge"} <= {row["action"] for row in access}
    assert privacy_user.username in {row["actor_label"] for row in access}
    assert counts["follow_ups"] == 1
    assert counts["external_ids"] == 1
    assert "Mira Quixby" in files["csv/contacts.csv"]
    assert "README.txt" in files


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_the_officer_gets_the_copy_through_the_worker_and_the_download_is_audited(
    client, privacy_user
):
    customer = _person()
    request = _verified(privacy_user, customer, RequestKind.ACCESS)
    client.force_login(privacy_user)
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        assert client.post(f"/privacy/requests/{request.pk}/copy/").status_code == 302
        copy = SubjectCopy.objects.get(request=request)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            copy.refresh_from_db()
            if not copy.is_active:
                break
            time.sleep(0.2)
    assert copy.status == JobStatus.DONE, copy.failure
    assert copy.counts["profile"] == 1
    page = client.get(f"/privacy/requests/{request.pk}/").content.decode()
    assert "Copy prepared" in page
    response = client.get(f"/privacy/requests/{request.pk}/copy/download/")
    files = _read_zip(io.BytesIO(b"".join(response.streaming_content)))
    assert ID_NUMBER in files["json/profile.json"]
    assert AuditEvent.objects.filter(
        action="subject_request.copy_download", actor=privacy_user
    ).exists()
    with pytest.raises(ValidationError):
        requests.complete_request(actor=privacy_user, request=request, resolution=" ")
    requests.complete_request(actor=privacy_user, request=request, resolution="Sent by email.")


def test_a_copy_whose_worker_stopped_can_be_asked_for_again(
    client, privacy_user, django_capture_on_commit_callbacks
):
    """A copy never taken up by a worker is given up after COPY_LOST_AFTER: the page says so
    and offers to prepare it again, instead of spinning for ever and refusing a new request."""
    request = _verified(privacy_user, CustomerFactory(), RequestKind.ACCESS)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        first = requests.request_copy(actor=privacy_user, request=request)
        assert requests.request_copy(actor=privacy_user, request=request) == first
    assert len(queued) == 1  # asked twice while being prepared: queued once
    lost_at = first.created_at - COPY_LOST_AFTER - datetime.timedelta(seconds=1)
    SubjectCopy.objects.filter(pk=first.pk).update(created_at=lost_at)
    client.force_login(privacy_user)
    page = client.get(f"/privacy/requests/{request.pk}/").content.decode()
    assert "the worker preparing it stopped" in page
    assert f'action="/privacy/requests/{request.pk}/copy/"' in page
    first.refresh_from_db()
    assert first.status == JobStatus.FAILED
    with django_capture_on_commit_callbacks(execute=False) as queued:
        client.post(f"/privacy/requests/{request.pk}/copy/")
    assert len(queued) == 1
    second = SubjectCopy.objects.exclude(pk=first.pk).get(request=request)
    SUBJECT_COPIES.run(second.pk)
    second.refresh_from_db()
    assert second.status == JobStatus.DONE
    assert second.file
    assert AuditEvent.objects.filter(action="subject_copy.failed", target_id=str(first.pk)).exists()
    assert AuditEvent.objects.filter(action="subject_copy.done", target_id=str(second.pk)).exists()


def test_an_access_request_cannot_close_without_its_copy(privacy_user):
    request = _verified(privacy_user, CustomerFactory(), RequestKind.ACCESS)
    with pytest.raises(ValidationError, match="Prepare the copy"):
        requests.complete_request(actor=privacy_user, request=request, resolution="Sent.")


def test_a_new_copy_replaces_the_file_of_the_older_one(
    privacy_user, django_capture_on_commit_callbacks
):
    request = _verified(privacy_user, CustomerFactory(), RequestKind.ACCESS)
    files = []
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            copy = requests.request_copy(actor=privacy_user, request=request)
            SUBJECT_COPIES.run(copy.pk)
        copy.refresh_from_db()
        files.append(copy.file.path)
    assert not os.path.exists(files[0])
    assert os.path.exists(files[1])
    assert list(SubjectCopy.objects.filter(request=request).exclude(file="")) == [copy]


def test_copies_are_deleted_after_the_retention_days(privacy_user, settings):
    request = _verified(privacy_user, CustomerFactory(), RequestKind.ACCESS)
    copy = requests.request_copy(actor=privacy_user, request=request)
    SUBJECT_COPIES.run(copy.pk)
    copy.refresh_from_db()
    path = copy.file.path
    later = timezone.now() + datetime.timedelta(days=settings.EXPORT_RETENTION_DAYS + 1)
    assert requests.delete_expired_copies(now=later) == 1
    copy.refresh_from_db()
    assert not copy.file
    assert not os.path.exists(path)


# --- correction, withdrawal, restriction ----------------------------------------------------


def test_a_correction_from_a_form_older_than_a_colleagues_save_is_refused(
    client, privacy_user, service_user
):
    customer = _person()
    correction = _verified(privacy_user, customer, RequestKind.CORRECTION)
    client.force_login(privacy_user)
    url = f"/privacy/requests/{correction.pk}/correct/"
    officer_form = client.get(url).context["form"]
    customer.refresh_from_db()  # its consents were recorded after it was created
    services.update_customer(
        actor=service_user,
        customer=customer,
        expected_version=customer.version,
        notes="Call after 6 pm",
    )
    refused = client.post(url, form_data(officer_form, city="宁波"))
    assert refused.status_code == 200
    assert refused.context["form"].conflict is not None
    assert service_user.username in refused.content.decode()
    assert Customer.objects.get(pk=customer.pk).city == "杭州市"
    assert client.post(url, form_data(refused.context["form"])).status_code == 302
    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.notes, stored.city) == ("Call after 6 pm", "宁波市")


def test_a_correction_goes_through_the_services_even_while_restricted(client, privacy_user):
    customer = _person()
    restriction = _verified(privacy_user, customer, RequestKind.RESTRICTION)
    requests.restrict_processing(
        actor=privacy_user,
        request=restriction,
        reason="Accuracy contested",
        resolution="Restricted while we check.",
    )
    correction = _verified(privacy_user, customer, RequestKind.CORRECTION)
    client.force_login(privacy_user)
    form = client.get(f"/privacy/requests/{correction.pk}/correct/")
    assert form.status_code == 200
    data = {
        name: value
        for name, value in form.context["form"].initial.items()
        if value not in (None, False) and name not in ("tags", "owner")
    }
    data.update(kind="person", name=f"{GIVEN} {FAMILY}", city="宁波", phone=OTHER_PHONE)
    response = client.post(f"/privacy/requests/{correction.pk}/correct/", data)
    assert response.status_code == 302, response.context["form"].errors
    customer.refresh_from_db()
    assert customer.city == "宁波市"  # the official form (customers/places.py)
    assert customer.phone.endswith(OTHER_PHONE)
    assert AuditEvent.objects.filter(action="customer.update", target_id=str(customer.pk)).exists()
    # Outside a correction, a restricted customer is not changed.
    with pytest.raises(ValidationError, match="restricted"):
        services.update_customer(actor=privacy_user, customer=customer, city="温州")


def test_withdrawing_consent_records_it_in_the_ledger(privacy_user):
    customer = _person()
    request = _verified(privacy_user, customer, RequestKind.WITHDRAW_CONSENT)
    requests.withdraw_consents(
        actor=privacy_user,
        request=request,
        purposes=["marketing_email", "marketing_sms"],
        resolution="No more marketing.",
    )
    customer.refresh_from_db()
    assert not customer.consent_email
    assert not customer.consent_sms
    latest = ConsentRecord.objects.filter(customer=customer, purpose="marketing_email").first()
    assert latest.granted is False
    assert f"#{request.pk}" in latest.evidence
    request.refresh_from_db()
    assert request.status == RequestStatus.COMPLETED


def test_a_restricted_customer_leaves_lists_and_cannot_be_merged(privacy_user, admin_user_role):
    customer = _person()
    other = CustomerFactory(phone=OTHER_PHONE)
    request = _verified(privacy_user, customer, RequestKind.ERASURE)
    requests.restrict_processing(
        actor=privacy_user,
        request=request,
        reason="Invoices kept 10 years (accounting law)",
        resolution="We must keep invoices; processing is restricted instead.",
    )
    customer.refresh_from_db()
    assert customer.is_restricted
    assert customer.phone.endswith(PHONE)
    assert customer not in consent.usable_for_list(Customer.objects.all(), "")
    job = start_export(
        actor=admin_user_role, params={}, columns=["name"], format="csv", queue=False
    )
    EXPORT_JOBS.run(job.pk)
    assert ExportJob.objects.get(pk=job.pk).rows_done == Customer.objects.count() - 1
    with pytest.raises(ValidationError, match="restricted"):
        merging.merge_customers(actor=admin_user_role, survivor=other, others=[customer])
    requests.lift_restriction(actor=privacy_user, customer=customer)
    assert not Customer.objects.get(pk=customer.pk).is_restricted
    assert AuditEvent.objects.filter(action="customer.restriction_lifted").exists()


# --- erasure -------------------------------------------------------------------------------


def _database_dump() -> str:
    """Every row of every table, as the database's own dump tool writes it."""
    settings_dict = connection.settings_dict
    if connection.vendor == "postgresql":
        return subprocess.run(
            [
                shutil.which("pg_dump"),
                "--data-only",
                "--host",
                settings_dict["HOST"] or "127.0.0.1",
                "--port",
                str(settings_dict["PORT"] or 5432),
                "--username",
                settings_dict["USER"],
                settings_dict["NAME"],
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    with sqlite3.connect(settings_dict["NAME"]) as dump_connection:
        dump = "\n".join(dump_connection.iterdump())
        # And the file itself: with secure_delete, no erased value lingers in free space.
        dump_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = Path(settings_dict["NAME"]).read_bytes().decode("utf-8", errors="replace")
    return dump + raw


@pytest.mark.django_db(transaction=True)
def test_erasure_leaves_no_personal_value_anywhere_in_the_database(privacy_user, service_user):
    customer = _person(actor=service_user)
    duplicate = services.create_customer(
        actor=service_user, name=f"{GIVEN} Q.", phone=OTHER_PHONE, email=EMAIL.upper()
    )
    merging.merge_customers(actor=service_user, survivor=customer, others=[duplicate])
    services.update_customer(actor=service_user, customer=customer, street=STREET + "甲")
    customer.refresh_from_db()
    secrets = [customer.id_number_encrypted, customer.id_number_blind_index]
    import_issue(customer.phone, created_by=service_user)
    before = _database_dump()
    seeded = [
        PHONE,
        OTHER_PHONE,
        EMAIL,
        ID_NUMBER,
        STREET,
        FAMILY,
        GIVEN,
        NOTE_TOKEN,
        CONTACT_PHONE,
        ORDER_NUMBER,
        "TM-99881",
        *secrets,
    ]
    assert all(value in before for value in seeded if value != ID_NUMBER)

    request = _verified(privacy_user, customer, RequestKind.ERASURE)
    counts = requests.erase_for_request(
        actor=privacy_user, request=request, resolution="Your data was erased."
    )

    dump = _database_dump()
    found = [value for value in seeded if value.lower() in dump.lower()]
    assert found == []
    assert counts["customers"] == 2
    customer.refresh_from_db()
    assert customer.name == f"#{customer.pk}"
    assert customer.is_erased
    assert customer.is_archived
    # The figures stay.
    assert customer.transactions.get().amount == Decimal("318.00")
    assert customer.interactions.get().satisfaction == 2
    assert customer.country == "CN"
    assert AuditEvent.objects.filter(
        action="customer.erase.request", target_id=str(customer.pk), actor=privacy_user
    ).exists()
    with pytest.raises(ValidationError, match="erased"):
        services.update_customer(actor=service_user, customer=customer, name="Back again")
    with pytest.raises(ValidationError, match="erased"):
        interaction_services.record_interaction(actor=service_user, customer=customer, kind="call")


def test_erasing_twice_changes_nothing_more(privacy_user):
    customer = _person()
    request = _verified(privacy_user, customer, RequestKind.ERASURE)
    requests.erase_for_request(actor=privacy_user, request=request, resolution="Erased.")
    assert (
        anonymise_customers([customer.pk], actor=privacy_user, reason="request", evidence="") == {}
    )


def test_the_officer_answers_an_erasure_in_the_browser_flow(client, privacy_user):
    customer = _person()
    client.force_login(privacy_user)
    response = client.post(
        f"/privacy/requests/new/{customer.pk}/",
        {"kind": "erasure", "channel": "email", "received_at": "", "details": "Delete me"},
    )
    assert response.status_code == 200  # the received time is required
    response = client.post(
        f"/privacy/requests/new/{customer.pk}/",
        {
            "kind": "erasure",
            "channel": "email",
            "received_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "details": "Delete me",
        },
    )
    request = DataSubjectRequest.objects.get()
    detail = f"/privacy/requests/{request.pk}/"
    client.post(f"{detail}verify/", {"method": "phone_code", "note": "code matched"})
    page = client.get(detail)
    assert "erase_form" in page.context
    assert page.context["erasure_reach"]["transactions"] == 1
    # Without the confirmation box nothing happens.
    client.post(f"{detail}erase/", {"erase-resolution": "Erased."})
    assert not Customer.objects.get(pk=customer.pk).is_erased
    client.post(f"{detail}erase/", {"erase-resolution": "Erased.", "erase-confirm": "on"})
    assert Customer.objects.get(pk=customer.pk).is_erased
    request.refresh_from_db()
    assert request.status == RequestStatus.COMPLETED
    assert request.details == ""
    assert "was erased" in client.get(f"/customers/{customer.pk}/").content.decode()


def test_the_erase_card_shows_how_many_purchases_and_interactions_stay_anonymous(
    client, privacy_user, service_user
):
    customer = _person()
    duplicate = CustomerFactory(name=f"{GIVEN} Q.")
    interaction_services.record_interaction(actor=None, customer=duplicate, kind="call")
    merging.merge_customers(actor=service_user, survivor=customer, others=[duplicate])
    request = _verified(privacy_user, customer, RequestKind.ERASURE)
    client.force_login(privacy_user)
    page = client.get(f"/privacy/requests/{request.pk}/").content.decode()
    # Counted over the customer and the record merged into it (the registry's reach).
    assert "Purchases (1) and interactions (2) stay as anonymous figures." in page


def test_an_import_leaves_a_restricted_customer_as_it_is(admin_user_role, privacy_user):
    customer = _person()
    request = _verified(privacy_user, customer, RequestKind.RESTRICTION)
    requests.restrict_processing(
        actor=privacy_user, request=request, reason="Contested", resolution="Restricted."
    )
    job = _import(
        admin_user_role,
        csv_bytes([["姓名", "手机", "城市"], [f"{GIVEN} {FAMILY}", PHONE, "温州"]]),
        policy="overwrite",
    )
    assert (job.rows_updated, job.rows_unchanged) == (0, 1)
    assert "restricted" in job.issues.get().message
    customer.refresh_from_db()
    assert customer.city == "杭州市"


def test_the_officers_home_page_counts_open_and_overdue_requests(client, privacy_user, sales_user):
    for days_ago in (20, 13, 0):
        requests.log_request(
            actor=privacy_user,
            customer=CustomerFactory(),
            kind="access",
            channel="email",
            received_at=timezone.now() - datetime.timedelta(days=days_ago),
        )
    client.force_login(privacy_user)
    page = client.get("/")
    assert page.context["requests"] == {"open": 3, "overdue": 1, "due_soon": 1}
    banner = " ".join(page.content.decode().split())
    assert "3 data-subject requests are open" in banner
    assert "1 overdue" in banner
    assert "1 due within 3 days" in banner
    client.force_login(sales_user)
    assert "requests" not in client.get("/").context


@pytest.mark.django_db(transaction=True)
def test_copies_kept_on_requests_before_the_runner_become_jobs(privacy_user, migrate_to):
    """privacy/migrations/0011 and 0012: a prepared copy stays downloadable, a failed one keeps its
    reason, and one still waiting is given up by recovery so that it may be asked for again."""
    customer = CustomerFactory()
    old = migrate_to([("privacy", "0010_retention_runs_as_jobs")])
    requests_then = old.get_model("privacy", "DataSubjectRequest").objects
    asked = timezone.now() - datetime.timedelta(days=2)
    made = {
        outcome: requests_then.create(
            kind="access",
            customer_id=customer.pk,
            channel="email",
            due_on=timezone.localdate(),
            status="verified",
            copy_requested_at=asked,
            **fields,
        ).pk
        for outcome, fields in {
            "done": {"copy_prepared_at": asked, "copy_file": "subject-copies/1-aa.zip"},
            "failed": {"copy_failure": "The copy could not be prepared."},
            "waiting": {},
        }.items()
    }
    migrate_to([("privacy", "0012_request_copy_fields_removed")])

    copies = {outcome: SubjectCopy.objects.get(request_id=pk) for outcome, pk in made.items()}
    assert copies["done"].status == JobStatus.DONE
    assert copies["done"].file.name == "subject-copies/1-aa.zip"
    assert copies["done"].finished_at == asked
    assert (copies["failed"].status, copies["failed"].failure) == (
        JobStatus.FAILED,
        "The copy could not be prepared.",
    )
    assert copies["waiting"].status == JobStatus.QUEUED
    assert recover_stalled_jobs().failed == 1
    copies["waiting"].refresh_from_db()
    assert copies["waiting"].status == JobStatus.FAILED
    assert "Prepare it again" in copies["waiting"].failure
