"""Every phone a known export carries is read (issue 18, problem 4): the first valid one is the
customer's phone, in order of preference (the customer's own Phone column before the phones
that come with an address), and the others are kept as contacts of the customer, named after
their column. Header rows are exactly as the platforms write them."""

import pytest

from customers.imports import jobs
from customers.models import Contact, Customer, IssueSeverity
from tests.customers.importfiles import SHOPIFY_CUSTOMER_HEADERS, csv_bytes, upload

pytestmark = pytest.mark.django_db


def _shopify_row(customer_id, first, last, *, address_phone, phone):
    return [
        customer_id,
        first,
        last,
        f"{first.lower()}@example.com",
        "no",
        "",
        "1 Main St",
        "",
        "Springfield",
        "IL",
        "US",
        "62701",
        address_phone,
        phone,
        "no",
        "12.00",
        "1",
        "",
        "no",
        "",
    ]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _job(actor, rows, name="customers_export.csv"):
    job = jobs.create_import(actor=actor, kind="customers", upload=upload(name, csv_bytes(rows)))
    jobs.configure_import(actor=actor, job=job, mapping=job.mapping, source_name="shopify")
    return job


def _run(actor, job):
    jobs.start_import(actor=actor, job=job)
    jobs.IMPORT_JOBS.run(job.pk)
    job.refresh_from_db()
    return job


def _shopify_file():
    return [
        SHOPIFY_CUSTOMER_HEADERS,
        # The number only in the default address: it is the customer's phone.
        _shopify_row("7001", "Ada", "Lovelace", address_phone="+1 217-555-0101", phone=""),
        # Two numbers: the customer's own Phone first, the address's kept beside it.
        _shopify_row(
            "7002", "Alan", "Turing", address_phone="+1 217-555-0102", phone="+12175550199"
        ),
        # The same number twice is one phone, no contact.
        _shopify_row(
            "7003", "Grace", "Hopper", address_phone="(217) 555-0103", phone="+12175550103"
        ),
        # A Phone that is no phone: the default address's number is used, the refused value
        # reported.
        _shopify_row("7004", "Edsger", "Dijkstra", address_phone="+1 217 555 0104", phone="12"),
    ]


def test_a_shopify_export_loses_no_phone(admin_user_role, settings):
    settings.DEFAULT_PHONE_REGION = "US"
    job = _run(admin_user_role, _job(admin_user_role, _shopify_file()))
    assert (job.rows_created, job.rows_failed) == (4, 0)
    phones = dict(Customer.objects.values_list("given_name", "phone"))
    assert phones == {
        "Ada": "+12175550101",
        "Alan": "+12175550199",
        "Grace": "+12175550103",
        "Edsger": "+12175550104",
    }
    assert list(Contact.objects.values_list("customer__given_name", "title", "phone")) == [
        ("Alan", "Default Address Phone", "+12175550102")
    ]
    contact = Contact.objects.get()
    assert (contact.name, contact.phone_raw, contact.is_primary) == (
        "Alan Turing",
        "+1 217-555-0102",
        False,
    )
    issues = {(issue.row, issue.column, issue.value, issue.severity) for issue in job.issues.all()}
    assert issues == {
        (3, "Default Address Phone", "+1 217-555-0102", IssueSeverity.WARNING),
        (5, "Phone", "12", IssueSeverity.WARNING),
    }
    # The same file again finds every phone where it is: nothing new, no second contact.
    again = _run(admin_user_role, _job(admin_user_role, _shopify_file()))
    assert (again.rows_created, again.rows_updated) == (0, 0)
    assert Contact.objects.count() == 1


def test_the_preview_says_where_each_phone_goes(admin_user_role, settings):
    settings.DEFAULT_PHONE_REGION = "US"
    preview = jobs.preview_import(_job(admin_user_role, _shopify_file()))
    notes = {row.number: [(issue.column, issue.message) for issue in row.issues] for row in preview}
    assert notes[2] == []
    assert notes[3] == [
        (
            "Default Address Phone",
            "Another phone of this customer: it is kept as a contact on the customer's page, "
            "named after this column.",
        )
    ]
    assert notes[5][0][0] == "Phone"
    assert "The value was left out." in notes[5][0][1]
    assert not Contact.objects.exists()


def test_a_woocommerce_customer_export_reads_billing_then_shipping_phone(admin_user_role):
    # WooCommerce Customer / Order / Coupon Export, default customer CSV format (its keys).
    headers = [
        "customer_id",
        "first_name",
        "last_name",
        "email",
        "billing_phone",
        "billing_city",
        "shipping_phone",
    ]
    rows = [
        headers,
        ["11", "丽娟", "王", "wlj@example.com", "", "上海", "138 0013 8000"],
        ["12", "伟", "张", "zw@example.com", "13900139000", "北京", "13700137000"],
    ]
    job = _run(admin_user_role, _job(admin_user_role, rows, name="woocommerce-customers.csv"))
    assert job.rows_created == 2
    assert dict(Customer.objects.values_list("name", "phone")) == {
        "王丽娟": "+8613800138000",
        "张伟": "+8613900139000",
    }
    assert list(Contact.objects.values_list("name", "title", "phone")) == [
        ("张伟", "shipping_phone", "+8613700137000")
    ]
