"""The reminder journey: a colleague assigns a follow-up, the morning digest mail carries it,
the bell shows it, its link leads to My work where it is marked done."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from interactions.models import FollowUp
from interactions.reminders import send_daily_digests
from interactions.services import schedule_follow_up
from notifications.services import set_daily_digest
from privacy import roles
from tests.factories import CustomerFactory
from tests.smtp_sink import body_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_follow_up_assigned_by_a_colleague_rings_the_bell_and_arrives_in_the_digest(
    page, log_in, make_user, smtp_sink
):
    seller = make_user(roles.SALES, email="seller@example.com")
    colleague = make_user(roles.SALES)
    set_daily_digest(actor=seller, enabled=True)
    customer = CustomerFactory(name="刘洋")
    schedule_follow_up(
        actor=colleague,
        customer=customer,
        title="Send the new price list",
        # Later today in the business's time zone, whatever the hour the suite runs at
        # (three hours on would be tomorrow after 21:00 in Shanghai).
        due_at=min(
            timezone.now() + datetime.timedelta(hours=3),
            timezone.localtime().replace(hour=23, minute=59, second=59, microsecond=0),
        ),
        assignee=seller,
    )

    # The morning digest mails the reminder; it stays unread in the bell.
    send_daily_digests(now=timezone.now())
    (mail,) = smtp_sink.messages
    assert mail["To"] == "seller@example.com"
    assert "New follow-up for you: Send the new price list" in body_of(mail)

    log_in(seller)
    bell = page.locator("#bell-link")
    expect(bell.locator("#bell-count")).to_contain_text("1")
    bell.click()
    page.get_by_role("button", name="New follow-up for you: Send the new price list").click()
    expect(page.get_by_role("heading", name="My work")).to_be_visible()
    row = page.locator("#group-today li", has_text="Send the new price list")
    row.get_by_role("button", name="Done").click()
    expect(page.get_by_role("status")).to_contain_text("Done: Send the new price list")
    expect(bell.locator("#bell-count")).to_have_count(0)
    assert FollowUp.objects.get(title="Send the new price list").done_by == seller
