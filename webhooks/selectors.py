"""The reads of the webhook pages and API."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db.models import QuerySet

from webhooks.models import Delivery, Subscription

DELIVERY_PAGE = 50


def subscriptions() -> QuerySet[Subscription]:
    """Every subscription, by name, with what its list shows."""
    return Subscription.objects.select_related("owner", "service_account").order_by("name", "pk")


def service_accounts() -> QuerySet:
    """Users a subscription may take its permissions from: active accounts without a password
    (accounts/api_keys.py `create_service_account`), which no person signs in as."""
    return (
        get_user_model()
        .objects.filter(is_active=True, password__startswith=UNUSABLE_PASSWORD_PREFIX)
        .order_by("username")
    )


def owners() -> QuerySet:
    """People who may be told about a subscription: active users with an e-mail address."""
    return get_user_model().objects.filter(is_active=True).exclude(email="").order_by("username")


def deliveries_of(subscription: Subscription, *, status: str = "") -> QuerySet[Delivery]:
    """The subscription's deliveries, newest first, optionally of one status, without their
    bodies (the log shows how each went, not what it carried)."""
    deliveries = Delivery.objects.filter(subscription=subscription)
    if status:
        deliveries = deliveries.filter(status=status)
    return deliveries.defer("body").order_by("-pk")


def delivery_log(
    subscription: Subscription, *, status: str = "", before: int | None = None
) -> list[Delivery]:
    """A page of the subscription's deliveries, newest first (keyset: those older than
    `before`), optionally of one status."""
    deliveries = deliveries_of(subscription, status=status)
    if before is not None:
        deliveries = deliveries.filter(pk__lt=before)
    return list(deliveries[:DELIVERY_PAGE])
