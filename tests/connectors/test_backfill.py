"""Loading a shop's own bulk export: Shopify's bulk-operation JSONL and WooCommerce's REST JSON
arrays, through the webhooks' apply code, once per file, in batches that a new run goes on
after."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from connectors.backfill import BACKFILLS, start_backfill
from connectors.models import Backfill
from customers.models import Customer, ExternalId
from interactions.models import Transaction, TransactionStatus
from kernel.models import JobStatus
from privacy.models import AuditEvent
from tests.connectors.conftest import apply_received, fixture, payload, post_shopify

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _load(connector, actor, name: str, content: bytes | None = None) -> Backfill:
    upload = SimpleUploadedFile(name.rsplit("/", 1)[-1], content or fixture(name))
    job = start_backfill(actor=actor, connector=connector, upload=upload)
    return BACKFILLS.run_here(job)


def test_shopify_bulk_exports_of_customers_then_orders_are_loaded(
    shopify, admin_user_role, django_capture_on_commit_callbacks
):
    customers = _load(shopify, admin_user_role, "shopify/bulk_customers.jsonl")
    assert (customers.status, customers.rows_total, customers.rows_done) == (JobStatus.DONE, 3, 3)
    assert (customers.objects_applied, customers.objects_failed) == (3, 0)
    assert set(Customer.objects.values_list("name", flat=True)) == {
        "王丽娟",
        "Anna Schmidt",
        "张伟",
    }
    assert Customer.objects.get(name="张伟").consent_sms is True

    with django_capture_on_commit_callbacks(execute=True):
        orders = _load(shopify, admin_user_role, "shopify/bulk_orders.jsonl")
    assert (orders.status, orders.rows_total) == (JobStatus.DONE, 3)
    # #1004 is not paid yet: its customer is there already, nothing else to write.
    assert (orders.objects_applied, orders.objects_skipped, orders.objects_failed) == (2, 1, 0)
    partly_refunded = Transaction.objects.get(external_ref="1002")
    assert (partly_refunded.amount, partly_refunded.status) == (Decimal("200.00"), "paid")
    assert partly_refunded.customer.name == "张伟"
    assert partly_refunded.lines.count() == 2
    guest = Transaction.objects.get(external_ref="1003").customer
    assert (guest.name, guest.phone) == ("陈芳", "+8615800158000")
    assert not ExternalId.objects.filter(customer=guest).exists()
    assert not Transaction.objects.filter(external_ref="1004").exists()
    done = AuditEvent.objects.filter(action="connector_backfill.done").order_by("sequence").last()
    assert done.changes["applied"] == 2
    # The export is deleted once loaded.
    assert not Path(Backfill.objects.get(pk=orders.pk).file.path).exists()


def test_an_export_older_than_the_webhooks_since_changes_nothing(
    shopify, admin_user_role, live_server
):
    post_shopify(
        live_server.url, shopify, "customers/update", payload("shopify/customers_update.json")
    )
    apply_received(shopify)
    job = _load(shopify, admin_user_role, "shopify/bulk_customers.jsonl")
    assert (job.objects_applied, job.objects_skipped) == (2, 1)
    assert Customer.objects.get(external_ids__external_id="7039851250000").phone == "+8613900139000"


def test_woocommerce_rest_arrays_of_customers_and_orders_are_loaded(woo, admin_user_role):
    customers = _load(woo, admin_user_role, "woocommerce/customers.json")
    assert (customers.status, customers.objects_applied) == (JobStatus.DONE, 2)
    orders = _load(woo, admin_user_role, "woocommerce/orders.json")
    assert (orders.objects_applied, orders.objects_skipped, orders.objects_failed) == (2, 1, 0)
    registered = Transaction.objects.get(external_ref="728")
    assert registered.customer.name == "赵静"
    guest_order = Transaction.objects.get(external_ref="729")
    assert (guest_order.amount, guest_order.status) == (Decimal("300.00"), TransactionStatus.PAID)
    assert guest_order.customer.name == "孙强"
    assert Customer.objects.count() == 3


def test_a_file_is_loaded_once_per_shop(shopify, admin_user_role):
    _load(shopify, admin_user_role, "shopify/bulk_customers.jsonl")
    with pytest.raises(ValidationError) as refused:
        _load(shopify, admin_user_role, "shopify/bulk_customers.jsonl")
    assert refused.value.message_dict == {"file": ["This file was loaded for this shop already."]}
    assert Backfill.objects.count() == 1


def test_unreadable_objects_are_counted_and_named_without_stopping_the_others(
    shopify, woo, admin_user_role
):
    lines = fixture("shopify/bulk_customers.jsonl").splitlines()
    broken = b"\n".join([lines[0], b"{not json", lines[1]]) + b"\n"
    job = _load(shopify, admin_user_role, "mixed.jsonl", broken)
    assert (job.status, job.objects_applied, job.objects_failed) == (JobStatus.DONE, 2, 1)
    assert job.problems == [["line 2", "This line is not JSON."]]

    not_an_array = _load(
        woo, admin_user_role, "customer.json", fixture("woocommerce/customer_created.json")
    )
    assert not_an_array.status == JobStatus.FAILED
    assert "JSON array" in not_an_array.failure


def test_a_run_taken_over_goes_on_after_the_last_committed_batch(
    shopify, admin_user_role, settings
):
    settings.CONNECTORS_BACKFILL_BATCH = 1
    upload = SimpleUploadedFile("customers.jsonl", fixture("shopify/bulk_customers.jsonl"))
    job = start_backfill(actor=admin_user_role, connector=shopify, upload=upload)
    # As a worker that died after its second batch left it: two objects done, still running.
    Backfill.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, rows_total=3, rows_done=2)
    job.refresh_from_db()
    Backfill.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED)
    job = BACKFILLS.run_here(job)
    assert (job.status, job.rows_done, job.objects_applied) == (JobStatus.DONE, 3, 1)
    assert list(Customer.objects.values_list("name", flat=True)) == ["张伟"]
