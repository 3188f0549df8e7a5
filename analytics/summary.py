"""The 360° summary of one customer for the API: what the customer page shows in one read —
the nightly figures (RFM, lifetime value, churn risk), live purchase totals, counts, the latest
purchases and interactions, open follow-ups and segments — through the owning apps' selectors,
in a number of queries that does not grow with the customer's history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from analytics.churn import metrics_with_churn_status
from analytics.models import CustomerMetrics, Segment
from analytics.segments.selectors import segments_of
from customers.models import Customer
from interactions.models import ArchivedInteraction, FollowUp, Interaction, Transaction
from interactions.selectors import (
    customer_record_counts,
    customer_totals,
    latest_interactions,
    latest_purchases,
    open_follow_ups,
    preferred_categories,
)
from kernel.actors import Actor

LATEST = 5


@dataclass(frozen=True)
class CustomerSummary:
    customer: Customer
    # None before the first nightly refresh.
    metrics: CustomerMetrics | None
    buys_most: list[tuple[str, Any]]
    purchase_totals: dict[str, Any]
    counts: dict[str, int]
    latest_purchases: list[Transaction]
    latest_interactions: list[Interaction | ArchivedInteraction]
    open_follow_ups: list[FollowUp]
    # None for a user who may not read segments.
    segments: list[Segment] | None


def customer_summary(*, user: Actor, customer: Customer) -> CustomerSummary:
    """The summary of `customer`, a customer `user` may see (loaded through the scoped
    selectors by the caller). Segments only for holders of `analytics.view_segment`, as the
    segment pages."""
    return CustomerSummary(
        customer=customer,
        metrics=metrics_with_churn_status(customer_id=customer.pk),
        buys_most=preferred_categories(customer=customer),
        purchase_totals=customer_totals(customer=customer),
        counts=customer_record_counts(customer=customer),
        latest_purchases=latest_purchases(customer=customer, limit=LATEST),
        latest_interactions=latest_interactions(customer=customer, limit=LATEST),
        open_follow_ups=open_follow_ups(customer=customer),
        segments=segments_of(customer) if user.has_perm("analytics.view_segment") else None,
    )
