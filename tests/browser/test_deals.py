"""A salesperson's deal journey: claim a customer from the shared pool, create a deal for it,
drag its card to Won on the board, record the purchase in the won step, and see it on the
customer's page."""

import re

from playwright.sync_api import expect

from accounts.models import Team, TeamMembership
from interactions.models import Transaction
from privacy import roles
from sales.deals.services import create_deal
from sales.models import Deal
from tests.factories import CustomerFactory, UserFactory


def test_salesperson_claims_from_the_pool_drags_a_deal_to_won_and_records_the_purchase(
    page, log_in, transactional_db
):
    seller = UserFactory(role=roles.SALES)
    customer = CustomerFactory(name="Lin Hardware")  # nobody's: in the shared pool
    log_in(seller)

    page.get_by_role("link", name="Pool", exact=True).click()
    page.get_by_role("button", name="Claim Lin Hardware").click()
    expect(page.get_by_role("alert")).to_contain_text("Lin Hardware is now yours.")
    customer.refresh_from_db()
    assert customer.owner == seller

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


def test_a_manager_sees_the_teams_deals_on_the_board_and_not_another_teams(
    page, log_in, transactional_db
):
    manager, member, outsider = (UserFactory(role=roles.SALES) for _ in range(3))
    team = Team.objects.create(name="East", manager=manager)
    TeamMembership.objects.create(team=team, user=member)
    members_deal = create_deal(
        actor=member, customer=CustomerFactory(owner=member), title="Team's cold room", amount=500
    )
    outsiders_deal = create_deal(
        actor=outsider, customer=CustomerFactory(owner=outsider), title="Outsider's van", amount=700
    )
    log_in(manager)

    page.get_by_role("link", name="Deals", exact=True).click()

    expect(page.locator(f'[data-deal="{members_deal.pk}"]')).to_contain_text("Team's cold room")
    expect(page.locator(f'[data-deal="{outsiders_deal.pk}"]')).to_have_count(0)
    page.goto(f"/deals/{outsiders_deal.pk}/")
    expect(page.get_by_role("heading", name="Outsider's van")).to_have_count(0)
