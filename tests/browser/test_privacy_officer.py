"""The privacy officer answers real requests end to end in the browser: a copy of everything
held, prepared by a real worker, and an erasure; and publishes the next privacy policy version."""

import datetime
import zipfile
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone
from playwright.sync_api import expect

from crm.celery import app as celery_app
from customers.models import Customer
from interactions import services as interaction_services
from privacy import roles
from privacy.models import AuditEvent, DataSubjectRequest, PrivacyPolicy, RequestStatus
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_officer_sends_a_person_a_copy_of_their_data(
    page, log_in, make_user, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    officer = make_user(roles.PRIVACY_OFFICER)
    customer = CustomerFactory(name="周雨桐", phone="13612345678", email="yutong@example.cn")
    interaction_services.record_interaction(
        actor=None, customer=customer, kind="complaint", body="Parcel arrived damaged"
    )
    log_in(officer)
    page.goto(f"/customers/{customer.pk}/")
    page.get_by_role("link", name="Data-subject request").click()
    page.locator("#id_kind").select_option("access")
    page.locator("#id_channel").select_option("email")
    page.locator("#id_details").fill("Please send me all my data.")
    page.get_by_role("button", name="Log the request").click()
    expect(page.get_by_text("the answer is due by")).to_be_visible()
    expect(page.locator("#request-status")).to_contain_text("identity not yet verified")

    page.locator("#id_method").select_option("email_code")
    page.locator("#id_note").fill("Code sent to the address on record, read back")
    page.get_by_role("button", name="Identity verified").click()
    with zipfile.ZipFile(prepared_copy(page, tmp_path)) as archive:
        assert "+8613612345678" in archive.read("json/profile.json").decode()
        assert "Parcel arrived damaged" in archive.read("csv/interactions.csv").decode("utf-8-sig")

    page.locator("#id_complete-resolution").fill("Copy sent by email on request.")
    page.get_by_role("button", name="Complete", exact=True).click()
    expect(page.locator("#request-status")).to_contain_text("Completed")
    request = DataSubjectRequest.objects.get()
    assert request.status == RequestStatus.COMPLETED
    assert AuditEvent.objects.filter(
        action="subject_request.copy_download", actor=officer, target_id=str(request.pk)
    ).exists()


def test_the_officer_finds_a_person_by_phone_and_erases_them(page, log_in, make_user):
    officer = make_user(roles.PRIVACY_OFFICER)
    customer = CustomerFactory(name="Henrik Larsen", phone="13712340000", email="h@larsen.dk")
    log_in(officer)
    page.get_by_role("navigation").get_by_role("button", name="Privacy").click()
    page.get_by_role("link", name="Requests").click()
    page.get_by_role("link", name="Log a request").click()
    page.get_by_label("Find the customer").fill("13712340000")
    page.get_by_role("button", name="Search").click()
    # The phone number went by POST: it is in no address the browser visited.
    assert "13712340000" not in page.url
    page.locator("#matches").get_by_text("Henrik Larsen").click()
    erase_by_signed_letter(page)
    erased = Customer.objects.get(pk=customer.pk)
    assert erased.is_erased
    assert erased.phone == ""
    assert erased.email == ""
    page.goto(f"/customers/{customer.pk}/")
    expect(page.locator("#erased-banner")).to_be_visible()
    expect(page.get_by_text("Henrik")).to_have_count(0)


def test_the_officer_publishes_the_next_policy_version_and_corrects_it(page, log_in, make_user):
    officer = make_user(roles.PRIVACY_OFFICER)
    takes_effect = timezone.localdate() + datetime.timedelta(days=30)
    log_in(officer)
    page.get_by_role("navigation").get_by_role("button", name="Privacy").click()
    page.get_by_role("link", name="Privacy policy").click()
    page.get_by_role("link", name="Publish a new version").click()
    page.locator("#id_version").fill("2027-01")
    page.locator("#id_effective_from").fill(takes_effect.isoformat())
    page.locator("#id_summary").fill("Interaction notes are kept for three years.")
    page.locator("#id_text").fill("1. Who we are\nExample Trading Co., Ltd.")
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.get_by_text("Version 2027-01 published")).to_be_visible()
    expect(page.locator("#policy-text")).to_contain_text("Example Trading Co., Ltd.")

    page.locator("#correct").click()
    page.locator("#id_text").fill("1. Who we are\nExample Trading Co., Ltd., Shanghai.")
    page.get_by_role("button", name="Save the correction").click()
    expect(page.get_by_text("Version 2027-01 corrected.")).to_be_visible()
    expect(page.locator("#policy-history")).to_contain_text("Corrected")
    policy = PrivacyPolicy.objects.get()
    assert (policy.effective_from, policy.text) == (
        takes_effect,
        "1. Who we are\nExample Trading Co., Ltd., Shanghai.",
    )


def prepared_copy(page, tmp_path) -> Path:
    """Prepare the copy of the request on the page, with a worker, and download it (a ZIP)."""
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        page.get_by_role("button", name="Prepare the copy").click()
        download_link = page.get_by_role("link", name="Download the copy (audited)")
        expect(download_link).to_be_visible(timeout=30_000)
    with page.expect_download() as download:
        download_link.click()
    path = tmp_path / "copy.zip"
    download.value.save_as(path)
    return path


def erase_by_signed_letter(page) -> None:
    """On a new request's form for the customer: an erasure asked for by letter, the identity
    verified by its signature, the customer erased and the request completed."""
    page.locator("#id_kind").select_option("erasure")
    page.locator("#id_channel").select_option("letter")
    page.get_by_role("button", name="Log the request").click()
    page.locator("#id_method").select_option("signed_letter")
    page.get_by_role("button", name="Identity verified").click()
    page.locator("#id_erase-resolution").fill("Your personal data was erased.")
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Erase and complete").click()
    expect(page.get_by_text("The customer was erased")).to_be_visible()
