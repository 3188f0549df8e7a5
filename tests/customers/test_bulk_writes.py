"""customers/bulk_writes.py: what follows from writing a customer is the same whichever path
wrote it: a form save stores the stage history and consent ledger rows an import row making the
same change stores (apart from where the ledger says the consent came from)."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from privacy.models import ConsentRecord, ConsentSource, PrivacyPolicy
from tests.customers.importfiles import csv_bytes
from tests.customers.test_imports import _import

pytestmark = pytest.mark.django_db

FORM = {"kind": "person", "country": "CN"}
IMPORT_HEADERS = ["姓名", "手机号码", "客户阶段", "同意邮件营销", "同意短信营销"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def policy():
    return PrivacyPolicy.objects.create(
        version="2026-01", effective_from=timezone.localdate() - datetime.timedelta(days=30)
    )


def _history(customer):
    """The customer's stage history and consent ledger, without their ids and times, and
    each ledger entry's source and evidence apart."""
    stages = [
        (change.from_stage, change.to_stage, change.changed_by_id)
        for change in customer.stage_changes.order_by("pk")
    ]
    records = ConsentRecord.objects.filter(customer=customer).order_by("pk")
    ledger = [
        (record.purpose, record.granted, record.policy_id, record.recorded_by_id)
        for record in records
    ]
    return stages, ledger, {(record.source, record.evidence) for record in records}


def _by_form(client, customer=None, **values):
    url = reverse("customers:edit", args=[customer.pk]) if customer else reverse("customers:create")
    response = client.post(url, {**FORM, **values})
    assert response.status_code == 302
    return Customer.objects.get(phone=f"+86{values['phone']}")


def _by_import(actor, *row):
    job = _import(actor, csv_bytes([IMPORT_HEADERS, list(row)]), policy="overwrite")
    assert job.rows_failed == 0
    return job, Customer.objects.get(phone=f"+86{row[1]}")


def test_a_form_save_and_an_import_row_record_the_same_stage_and_consent_rows(
    client, admin_user_role, policy
):
    client.force_login(admin_user_role)
    by_form = _by_form(
        client, name="王丽", phone="13800138000", lifecycle_stage="prospect", consent_email="on"
    )
    job, by_import = _by_import(admin_user_role, "王丽", "13900139000", "prospect", "是", "否")
    created = (
        [("", "prospect", admin_user_role.pk)],
        [("marketing_email", True, policy.pk, admin_user_role.pk)],
    )
    assert _history(by_form) == (*created, {(ConsentSource.STAFF, "")})
    assert _history(by_import) == (*created, {(ConsentSource.IMPORT, f"import #{job.pk}")})

    # The email consent withdrawn, the SMS one given, the stage moved on: by each path.
    _by_form(
        client,
        by_form,
        name="王丽",
        phone="13800138000",
        lifecycle_stage="customer",
        consent_sms="on",
    )
    job, _same = _by_import(admin_user_role, "王丽", "13900139000", "customer", "否", "是")
    changed = (
        [*created[0], ("prospect", "customer", admin_user_role.pk)],
        [
            *created[1],
            ("marketing_email", False, policy.pk, admin_user_role.pk),
            ("marketing_sms", True, policy.pk, admin_user_role.pk),
        ],
    )
    assert _history(by_form)[:2] == changed
    assert _history(by_import)[:2] == changed


def test_an_import_keeps_each_stage_move_of_a_customer_two_rows_change(admin_user_role):
    headers = ["姓名", "手机号码", "客户阶段"]
    _import(admin_user_role, csv_bytes([headers, ["王丽", "13800138000", "lead"]]))
    rows = [["王丽", "13800138000", "prospect"], ["王丽", "13800138000", "customer"]]
    _import(admin_user_role, csv_bytes([headers, *rows]), policy="overwrite")
    customer = Customer.objects.get()
    assert _history(customer)[0] == [
        ("", "lead", admin_user_role.pk),
        ("lead", "prospect", admin_user_role.pk),
        ("prospect", "customer", admin_user_role.pk),
    ]
