"""Deals: the services (the one write path) and the selectors other parts call, scoped."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404

from accounts.models import Team, TeamMembership
from customers.merge import merge_customers
from interactions.models import Product, Transaction
from privacy.audit.recording import record_event  # noqa: F401  (actions registered)
from privacy.models import AuditEvent
from privacy.registry import COPY_SECTIONS, SCRUBBERS, Erasure
from sales.deals import selectors, services
from sales.deals.defaults import ensure_default_pipeline
from sales.models import Deal, Pipeline, Stage, StageKind
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def stage(name: str) -> Stage:
    return Stage.objects.get(pipeline__is_default=True, name=name)


@pytest.fixture
def product(db):
    return Product.objects.create(sku="CHAIR-1", name="Office chair", price=Decimal("450"))


def test_default_pipeline_ships_with_stages_named_in_both_languages():
    pipeline = Pipeline.objects.get(is_default=True)
    names = list(pipeline.stages.values_list("name", "name_zh", "win_probability", "kind"))
    assert names[0] == ("Lead", "线索", 10, "open")
    assert names[-2:] == [("Won", "赢单", 100, "won"), ("Lost", "输单", 0, "lost")]
    assert ensure_default_pipeline() is None  # idempotent: nothing added again
    from django.utils import translation

    with translation.override("zh-hans"):
        assert str(stage("Won")) == "赢单"
    with translation.override("en"):
        assert str(stage("Won")) == "Won"


def test_create_deal_starts_in_first_open_stage_owned_by_actor_and_sums_lines(sales_user, product):
    customer = CustomerFactory(owner=sales_user)
    deal = services.create_deal(
        actor=sales_user,
        customer=customer,
        title="Chairs for the office",
        lines=[{"product": product, "quantity": Decimal("4"), "unit_price": Decimal("450")}],
    )
    assert deal.stage == stage("Lead")
    assert deal.owner == sales_user
    assert deal.amount == Decimal("1800.00")
    assert deal.currency == "CNY"
    assert deal.lines.count() == 1
    event = AuditEvent.objects.get(action="deal.create", target_id=str(deal.pk))
    assert event.changes["lines"] == 1


def test_lost_needs_a_reason_and_records_it(sales_user):
    deal = services.create_deal(
        actor=sales_user, customer=CustomerFactory(owner=sales_user), title="T", amount=1
    )
    with pytest.raises(ValidationError):
        services.move_deal_to_stage(actor=sales_user, deal=deal, stage=stage("Lost"))
    deal.refresh_from_db()
    assert deal.stage == stage("Lead")
    assert deal.lost_at is None
    services.move_deal_to_stage(
        actor=sales_user, deal=deal, stage=stage("Lost"), lost_reason="Went with a competitor"
    )
    deal.refresh_from_db()
    assert deal.lost_at
    assert deal.closed_at
    assert deal.lost_reason == "Went with a competitor"
    # Reopening clears the outcome.
    services.move_deal_to_stage(actor=sales_user, deal=deal, stage=stage("Proposal"))
    deal.refresh_from_db()
    assert deal.closed_at is None
    assert deal.lost_reason == ""
    assert AuditEvent.objects.filter(action="deal.reopen", target_id=str(deal.pk)).exists()


def test_winning_records_the_purchase_once_even_when_posted_twice(sales_user, product):
    customer = CustomerFactory(owner=sales_user)
    deal = services.create_deal(
        actor=sales_user,
        customer=customer,
        title="Chairs",
        lines=[{"product": product, "quantity": Decimal("2"), "unit_price": Decimal("450")}],
    )
    first = services.win_deal(actor=sales_user, deal=deal)
    again = services.win_deal(actor=sales_user, deal=Deal.objects.get(pk=deal.pk))
    assert first == again
    assert Transaction.objects.filter(customer=customer).count() == 1
    assert first.amount == Decimal("900.00")
    assert list(first.lines.values_list("product_id", "quantity")) == [(product.pk, Decimal("2"))]
    deal.refresh_from_db()
    assert deal.won_at
    assert deal.stage.kind == StageKind.WON
    assert deal.purchase == first


def test_a_purchase_that_cannot_be_recorded_leaves_the_deal_open(sales_user):
    customer = CustomerFactory(owner=sales_user)
    deal = services.create_deal(actor=sales_user, customer=customer, title="T", amount=5)
    with pytest.raises(ValidationError):
        services.win_deal(actor=sales_user, deal=deal, channel="not-a-channel")
    deal.refresh_from_db()
    assert deal.won_at is None
    assert deal.stage == stage("Lead")
    assert not Transaction.objects.filter(customer=customer).exists()


def test_update_deal_refuses_a_stale_version(sales_user):
    from kernel.versioning import EditConflictError

    deal = services.create_deal(
        actor=sales_user, customer=CustomerFactory(owner=sales_user), title="T", amount=1
    )
    services.update_deal(actor=sales_user, deal=deal, expected_version=1, title="New title")
    with pytest.raises(EditConflictError):
        services.update_deal(
            actor=sales_user, deal=Deal.objects.get(pk=deal.pk), expected_version=1, title="X"
        )
    assert Deal.objects.get(pk=deal.pk).title == "New title"


def test_sales_see_own_and_their_teams_deals_not_others(make_user, sales_user, other_sales_user):
    from privacy import roles

    manager = make_user(roles.SALES)
    team = Team.objects.create(name="East", manager=manager)
    TeamMembership.objects.create(team=team, user=sales_user)
    own = services.create_deal(
        actor=sales_user, customer=CustomerFactory(owner=sales_user), title="Own", amount=1
    )
    other = services.create_deal(
        actor=other_sales_user,
        customer=CustomerFactory(owner=other_sales_user),
        title="Other",
        amount=1,
    )
    # An unassigned customer is visible to every salesperson, the deal on it is not.
    shared_customer = CustomerFactory()
    others_on_shared = services.create_deal(
        actor=other_sales_user, customer=shared_customer, title="Theirs", amount=1
    )
    assert list(selectors.deals_visible_to(sales_user)) == [own]
    assert set(selectors.deals_visible_to(other_sales_user)) == {other, others_on_shared}
    # The manager sees the member's deals (the member's customers are in the manager's scope
    # too), not the outsider's, even on a customer both may see.
    assert list(selectors.deals_visible_to(manager)) == [own]
    services.create_deal(actor=sales_user, customer=shared_customer, title="Team's", amount=1)
    assert {d.title for d in selectors.deals_visible_to(manager)} == {"Own", "Team's"}
    with pytest.raises(Http404):
        selectors.get_deal_for(sales_user, other.pk)


def test_service_and_analysts_see_every_deal(sales_user, service_user, analyst_user):
    deal = services.create_deal(
        actor=sales_user, customer=CustomerFactory(owner=sales_user), title="T", amount=1
    )
    assert list(selectors.deals_visible_to(service_user)) == [deal]
    assert list(selectors.deals_visible_to(analyst_user)) == [deal]


def test_search_deals_by_title_or_customer_within_scope(sales_user, other_sales_user):
    customer = CustomerFactory(owner=sales_user, name="Lin Hardware")
    mine = services.create_deal(actor=sales_user, customer=customer, title="Shelves", amount=1)
    services.create_deal(
        actor=other_sales_user,
        customer=CustomerFactory(owner=other_sales_user),
        title="Shelves too",
        amount=1,
    )
    assert selectors.search_deals(user=sales_user, query="shelves") == [mine]
    assert selectors.search_deals(user=sales_user, query="Lin Hardware") == [mine]
    assert selectors.search_deals(user=sales_user, query="") == []
    # Two characters match customers, not titles (no trigram answers them).
    assert selectors.search_deals(user=sales_user, query="sh") == []


def test_open_deals_closing_between_for_the_calendar(sales_user):
    customer = CustomerFactory(owner=sales_user)
    day = datetime.date(2027, 3, 10)
    inside = services.create_deal(
        actor=sales_user, customer=customer, title="In", amount=1, expected_close_date=day
    )
    services.create_deal(
        actor=sales_user,
        customer=customer,
        title="Later",
        amount=1,
        expected_close_date=day + datetime.timedelta(days=40),
    )
    won = services.create_deal(
        actor=sales_user, customer=customer, title="Won", amount=1, expected_close_date=day
    )
    services.win_deal(actor=sales_user, deal=won, record_purchase=False)
    found = selectors.open_deals_closing_between(
        user=sales_user, start=datetime.date(2027, 3, 1), end=datetime.date(2027, 3, 31)
    )
    assert list(found) == [inside]
    none = selectors.open_deals_closing_between(
        user=sales_user, start=day, end=day, owner_ids=[sales_user.pk + 1000]
    )
    assert list(none) == []


def test_board_columns_count_and_weight_in_one_aggregate(sales_user, django_assert_max_num_queries):
    customer = CustomerFactory(owner=sales_user)
    for amount in (100, 300):
        services.create_deal(actor=sales_user, customer=customer, title="L", amount=amount)
    services.create_deal(
        actor=sales_user, customer=customer, title="P", amount=200, stage=stage("Proposal")
    )
    pipeline = Pipeline.objects.get(is_default=True)
    # stages, the aggregate, and the cards of the two stages holding deals (plus the
    # permission lookups and the team's member ids of the scope).
    with django_assert_max_num_queries(7):
        columns = selectors.board_columns(user=sales_user, pipeline=pipeline).columns
    by_name = {column.stage.name: column for column in columns}
    assert by_name["Lead"].count == 2
    assert by_name["Lead"].total == Decimal("400")
    assert by_name["Lead"].weighted_total == Decimal("40.00")
    assert by_name["Proposal"].weighted_total == Decimal("100.00")
    assert by_name["Won"].count == 0
    assert by_name["Won"].cards == []


def test_board_closed_columns_hold_only_deals_closed_since_the_window(sales_user):
    customer = CustomerFactory(owner=sales_user)
    old = services.create_deal(actor=sales_user, customer=customer, title="Old", amount=100)
    recent = services.create_deal(actor=sales_user, customer=customer, title="New", amount=30)
    services.create_deal(actor=sales_user, customer=customer, title="Open", amount=7)
    for deal in (old, recent):
        services.win_deal(actor=sales_user, deal=deal, record_purchase=False)
    since = selectors.recently_closed_since()
    Deal.objects.filter(pk=old.pk).update(closed_at=since - datetime.timedelta(days=1))
    pipeline = Pipeline.objects.get(is_default=True)
    by_name = {
        column.stage.name: column
        for column in selectors.board_columns(
            user=sales_user, pipeline=pipeline, closed_since=since
        ).columns
    }
    assert (by_name["Won"].count, by_name["Won"].total) == (1, Decimal("30"))
    assert [deal.title for deal in by_name["Won"].cards] == ["New"]
    assert by_name["Won"].closed_since == since
    assert (by_name["Lead"].count, by_name["Lead"].closed_since) == (1, None)
    whole = selectors.board_columns(user=sales_user, pipeline=pipeline, closed_since=None)
    assert {c.stage.name: c.count for c in whole.columns}["Won"] == 2


def test_board_totals_are_cached_until_a_deal_service_writes(sales_user, django_assert_num_queries):
    customer = CustomerFactory(owner=sales_user)
    deal = services.create_deal(actor=sales_user, customer=customer, title="L", amount=10)
    pipeline = Pipeline.objects.get(is_default=True)
    first = selectors.board_columns(user=sales_user, pipeline=pipeline)
    with django_assert_num_queries(2) as read:  # the stages and the one column's cards
        again = selectors.board_columns(user=sales_user, pipeline=pipeline)
    assert not any("SUM(" in query["sql"] for query in read.captured_queries)
    assert again.totals_as_of == first.totals_as_of
    services.move_deal_to_stage(actor=sales_user, deal=deal, stage=stage("Proposal"))
    moved = {
        c.stage.name: c.count
        for c in selectors.board_columns(user=sales_user, pipeline=pipeline).columns
    }
    assert (moved["Lead"], moved["Proposal"]) == (0, 1)


def test_merging_customers_moves_their_deals_to_the_survivor(service_user):
    survivor, other = CustomerFactory(), CustomerFactory()
    deal = services.create_deal(actor=service_user, customer=other, title="T", amount=1)
    merge_customers(actor=service_user, survivor=survivor, others=[other])
    deal.refresh_from_db()
    assert deal.customer == survivor


def test_subject_copy_lists_deals_and_erasure_scrubs_their_text(sales_user):
    customer = CustomerFactory(owner=sales_user)
    deal = services.create_deal(
        actor=sales_user, customer=customer, title="Wang's kitchen", amount=1, notes="Private"
    )
    section = next(s for s in COPY_SECTIONS if s.name == "deals")
    assert list(section.rows([customer.pk])) == [deal]
    scrubber = next(s for s in SCRUBBERS if s.name == "deals")
    assert scrubber.reach([customer.pk]) == 1
    from django.utils import timezone

    scrubber.scrub(Erasure(ids=[customer.pk], now=timezone.now(), evidence=""))
    deal.refresh_from_db()
    assert deal.notes == ""
    assert "Wang" not in deal.title


def test_pipeline_services_keep_one_default(admin_user_role):
    old = Pipeline.objects.get(is_default=True)
    new = services.save_pipeline(actor=admin_user_role, name="Projects", is_default=True)
    old.refresh_from_db()
    assert not old.is_default
    assert new.is_default
    assert set(new.stages.values_list("kind", flat=True)) == {"open", "won", "lost"}
    added = services.save_stage(
        actor=admin_user_role, pipeline=new, name="Demo", order=20, win_probability=40
    )
    assert added.pipeline == new
    with pytest.raises(ValidationError):
        services.save_pipeline(
            actor=admin_user_role, pipeline=new, name="Projects", is_default=True, active=False
        )
