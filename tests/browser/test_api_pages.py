"""The API's pages in a real browser: the reference page renders the schema's operations from
the vendored Swagger UI under the Content-Security-Policy with nothing fetched from elsewhere,
and an administrator makes a key, copies it and sees it listed."""

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from accounts.models import ApiKey
from privacy import roles

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_reference_page_renders_every_operation_from_local_assets_only(page, live_server):
    hosts = []
    page.on("request", lambda request: hosts.append(urlsplit(request.url).hostname))
    page.goto("/api/")
    expect(page.locator(".opblock").first).to_be_visible()
    operations = page.locator(".opblock-summary-path")
    expect(operations.filter(has_text="/api/v1/customers/{id}/merge/")).to_have_count(1)
    assert operations.count() >= 7
    assert set(hosts) <= {urlsplit(live_server.url).hostname}, set(hosts)


def test_administrator_makes_a_key_sees_it_once_and_copies_it(page, log_in, make_user):
    admin = make_user(roles.ADMINISTRATOR, is_staff=True)
    log_in(admin)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("navigation").get_by_role("button", name="System").click()
    page.get_by_role("link", name="API keys").click()
    page.get_by_role("link", name="New key").click()
    page.get_by_label("New account's name").fill("shop-sync")
    page.get_by_label("New account's role").select_option(label="Sales")
    page.get_by_label("Key name").fill("Web shop")
    page.get_by_role("button", name="Make the key").click()

    expect(page.get_by_text("it will not be shown again")).to_be_visible()
    secret = page.get_by_label("The key").input_value()
    assert re.fullmatch(r"crm_[0-9a-f]{8}_\S+", secret)
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret

    page.get_by_role("link", name="Back to the keys").click()
    key = ApiKey.objects.get(name="Web shop")
    row = page.locator("#keys tr", has_text="Web shop")
    expect(row).to_contain_text(f"crm_{key.prefix}…")
    expect(row).to_contain_text("shop-sync")
    expect(row).not_to_contain_text(secret)
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("alert")).to_contain_text("no longer works")
    key.refresh_from_db()
    assert key.revoked_at is not None
