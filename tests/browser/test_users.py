"""An administrator invites a colleague from the users page; the invitation arrives by real
SMTP, and the colleague chooses a password through its link and signs in."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from accounts.models import TeamMembership
from accounts.team_services import create_team
from privacy import roles
from tests.smtp_sink import body_of
from tests.worker_process import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LINK = re.compile(r"http://\S+/accounts/reset/\S+/")


def test_an_invited_colleague_sets_a_password_and_signs_in(
    page, log_in, make_user, live_server, smtp_sink, settings
):
    settings.SITE_URL = live_server.url
    admin = make_user(roles.ADMINISTRATOR, is_staff=True)
    create_team(actor=None, name="East", manager=admin)
    log_in(admin)

    page.get_by_role("button", name="System").click()
    page.get_by_role("link", name="Users").click()
    page.get_by_role("link", name="Invite a colleague").click()
    page.get_by_label("First name").fill("Mei")
    page.get_by_label("Last name").fill("Chen")
    page.get_by_label("E-mail address").fill("mei.chen@example.com")
    page.get_by_label("Role").select_option(label="Sales")
    page.get_by_label("Team").select_option(label="East")
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_role("alert")).to_contain_text("Invitation sent to mei.chen@example.com")

    wait_for(lambda: smtp_sink.messages, seconds=10)
    (mail,) = smtp_sink.messages
    assert mail["To"] == "mei.chen@example.com"
    link = LINK.search(body_of(mail)).group(0)

    page.get_by_role("button", name="Log out").click()
    page.goto(link)
    page.get_by_label("New password", exact=True).fill("a-new-Passw0rd-2026")
    page.get_by_label("New password confirmation").fill("a-new-Passw0rd-2026")
    page.get_by_role("button", name="Save the new password").click()
    expect(page.get_by_text("Your new password is set")).to_be_visible()

    page.goto("/accounts/login/")
    page.get_by_label("User name").fill("mei.chen@example.com")
    page.get_by_label("Password").fill("a-new-Passw0rd-2026")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="Customers")).to_be_visible()
    invited = get_user_model().objects.get(username="mei.chen@example.com")
    assert invited.last_login is not None
    assert TeamMembership.objects.get(user=invited).team.name == "East"


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_top_bar_keeps_search_account_and_language_in_sight(page, log_in, make_user, language):
    """Whoever holds every role has more menu entries than one 1280 px row takes: the menu
    wraps and nothing is pushed off the screen, a long name included; below 1200 px the bar
    folds behind the menu button."""
    everyone = make_user(
        roles.ADMINISTRATOR,
        is_staff=True,
        first_name="Anna-Katharina",
        last_name="Schmidt-Hohenberg von Lindenau",
    )
    everyone.groups.set(Group.objects.all())
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(everyone)
    page.locator("#language").select_option(language)
    page.wait_for_load_state()
    expect(page.locator("html")).to_have_attribute("lang", language)

    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    logout = page.locator("form[action$='/logout/'] button")
    for control in (
        page.locator("#global-search-input"),
        page.locator("#bell-link"),
        page.locator(".account-name"),
        logout,
        page.locator("#language"),
    ):
        _assert_within(control, width=1280)
    assert logout.bounding_box()["height"] < 40  # on one line ("退出登录" wrapped in two)

    page.set_viewport_size({"width": 1024, "height": 900})
    expect(page.get_by_role("button", name="Menu" if language == "en" else "菜单")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    _assert_within(page.locator("#language"), width=1024)


def _assert_within(control, *, width: int) -> None:
    box = control.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= width
