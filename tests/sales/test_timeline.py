"""Deals and owner changes in the customer's timeline, and a deal's stage history: the rows
each deal service writes, the migration's rows for deals already there, paging the merged
history across every source, bounded queries, and links only to deals the reader may open."""

import datetime
import importlib
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from interactions.selectors import customer_timeline
from privacy.registry import COPY_SECTIONS, SCRUBBERS, Erasure
from sales.deals import services
from sales.models import (
    DealChangeKind,
    DealStageChange,
    OwnershipChange,
    OwnershipChangeKind,
    Stage,
)
from sales.pool.services import claim_customer, release_customer
from tests.factories import CustomerFactory, InteractionFactory, TransactionFactory

pytestmark = pytest.mark.django_db


def stage(name: str) -> Stage:
    return Stage.objects.get(pipeline__is_default=True, name=name)


def _steps(deal) -> list[tuple[str, str | None, str, str]]:
    return [
        (c.kind, c.from_stage.name if c.from_stage else None, c.to_stage.name, c.lost_reason)
        for c in deal.stage_changes.order_by("at", "pk")
    ]


# --- the stage history each service writes


def test_every_deal_service_writes_its_step_of_the_stage_history(sales_user):
    customer = CustomerFactory(owner=sales_user)
    deal = services.create_deal(actor=sales_user, customer=customer, title="Desks", amount=900)
    services.move_deal_to_stage(actor=sales_user, deal=deal, stage=stage("Proposal"))
    # Moving to the stage it is in changes nothing: no step either.
    services.move_deal_to_stage(actor=sales_user, deal=deal, stage=stage("Proposal"))
    services.move_deal_to_stage(
        actor=sales_user, deal=deal, stage=stage("Lost"), lost_reason="Budget cut"
    )
    services.move_deal_to_stage(actor=sales_user, deal=deal, stage=stage("Lead"))
    purchase = services.win_deal(actor=sales_user, deal=deal)
    # Won again (a form posted twice): no second purchase, no second step.
    services.win_deal(actor=sales_user, deal=deal)
    assert purchase is not None
    assert _steps(deal) == [
        ("created", None, "Lead", ""),
        ("moved", "Lead", "Proposal", ""),
        ("lost", "Proposal", "Lost", "Budget cut"),
        ("reopened", "Lost", "Lead", ""),
        ("won", "Lead", "Won", ""),
    ]
    assert set(deal.stage_changes.values_list("actor", flat=True)) == {sales_user.pk}
    created = deal.stage_changes.get(kind=DealChangeKind.CREATED)
    assert created.at == deal.created_at


def test_a_refused_move_writes_no_step(sales_user):
    deal = services.create_deal(
        actor=sales_user, customer=CustomerFactory(owner=sales_user), title="T", amount=1
    )
    with pytest.raises(Exception, match="lost"):
        services.move_deal_to_stage(actor=sales_user, deal=deal, stage=stage("Lost"))
    assert _steps(deal) == [("created", None, "Lead", "")]


def test_the_migration_gives_every_deal_already_there_one_created_step(sales_user):
    customer = CustomerFactory(owner=sales_user)
    made = [
        services.create_deal(actor=sales_user, customer=customer, title=f"D{n}", amount=n)
        for n in range(3)
    ]
    services.move_deal_to_stage(actor=sales_user, deal=made[0], stage=stage("Proposal"))
    DealStageChange.objects.all().delete()  # as before the history was kept
    migration = importlib.import_module("sales.migrations.0004_deal_stage_history")
    # The migration's own SQL on this connection (a schema editor cannot open inside the
    # test's transaction on SQLite).
    editor = SimpleNamespace(
        quote_name=connection.ops.quote_name, execute=lambda sql: connection.cursor().execute(sql)
    )
    migration.record_existing_deals(apps, editor)
    rows = DealStageChange.objects.order_by("deal_id")
    assert [(r.deal_id, r.kind, r.from_stage_id, r.to_stage.name, r.actor_id) for r in rows] == [
        (made[0].pk, "created", None, "Proposal", sales_user.pk),
        (made[1].pk, "created", None, "Lead", sales_user.pk),
        (made[2].pk, "created", None, "Lead", sales_user.pk),
    ]
    assert [r.at for r in rows] == [d.created_at for d in made]


def test_the_deal_page_lists_its_history_newest_first(client, sales_user):
    deal = services.create_deal(
        actor=sales_user, customer=CustomerFactory(owner=sales_user), title="T", amount=1
    )
    services.move_deal_to_stage(
        actor=sales_user, deal=deal, stage=stage("Lost"), lost_reason="Chose the cheaper offer"
    )
    client.force_login(sales_user)
    response = client.get(reverse("deals:detail", args=[deal.pk]))
    assert [c.kind for c in response.context["stage_history"]] == ["lost", "created"]
    page = response.content.decode()
    assert 'id="deal-history"' in page
    assert "Chose the cheaper offer" in page


def test_merge_carries_the_history_and_erasure_scrubs_its_lost_reasons(service_user):
    survivor, other = CustomerFactory(), CustomerFactory()
    deal = services.create_deal(actor=service_user, customer=other, title="T", amount=1)
    services.move_deal_to_stage(
        actor=service_user, deal=deal, stage=stage("Lost"), lost_reason="Wang Li moved away"
    )
    from customers.merge import merge_customers

    merge_customers(actor=service_user, survivor=survivor, others=[other])
    entries, _cursor = customer_timeline(customer=survivor, kind="deals")
    assert [e.record.kind for e in entries] == ["lost", "created"]
    section = next(s for s in COPY_SECTIONS if s.name == "deal_stage_changes")
    assert len(list(section.rows([survivor.pk]))) == 2
    scrubber = next(s for s in SCRUBBERS if s.name == "deal_stage_changes")
    assert scrubber.scrub(Erasure(ids=[survivor.pk], now=timezone.now(), evidence="")) == 1
    assert not DealStageChange.objects.exclude(lost_reason="").exists()


# --- the merged timeline


def _long_history(customer, owner, count: int) -> None:
    """`count` rounds of an interaction, a purchase, a deal step and an owner change; every
    other round all four at the very same time, so ties between sources are exercised."""
    deal = services.create_deal(actor=owner, customer=customer, title="Big order", amount=5000)
    base = timezone.now() - datetime.timedelta(days=60)
    for n in range(count):
        at = base + datetime.timedelta(hours=n // 2)
        InteractionFactory(customer=customer, occurred_at=at, kind="call")
        TransactionFactory(customer=customer, occurred_at=at)
        DealStageChange.objects.create(
            deal=deal, kind=DealChangeKind.MOVED, from_stage=stage("Lead"), to_stage=stage("Lead"),
            at=at, actor=owner,
        )  # fmt: skip
        OwnershipChange.objects.create(
            customer=customer, to_owner=owner, kind=OwnershipChangeKind.CLAIM, actor=owner, at=at
        )


def _rank_key(entry):
    return (entry.occurred_at, entry.source.rank, entry.record.pk)


@pytest.mark.parametrize("size", [1, 3, 7, 20])
def test_the_merged_history_pages_newest_first_without_gaps_or_repeats(sales_user, size):
    customer = CustomerFactory(owner=sales_user)
    _long_history(customer, sales_user, 9)
    seen, after = [], ""
    while True:
        entries, after = customer_timeline(customer=customer, after=after, size=size)
        assert len(entries) <= size
        seen += entries
        if after is None:
            break
    cursors = [entry.cursor for entry in seen]
    expected = (
        {f"i{pk}" for pk in customer.interactions.values_list("pk", flat=True)}
        | {f"t{pk}" for pk in customer.transactions.values_list("pk", flat=True)}
        | {
            f"d{pk}"
            for pk in DealStageChange.objects.filter(deal__customer=customer).values_list(
                "pk", flat=True
            )
        }
        | {f"o{pk}" for pk in customer.ownership_changes.values_list("pk", flat=True)}
    )
    assert len(cursors) == len(set(cursors)) == len(expected) == 9 * 4 + 1
    assert set(cursors) == expected
    keys = [_rank_key(entry) for entry in seen]
    assert keys == sorted(keys, reverse=True)


def test_the_old_interaction_and_purchase_cursors_still_page():
    customer = CustomerFactory()
    at = timezone.now() - datetime.timedelta(days=1)
    older = InteractionFactory(customer=customer, occurred_at=at - datetime.timedelta(hours=1))
    purchase = TransactionFactory(customer=customer, occurred_at=at)
    same_time = InteractionFactory(customer=customer, occurred_at=at)
    # A purchase at the same time as an interaction comes first, as before.
    entries, _cursor = customer_timeline(customer=customer, after=f"t{purchase.pk}")
    assert [e.cursor for e in entries] == [f"i{same_time.pk}", f"i{older.pk}"]
    entries, _cursor = customer_timeline(customer=customer, after=f"i{same_time.pk}")
    assert [e.cursor for e in entries] == [f"i{older.pk}"]


def test_the_kind_filter_shows_deals_or_owner_changes_alone(sales_user):
    customer = CustomerFactory()
    claim_customer(actor=sales_user, customer=customer)
    services.create_deal(actor=sales_user, customer=customer, title="T", amount=1)
    release_customer(actor=sales_user, customer=customer, reason="Moved to Shenzhen")
    InteractionFactory(customer=customer)
    deals, _cursor = customer_timeline(customer=customer, kind="deals")
    owners, _cursor = customer_timeline(customer=customer, kind="owners")
    assert [e.cursor[0] for e in deals] == ["d"]
    assert [e.record.kind for e in owners] == ["release", "claim"]
    everything, _cursor = customer_timeline(customer=customer)
    assert len(everything) == 4


def test_the_timeline_endpoint_queries_stay_bounded_whatever_the_history(
    client, sales_user, django_assert_max_num_queries
):
    customer = CustomerFactory(owner=sales_user)
    _long_history(customer, sales_user, 2)
    client.force_login(sales_user)
    url = reverse("interactions:timeline", args=[customer.pk])
    # Session, user, permissions (two), the customer, one query per source (interactions: the
    # hot table and the archive, and their custom fields).
    with django_assert_max_num_queries(12) as short_history:
        first = client.get(url)
    _long_history(customer, sales_user, 40)
    with django_assert_max_num_queries(len(short_history.captured_queries)):
        response = client.get(url)
    assert len(response.context["entries"]) == 20
    # Paging on costs one more query: the one placing the cursor.
    with django_assert_max_num_queries(len(short_history.captured_queries) + 1):
        more = client.get(url, {"after": response.context["next_cursor"]})
    assert len(more.context["entries"]) == 20
    assert first.status_code == response.status_code == more.status_code == 200


def test_a_deal_the_reader_may_not_see_is_left_out_and_a_privacy_officer_sees_no_deals(
    client, sales_user, other_sales_user, privacy_user
):
    # The customer is the reader's; one deal on it is a colleague's (not in their team).
    customer = CustomerFactory(owner=sales_user)
    theirs = services.create_deal(
        actor=other_sales_user, customer=customer, title="Colleague's deal", amount=Decimal("70")
    )
    mine = services.create_deal(
        actor=sales_user, customer=customer, title="My deal", amount=Decimal("12800")
    )
    services.win_deal(actor=sales_user, deal=mine, record_purchase=False)
    client.force_login(sales_user)
    page = client.get(
        reverse("interactions:timeline", args=[customer.pk]), {"kind": "deals"}
    ).content.decode()
    assert "Colleague&#x27;s deal" not in page
    assert reverse("deals:detail", args=[theirs.pk]) not in page
    assert page.count(f'href="{reverse("deals:detail", args=[mine.pk])}"') == 2
    assert "12,800.00 CNY" in page
    client.force_login(privacy_user)
    officers = client.get(reverse("interactions:timeline", args=[customer.pk])).content.decode()
    assert "My deal" not in officers
    assert "12,800.00" not in officers
