"""Playwright driving Debian's Chromium against the live test server."""

import os
import re
import shutil
from pathlib import Path

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect, sync_playwright

from tests.factories import totp_code

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium (done by .ci/run)")
    # The sync Playwright API runs an event loop in this thread while it is open; the ORM calls
    # the tests make between page actions are still synchronous and safe. Allowed only while
    # the browser lives (module scope), so the rest of the suite keeps Django's guard.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        yield from _launched_chromium()
    finally:
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _launched_chromium():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "test-screenshots"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    item.stash.setdefault(_FAILED, False)
    if report.failed:
        item.stash[_FAILED] = True
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def page(request, browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    # Every journey doubles as a check of the Content-Security-Policy: Chromium reports what
    # the policy blocked (an inline script, style or handler) on the console.
    blocked = []
    page.on(
        "console",
        lambda message: (
            blocked.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield page
    if not request.node.stash.get(_FAILED, False):
        assert not blocked, f"The Content-Security-Policy blocked: {blocked}"
    if request.node.stash.get(_FAILED, False):
        # A picture of what the browser showed, for whoever reads the failed CI run.
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{request.node.name}.png"
        page.screenshot(path=path, full_page=True)
        print(f"Screenshot of the failure: {path}")
    context.close()


@pytest.fixture
def log_in(page):
    def log_in_as(user, password="correct-horse-battery"):
        page.goto("/accounts/login/")
        page.get_by_label("User name").fill(user.username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is not None:
            # The second step, with the code the user's phone would show.
            expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
            page.get_by_label("Code", exact=True).fill(totp_code(device))
            page.get_by_role("button", name="Verify").click()
            expect(page).not_to_have_url(re.compile("two-factor"))
        page.wait_for_url("**/")

    return log_in_as
