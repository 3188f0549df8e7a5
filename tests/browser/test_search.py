"""The top bar's search from any page, with the keyboard only; and the customer list as cards
at phone width."""

import re

import pytest
from playwright.sync_api import expect

from privacy import roles
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_slash_searches_by_part_of_a_phone_and_arrow_enter_opens_the_customer(
    page, log_in, make_user
):
    log_in(make_user(roles.SERVICE))
    customer = CustomerFactory(name="林晓雨", phone="13600000409")
    CustomerFactory(name="Someone else", phone="13911112222")
    page.goto("/segments/")
    page.keyboard.press("/")
    search = page.get_by_label("Search everywhere")
    expect(search).to_be_focused()
    page.keyboard.type("0409")  # the last digits a caller reads out
    hit = page.locator("#global-search-results .search-hit")
    expect(hit).to_have_count(1)
    expect(hit).to_contain_text("林晓雨")
    page.keyboard.press("ArrowDown")
    expect(hit).to_have_class(re.compile("active"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(f"/customers/{customer.pk}/$"))
    expect(page.get_by_role("heading", name="林晓雨")).to_be_visible()


def test_slash_unfolds_the_top_bar_where_it_is_folded(page, log_in, make_user):
    page.set_viewport_size({"width": 1024, "height": 800})
    log_in(make_user(roles.SERVICE))
    page.goto("/segments/")
    search = page.get_by_label("Search everywhere")
    expect(search).to_be_hidden()
    page.keyboard.press("/")
    expect(search).to_be_visible()
    expect(search).to_be_focused()


def test_the_customer_list_shows_cards_at_phone_width(page, log_in, make_user):
    page.set_viewport_size({"width": 375, "height": 800})
    log_in(make_user(roles.SERVICE))
    CustomerFactory(name="林晓雨", phone="13600000409")
    page.goto("/customers/")
    expect(page.locator("#customer-cards")).to_be_visible()
    expect(page.locator("#customer-cards")).to_contain_text("林晓雨")
    expect(page.locator("table.table-customers")).to_be_hidden()
