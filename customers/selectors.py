"""Reads of customers, always scoped to what the asking user may see."""

from __future__ import annotations

import contextlib

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet
from django.http import Http404

from customers.models import Customer
from customers.normalize import NormalizationError, normalize_email, normalize_phone


def customers_visible_to(user: AbstractBaseUser) -> QuerySet[Customer]:
    """Active (not merged) customers the user may see: all of them with `view_all_customers`,
    otherwise the user's own and unassigned ones. Without `view_customer`, none."""
    live = Customer.objects.filter(merged_into__isnull=True)
    if not user.has_perm("customers.view_customer"):
        return live.none()
    if user.has_perm("customers.view_all_customers"):
        return live
    return live.filter(Q(owner=user) | Q(owner__isnull=True))


def get_customer_for(user: AbstractBaseUser, pk: int) -> Customer:
    """The customer if the user may see it; Http404 otherwise, so existence is not leaked."""
    try:
        return customers_visible_to(user).select_related("owner").get(pk=pk)
    except Customer.DoesNotExist as missing:
        raise Http404 from missing


def can_edit_customer(user: AbstractBaseUser, customer: Customer) -> bool:
    """Editing needs `change_customer` and the customer in the user's scope."""
    if not user.has_perm("customers.change_customer"):
        return False
    return user.has_perm("customers.view_all_customers") or customer.owner_id in (None, user.pk)


def can_view_personal_data(user: AbstractBaseUser, customer: Customer) -> bool:
    """Unmasked phone, email and address: the permission, and for users scoped to their own
    customers only on customers they own."""
    if not user.has_perm("customers.view_personal_data"):
        return False
    return user.has_perm("customers.view_all_customers") or customer.owner_id == user.pk


def search_customers(*, user: AbstractBaseUser, query: str = "") -> QuerySet[Customer]:
    """Customers visible to the user matching a free-text query: a phone number in any format,
    an email, or part of a name or company. An empty query matches everything visible."""
    customers = customers_visible_to(user)
    query = query.strip()
    if not query:
        return customers
    conditions = Q(name__icontains=query) | Q(company_name__icontains=query)
    # A query that is not a valid email or phone simply does not match those columns.
    if "@" in query:
        with contextlib.suppress(NormalizationError):
            conditions |= Q(email=normalize_email(query))
    if any(ch.isdigit() for ch in query):
        with contextlib.suppress(NormalizationError):
            phone = normalize_phone(query, region=settings.DEFAULT_PHONE_REGION)
            conditions |= Q(phone=phone)
    return customers.filter(conditions)
