"""Reads of purchases, interactions and follow-ups, scoped through the customers a user sees."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Avg, Count, Max, QuerySet, Sum

from customers.models import Customer
from customers.selectors import customers_visible_to
from interactions.models import FollowUp, Interaction, Transaction, TransactionStatus


def follow_ups_for(*, user: AbstractBaseUser) -> QuerySet[FollowUp]:
    """Open follow-ups assigned to the user on customers they may see, soonest first."""
    return (
        FollowUp.objects.filter(
            assignee=user, done_at__isnull=True, customer__in=customers_visible_to(user)
        )
        .select_related("customer")
        .order_by("due_at", "pk")
    )


def recent_interactions_for(*, user: AbstractBaseUser) -> QuerySet[Interaction]:
    """The newest interactions on the user's own customers."""
    return (
        Interaction.objects.filter(customer__owner=user, customer__merged_into__isnull=True)
        .select_related("customer", "staff")
        .order_by("-occurred_at", "-pk")
    )


def customer_history(*, customer: Customer, limit: int = 20) -> dict[str, list]:
    """The latest transactions, interactions and open follow-ups of one customer: three
    bounded queries whatever the length of the history."""
    return {
        "transactions": list(customer.transactions.order_by("-occurred_at", "-pk")[:limit]),
        "interactions": list(
            customer.interactions.select_related("staff", "contact").order_by(
                "-occurred_at", "-pk"
            )[:limit]
        ),
        "follow_ups": list(
            customer.follow_ups.filter(done_at__isnull=True).select_related("assignee")[:limit]
        ),
    }


def customer_totals(*, customer: Customer) -> dict:
    """Order count, revenue, last purchase and average order value over paid transactions."""
    return Transaction.objects.filter(customer=customer, status=TransactionStatus.PAID).aggregate(
        orders=Count("pk"),
        revenue=Sum("amount"),
        last_purchase=Max("occurred_at"),
        average_order=Avg("amount"),
    )
