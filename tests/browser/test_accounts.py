"""Staff accounts in a real browser: the first login of a role that needs two factors, and
pages that keep working under the Content-Security-Policy."""

import base64
import re

import pytest
from django_otp.oath import totp
from playwright.sync_api import expect

from customers.models import Tag
from privacy import roles
from privacy.models import AuditEvent
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _code_for(secret: str) -> str:
    """What an authenticator app shows for a key typed in by hand (base32, as on the page)."""
    key = base64.b32decode(secret.replace(" ", "") + "=" * (-len(secret.replace(" ", "")) % 8))
    return f"{totp(key):06d}"


def test_privacy_officer_sets_up_two_factor_authentication_at_first_login(page, make_user):
    officer = make_user(roles.PRIVACY_OFFICER, otp_device=False)
    page.goto("/customers/")
    page.get_by_label("User name").fill(officer.username)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
    expect(page.get_by_text("Your role requires two-factor authentication")).to_be_visible()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    # Nothing else is reachable until done: the menu offers only logging out.
    expect(page.get_by_role("link", name="Customers")).to_have_count(0)
    page.goto("/customers/")
    expect(page).to_have_url(re.compile(r"/accounts/two-factor/setup/"))

    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code", exact=True).fill(_code_for(secret))
    page.get_by_role("button", name="Turn on two-factor authentication").click()

    expect(page).to_have_url(re.compile(r"/customers/$"))
    expect(page.get_by_role("alert")).to_contain_text("Two-factor authentication is on")
    page.get_by_role("button", name=re.compile("Test")).click()  # the user menu
    page.get_by_role("link", name="Two-factor authentication").click()
    expect(page.get_by_text("On", exact=True)).to_be_visible()
    assert AuditEvent.objects.filter(action="auth.2fa_enrolled", actor=officer).exists()


def test_tag_colours_are_applied_without_inline_styles(page, log_in, make_user):
    # Colours used to be style attributes, which the policy blocks; crm.js applies them now
    # (and the page fixture fails the test on any blocked style).
    customer = CustomerFactory(
        name="Li Lei", tags=[Tag.objects.create(name="VIP", colour="#ff0000")]
    )
    log_in(make_user(roles.SERVICE))
    page.goto(f"/customers/{customer.pk}/")
    badge = page.locator("[data-colour]", has_text="VIP")
    expect(badge).to_have_css("background-color", "rgb(255, 0, 0)")
