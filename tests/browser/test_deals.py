"""A salesperson's deal journey: create a deal for their customer, drag its card to Won on
the board, record the purchase in the won step, and see it on the customer's page."""

import re

from playwright.sync_api import expect

from interactions.models import Transaction
from privacy import roles
from sales.models import Deal
from tests.factories import CustomerFactory, UserFactory


def test_salesperson_drags_a_deal_to_won_and_records_the_purchase(page, log_in, transactional_db):
    seller = UserFactory(role=roles.SALES)
    customer = CustomerFactory(owner=seller, name="Lin Hardware")
    log_in(seller)

    page.goto(f"/customers/{customer.pk}/")
    page.locator("#new-deal").click()
    page.get_by_label("Title").fill("Shelving for the new shop")
    page.get_by_label("Amount").fill("12800")
    page.get_by_role("button", name="Save").click()
    expect(
        page.get_by_role("heading", name=re.compile("Shelving for the new shop"))
    ).to_be_visible()
    deal = Deal.objects.get(title="Shelving for the new shop")

    page.get_by_role("link", name="Deals", exact=True).click()
    card = page.locator(f'[data-deal="{deal.pk}"]')
    expect(card).to_be_visible()
    # The board's script has made the cards draggable.
    expect(page.locator("#deal-board.deal-board-draggable")).to_be_attached()
    won_column = page.locator('.deal-cards[data-stage-kind="won"]')
    # Picked up by its top edge (the card's middle holds its no-script stage form) and moved
    # in steps, as a hand does: SortableJS follows the pointer's moves.
    card.drag_to(won_column, source_position={"x": 8, "y": 4}, steps=10)

    # The drop opens the won step, which offers to record the purchase.
    expect(page).to_have_url(re.compile(rf"/deals/{deal.pk}/win/"))
    expect(page.get_by_label(re.compile("Record the purchase"))).to_be_checked()
    page.locator("#confirm-win").click()
    expect(page.locator("#deal-purchase")).to_contain_text("12,800.00")

    page.get_by_role("link", name="Lin Hardware").click()
    expect(page.locator("#customer-deals")).to_contain_text("Won")
    expect(page.locator("#timeline")).to_contain_text("12,800.00")
    assert Transaction.objects.filter(customer=customer).count() == 1
