"""An administrator connects a Shopify shop in a real browser, at a phone's width: the form,
the intake address to paste into the shop, a delivery arriving and applied, an export
loaded; under the Content-Security-Policy (the page fixture fails on anything it blocks)."""

import re

import pytest
from playwright.sync_api import expect

from connectors.backfill import BACKFILLS
from connectors.models import Backfill, Connector
from privacy import roles
from tests.connectors.conftest import (
    FIXTURES,
    SHOPIFY_SECRET,
    apply_received,
    payload,
    post_shopify,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_administrator_connects_a_shop_and_follows_its_deliveries(
    page, log_in, make_user, live_server, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(make_user(roles.ADMINISTRATOR, is_staff=True))
    page.goto("/connectors/")
    expect(page.get_by_text("No shop is connected yet.")).to_be_visible()
    page.get_by_role("link", name="Connect a shop").click()

    page.get_by_label("Platform").select_option("shopify")
    page.get_by_label("Name").fill("茶语 Shopify")
    page.get_by_label("Shop address").fill("https://shop.example.com")
    page.get_by_label("Signing secret").fill(SHOPIFY_SECRET)
    page.get_by_role("button", name="Save the connector").click()
    expect(page.get_by_text("myshopify.com address")).to_be_visible()
    page.get_by_label("Shop address").fill("cha-yu.myshopify.com")
    page.get_by_label("Signing secret").fill(SHOPIFY_SECRET)  # never sent back to the page
    page.get_by_role("button", name="Save the connector").click()

    connector = Connector.objects.get()
    expect(page).to_have_url(re.compile(rf"/connectors/{connector.pk}/$"))
    expect(page.get_by_role("alert")).to_contain_text("Now add its address")
    expect(page.locator("#intake-url")).to_have_value(
        re.compile(rf"/inbound/{connector.public_key}/$")
    )
    expect(page.locator("#topics")).to_contain_text("orders/updated")

    post_shopify(live_server.url, connector, "orders/create", payload("shopify/orders_create.json"))
    page.reload()
    expect(page.locator("#backlog")).to_contain_text("1")
    expect(page.locator("#deliveries")).to_contain_text("Waiting to be applied")
    apply_received(connector)
    page.reload()
    expect(page.locator("#deliveries")).to_contain_text("Applied")
    expect(page.locator("#deliveries")).not_to_contain_text("李娜")

    page.get_by_label("Export file").set_input_files(str(FIXTURES / "shopify/bulk_customers.jsonl"))
    page.get_by_role("button", name="Load", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("being loaded")
    BACKFILLS.run(Backfill.objects.get().pk)  # what the worker does with the message
    # The panel polls while the job runs and shows it finished without a reload.
    expect(page.locator("#backfills")).to_contain_text("Done", timeout=10_000)
    expect(page.locator("#backfills")).to_contain_text("bulk_customers.jsonl")
