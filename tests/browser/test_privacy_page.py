"""A customer on their own privacy page, in a real browser: opened from the link of a mail,
a purpose withdrawn (in the ledger at once), a copy asked for; and in Chinese."""

import re

import pytest
from playwright.sync_api import expect

from privacy.models import ConsentSource, DataSubjectRequest, RequestChannel
from privacy.portal.links import privacy_page_url, unsubscribe_url
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def customer(settings, live_server):
    settings.SITE_URL = live_server.url
    return CustomerFactory(name="李娜", email="li.na@example.com", consent_email=True)


def test_a_customer_withdraws_a_purpose_and_asks_for_a_copy(page, customer):
    page.goto(privacy_page_url(customer))
    # The link's token is exchanged for the session at once, out of the address bar.
    expect(page).to_have_url(re.compile(r"/privacy/me/$"))
    email = page.locator('[data-purpose="marketing_email"]')
    expect(email).to_contain_text("Agreed on")
    email.get_by_role("button", name="Withdraw").click()

    expect(page.get_by_role("alert")).to_contain_text("Withdrawn: “Marketing by email”")
    expect(email).to_contain_text("Not agreed since")
    expect(email.get_by_role("button", name="Withdraw")).to_have_count(0)
    customer.refresh_from_db()
    assert customer.consent_email is False
    assert customer.consent_records.first().source == ConsentSource.PRIVACY_PAGE

    page.get_by_role("button", name="Ask for a copy").click()
    expect(page.locator("#open-requests")).to_contain_text("Access and copy")
    assert DataSubjectRequest.objects.get(customer=customer).channel == RequestChannel.PRIVACY_PAGE


def test_the_page_and_unsubscribing_in_chinese(browser, live_server, customer):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(unsubscribe_url(customer))
    expect(page.get_by_role("heading")).to_have_text("退订")
    page.get_by_role("button", name="退订").click()
    expect(page.locator("#unsubscribed")).to_contain_text("您将不再收到")
    customer.refresh_from_db()
    assert customer.consent_email is False
    page.goto(privacy_page_url(customer))
    expect(page.get_by_role("heading", level=1)).to_have_text("您的隐私选择")
    context.close()
