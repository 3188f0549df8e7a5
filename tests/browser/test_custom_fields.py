"""A custom field's whole life through the pages, one role after the other: an administrator
defines a bilingual choice, a salesperson fills it in, an analyst segments and exports by it,
and the privacy officer hands the person a copy of it and erases it; and a change of type whose
conversion the field's page follows."""

import csv
import io
import json
import zipfile

import pytest
from celery.contrib.testing.worker import start_worker
from playwright.sync_api import expect

from crm.celery import app as celery_app
from customers.custom_fields.models import FieldDefinition, FieldType
from customers.models import Customer
from privacy import roles
from tests.browser.test_privacy_officer import erase_by_signed_letter, prepared_copy
from tests.customers.test_custom_fields import define_field
from tests.factories import CustomerFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
]


def test_a_choice_field_from_its_definition_to_the_persons_erasure(
    page, log_in, make_user, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    sales = make_user(roles.SALES)
    member = CustomerFactory(name="周雨桐", phone="13612345678", owner=sales)
    # Never given a level: the segment's rule has someone to leave out.
    CustomerFactory(name="Anna Schmidt", owner=sales)

    log_in(make_user(roles.ADMINISTRATOR, is_staff=True))
    field = _administrator_defines_membership_level(page)
    _log_out(page)

    log_in(sales)
    _salesperson_sets_the_level(page, member)
    _log_out(page)

    log_in(make_user(roles.ANALYST))
    _analyst_segments_and_exports_by_the_level(page, tmp_path)
    _log_out(page)

    log_in(make_user(roles.PRIVACY_OFFICER))
    _officer_sends_a_copy_holding_the_level(page, member, field, tmp_path)
    _officer_erases_the_person(page, member)
    member.refresh_from_db()
    assert member.custom == {}


def _administrator_defines_membership_level(page) -> FieldDefinition:
    page.get_by_role("navigation").get_by_role("button", name="System").click()
    page.get_by_role("navigation").get_by_role("link", name="Custom fields").click()
    expect(page.get_by_text("No custom fields yet.")).to_be_visible()
    page.get_by_role("link", name="New field").first.click()
    page.get_by_label("Label (English)").fill("Membership level")
    page.get_by_label("Label (Chinese)").fill("会员等级")
    # The choices' box appears once the type is a choice (crm.js, data-shown-for).
    page.get_by_label("Type", exact=True).select_option(label="One choice")
    page.get_by_label("Choices", exact=True).fill("Gold | 金卡\nSilver | 银卡\nBronze | 铜卡")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("Field saved.")
    expect(page.get_by_role("heading", name="Membership level")).to_contain_text("membership_level")
    page.get_by_role("link", name="Custom fields · Customers").click()
    expect(page.get_by_role("row", name="Membership level")).to_contain_text(
        "Gold · Silver · Bronze"
    )
    return FieldDefinition.objects.get(key="membership_level")


def _salesperson_sets_the_level(page, member) -> None:
    page.goto(f"/customers/{member.pk}/")
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Membership level").select_option(label="Gold")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("Changes saved.")
    details = page.locator("#custom-values")
    expect(details).to_contain_text("Membership level")
    expect(details).to_contain_text("Gold")
    # The same value, in the other language's words.
    page.locator("#language").select_option("zh-hans")
    expect(details).to_contain_text("会员等级")
    expect(details).to_contain_text("金卡")
    page.locator("#language").select_option("en")
    expect(details).to_contain_text("Gold")


def _analyst_segments_and_exports_by_the_level(page, tmp_path) -> None:
    page.goto("/segments/")
    page.get_by_role("link", name="New segment").click()
    page.get_by_label("Name", exact=True).fill("Gold members")
    page.get_by_role("button", name="Add condition").click()
    page.get_by_label("Field").select_option("custom.membership_level")
    page.get_by_label("Value").select_option(label="Gold")
    expect(page.locator("#segment-count")).to_contain_text("1 customer matches")
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("heading", name="Gold members")).to_be_visible()
        expect(page.locator("#rules-in-words")).to_contain_text("Membership level")
        for _attempt in range(40):  # the worker works out the members after the save
            if page.locator("#segment-size").inner_text() == "1":
                break
            page.wait_for_timeout(250)
            page.reload()
        expect(page.locator("#segment-size")).to_have_text("1")
        expect(page.locator("#members")).to_contain_text("周雨桐")
        expect(page.locator("#members")).not_to_contain_text("Anna Schmidt")

        page.get_by_role("link", name="Export").click()
        # Custom columns are left out unless asked for.
        page.get_by_label("Membership level").check()
        page.get_by_role("button", name="Prepare the file").click()
        download_link = page.get_by_role("link", name="Download")
        expect(download_link).to_be_visible(timeout=20_000)
    with page.expect_download() as download:
        download_link.click()
    path = tmp_path / "gold-members.csv"
    download.value.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert [(row["Name"], row["Membership level"]) for row in rows] == [("周雨桐", "Gold")]


def _officer_sends_a_copy_holding_the_level(page, member, field, tmp_path) -> None:
    page.goto(f"/customers/{member.pk}/")
    page.get_by_role("link", name="Data-subject request").click()
    page.locator("#id_kind").select_option("access")
    page.locator("#id_channel").select_option("email")
    page.get_by_role("button", name="Log the request").click()
    page.locator("#id_method").select_option("email_code")
    page.get_by_role("button", name="Identity verified").click()
    with zipfile.ZipFile(prepared_copy(page, tmp_path)) as archive:
        (values,) = json.loads(archive.read("json/custom_fields.json"))
        table = archive.read("csv/custom_fields.csv").decode("utf-8-sig")
    assert values == {"id": member.pk, field.name: "Gold"}
    assert "Membership level" in table
    assert "Gold" in table

    page.locator("#id_complete-resolution").fill("Copy sent by email.")
    page.get_by_role("button", name="Complete", exact=True).click()
    expect(page.locator("#request-status")).to_contain_text("Completed")


def _officer_erases_the_person(page, member) -> None:
    page.goto(f"/customers/{member.pk}/")
    page.get_by_role("link", name="Data-subject request").click()
    erase_by_signed_letter(page)
    page.goto(f"/customers/{member.pk}/")
    expect(page.locator("#erased-banner")).to_be_visible()
    expect(page.locator("#custom-values")).to_have_count(0)


def _log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def test_a_type_change_refused_for_one_value_then_made_once_it_is_corrected(
    page, log_in, make_user
):
    """The conversion runs in the worker while the field's page follows it: refused with a link
    to the record whose value would not convert, made after the administrator corrects it."""
    admin = make_user(roles.ADMINISTRATOR, is_staff=True)
    size = define_field(admin, FieldType.TEXT, label="Shoe size")
    fits, odd = CustomerFactory(name="周雨桐"), CustomerFactory(name="Anna Schmidt")
    Customer.objects.filter(pk=fits.pk).update(custom={"shoe_size": "38"})
    Customer.objects.filter(pk=odd.pk).update(custom={"shoe_size": "large"})
    log_in(admin)
    field_page = f"/custom-fields/customer/{size.pk}/"
    page.goto(field_page)
    panel = page.locator("#conversion")
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        page.get_by_label("Type", exact=True).select_option(label="Number")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("alert").first).to_contain_text("being checked and converted")
        # The panel polls the job; the page reloads once it has ended.
        expect(panel).to_contain_text("The change was refused", timeout=30_000)
        expect(page.get_by_label("Type", exact=True)).to_have_value("text")
        panel.get_by_role("link", name=f"#{odd.pk}").click()
        page.get_by_role("link", name="Edit").click()
        page.get_by_label("Shoe size").fill("41")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("alert")).to_contain_text("Changes saved.")

        page.goto(field_page)
        page.get_by_label("Type", exact=True).select_option(label="Number")
        page.get_by_label("Decimal places").fill("1")
        page.get_by_role("button", name="Save").click()
        expect(panel).to_contain_text("2 values converted", timeout=30_000)
    expect(page.get_by_label("Type", exact=True)).to_have_value("number")
    expect(page.get_by_role("button", name="Save")).to_be_enabled()
    page.goto(f"/customers/{odd.pk}/")
    expect(page.locator("#custom-values")).to_contain_text("41.0")
