"""Reads of the shared pool, scoped to the asking user."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.teams import works_on_behalf_of
from customers.models import Customer
from customers.selectors import customers_visible_to, search_customers
from kernel.actors import Actor
from sales.models import OwnershipChange, PoolRules


def pool_rules() -> PoolRules:
    """The pool's rules row, created with the settings' defaults the first time it is read."""
    rules, _created = PoolRules.objects.get_or_create(pk=1)
    return rules


def pool_customers(*, user: Actor, query: str = "") -> QuerySet[Customer]:
    """The live customers without an owner that `user` may see (the pool), matching the search
    box as the customer list does (`customers.selectors.search_customers`): page it with
    `customers.selectors.customer_page`. Erased customers are not offered."""
    customers = search_customers(user=user, query=query) if query else customers_visible_to(user)
    return customers.filter(owner__isnull=True, erased_at__isnull=True, archived_at__isnull=True)


def owned_customer_count(user: Actor) -> int:
    """How many live customers `user` owns: what the claim quota caps (one indexed count)."""
    return Customer.objects.filter(owner=user, merged_into__isnull=True).count()


def can_claim(user: Actor, customer: Customer) -> bool:
    """Whether `user` may take this customer from the pool: the permission, and the customer
    unowned and still workable (not erased or restricted)."""
    return (
        user.has_perm("sales.claim_from_pool")
        and customer.owner_id is None
        and not customer.erased_at
        and not customer.restricted_at
    )


def can_release(user: Actor, customer: Customer) -> bool:
    """Whether `user` may return this customer to the pool: its owner, the owner's team
    manager, or a pool administrator (`manage_pool`)."""
    if customer.owner_id is None or customer.erased_at or customer.restricted_at:
        return False
    if user.has_perm("sales.manage_pool"):
        return True
    return customer.owner_id == user.pk or works_on_behalf_of(user, customer.owner_id)


HISTORY_SHOWN = 10


def ownership_history(customer: Customer, *, limit: int = HISTORY_SHOWN) -> list[OwnershipChange]:
    """The customer's latest ownership changes, newest first, with the people loaded."""
    return list(
        OwnershipChange.objects.filter(customer=customer).select_related(
            "from_owner", "to_owner", "actor"
        )[:limit]
    )
