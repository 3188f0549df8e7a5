"""Every write of the shared pool (公海): its rules, claims, releases by hand and the nightly
return of idle customers. Owners change through customers.services.change_owner /
release_idle_owners (the customers app's one write path for a customer's owner); each change
is added to the customer's ownership history here."""

from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from customers.models import Customer
from customers.services import audit_diff, change_owner, release_idle_owners
from kernel.actors import Actor
from notifications.models import Notification, NotificationKind
from notifications.services import notify_many
from privacy.audit.recording import record_event
from sales.audit import PoolAction
from sales.models import OwnershipChange, OwnershipChangeKind, PoolRules
from sales.pool.selectors import can_claim, can_release, owned_customer_count, pool_rules

RULE_FIELDS = ("claim_quota", "release_days", "warning_days", "auto_release")
# Customers released per transaction by the nightly run: a killed worker loses one batch, and
# the rerun picks up the rest.
RELEASE_BATCH_SIZE = 2000
_SENTINEL_ID = 987654321


@transaction.atomic
def update_pool_rules(*, actor: Actor, **values: Any) -> PoolRules:
    """Change the pool's rules (`claim_quota`, `release_days`, `warning_days`,
    `auto_release`); audited with what changed. Raises ValidationError for values out of range
    or a warning not shorter than the idle period."""
    rules = PoolRules.objects.select_for_update().get(pk=pool_rules().pk)
    before = {field: getattr(rules, field) for field in RULE_FIELDS}
    for field in RULE_FIELDS:
        if field in values:
            setattr(rules, field, values[field])
    rules.full_clean()
    if rules.warning_days >= rules.release_days:
        raise ValidationError(
            {"warning_days": _("The warning must come fewer days before than the idle period.")}
        )
    after = {field: getattr(rules, field) for field in RULE_FIELDS}
    if after != before:
        rules.updated_by = actor
        rules.save()
        record_event(
            actor=actor, action=PoolAction.RULES, target=rules, changes=audit_diff(before, after)
        )
    return rules


def claim_customer(*, actor: Actor, customer: Customer) -> None:
    """Take `customer` from the pool for `actor`. Raises PermissionDenied without the right to
    claim it, ValidationError when the actor is at the quota or someone else took it first
    (nothing is written then)."""
    if not can_claim(actor, customer):
        if customer.owner_id is not None:
            raise ValidationError(_("Someone else has just claimed this customer."))
        raise PermissionDenied
    quota = pool_rules().claim_quota
    with transaction.atomic():
        if owned_customer_count(actor) >= quota:
            raise ValidationError(
                _(
                    "You already own %(quota)d customers, the most one person may hold: "
                    "return one to the pool before claiming another."
                )
                % {"quota": quota}
            )
        if not change_owner(
            actor=actor,
            customer=customer,
            to_owner=actor,
            expected_owner_id=None,
            action=PoolAction.CLAIM,
        ):
            raise ValidationError(_("Someone else has just claimed this customer."))
        OwnershipChange.objects.create(
            customer=customer, to_owner=actor, kind=OwnershipChangeKind.CLAIM, actor=actor
        )


def release_customer(*, actor: Actor, customer: Customer, reason: str) -> None:
    """Return `customer` to the pool by hand, with `reason` (required). Raises PermissionDenied
    unless `actor` is its owner, the owner's manager or a pool administrator; ValidationError
    without a reason or when its owner changed meanwhile."""
    reason = reason.strip()
    if not can_release(actor, customer):
        raise PermissionDenied
    if not reason:
        raise ValidationError({"reason": _("Say why the customer goes back to the pool.")})
    former_owner = customer.owner
    with transaction.atomic():
        if not change_owner(
            actor=actor,
            customer=customer,
            to_owner=None,
            expected_owner_id=customer.owner_id,
            action=PoolAction.RELEASE,
            reason=reason,
        ):
            raise ValidationError(_("This customer's owner changed meanwhile: reload the page."))
        OwnershipChange.objects.create(
            customer=customer,
            from_owner=former_owner,
            kind=OwnershipChangeKind.RELEASE,
            reason=reason[:200],
            actor=actor,
        )


@dataclass
class NightlyRelease:
    warned: int = 0
    released: int = 0


def release_idle_customers(
    *, now: datetime.datetime | None = None, batch_size: int = RELEASE_BATCH_SIZE
) -> NightlyRelease:
    """The nightly run: warn the owners of customers idle for (release days − warning days),
    once per customer and idle period, then return to the pool those idle for release days,
    in batches (each: one UPDATE, history rows in bulk, one audit event, a notification per
    customer to its former owner). Nothing when the rules turn it off. Safe to rerun: a
    customer is warned once per idle period and released once."""
    rules = pool_rules()
    result = NightlyRelease()
    if not rules.auto_release:
        return result
    now = now or timezone.now()
    release_before = now - datetime.timedelta(days=rules.release_days)
    warn_before = now - datetime.timedelta(days=rules.release_days - rules.warning_days)
    if rules.warning_days:
        result.warned = _warn_idle_owners(
            after=release_before, before=warn_before, days_left=rules.warning_days
        )
    while True:
        batch = list(
            Customer.objects.filter(
                owner__isnull=False,
                owner_active_at__lt=release_before,
                merged_into__isnull=True,
            )
            .order_by("owner_active_at")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not batch:
            return result
        result.released += _release_batch(batch, release_before, now)


def _idle_customers(*, after: datetime.datetime, before: datetime.datetime) -> QuerySet[Customer]:
    return Customer.objects.filter(
        owner__isnull=False,
        owner_active_at__gte=after,
        owner_active_at__lt=before,
        merged_into__isnull=True,
    )


def _warn_idle_owners(
    *, after: datetime.datetime, before: datetime.datetime, days_left: int
) -> int:
    """One warning per customer and idle period: the once key holds the instant the period
    started (the owner's last activity), so a customer worked on and idle again is warned
    again. Read and written in batches (bulk inserts), not one query per customer."""
    warned = 0
    idle = (
        _idle_customers(after=after, before=before)
        .order_by()
        .values_list("pk", "name", "owner_id", "owner_active_at")
    )
    batch: list[Notification] = []
    with translation.override(settings.LANGUAGE_CODE):
        for customer_id, name, owner_id, idle_since in idle.iterator(chunk_size=RELEASE_BATCH_SIZE):
            message = _(
                "%(name)s returns to the shared pool in %(days)d days unless you work on them."
            ) % {"name": name, "days": days_left}
            batch.append(
                Notification(
                    recipient_id=owner_id,
                    kind=NotificationKind.POOL_RELEASE_WARNING,
                    message=message,
                    url=customer_url(customer_id),
                    customer_id=customer_id,
                    once_key=_warning_key(customer_id, idle_since),
                )
            )
            if len(batch) == RELEASE_BATCH_SIZE:
                warned += notify_many(batch)
                batch = []
        warned += notify_many(batch)
    return warned


def customer_url(customer_id: int) -> str:
    """The customer page's address, without resolving the URL pattern once per customer of a
    nightly batch (tens of thousands of reverse() calls cost seconds)."""
    return _customer_url_pattern().format(customer_id)


@functools.cache
def _customer_url_pattern() -> str:
    return reverse("customers:detail", args=[_SENTINEL_ID]).replace(str(_SENTINEL_ID), "{}")


def _warning_key(customer_id: int, idle_since: datetime.datetime | None) -> str:
    """The once key of a warning: the customer and the start of its idle period (always set
    on the owned customers warned; empty only for the type checker)."""
    period = f"{idle_since.timestamp():.0f}" if idle_since is not None else ""
    return f"pool.warning:{customer_id}:{period}"


def _release_batch(
    customer_ids: list[int], idle_before: datetime.datetime, now: datetime.datetime
) -> int:
    with transaction.atomic(), translation.override(settings.LANGUAGE_CODE):
        released = release_idle_owners(
            customer_ids=customer_ids, idle_before=idle_before, action=PoolAction.AUTO_RELEASE
        )
        reason = _("No activity from the owner since %(date)s.") % {
            "date": idle_before.date().isoformat()
        }
        OwnershipChange.objects.bulk_create(
            OwnershipChange(
                customer_id=customer_id,
                from_owner_id=owner_id,
                kind=OwnershipChangeKind.AUTO_RELEASE,
                reason=reason,
                at=now,
            )
            for customer_id, owner_id in released
        )
        names = dict(
            Customer.objects.filter(pk__in=[pk for pk, _owner in released]).values_list(
                "pk", "name"
            )
        )
        notify_many(
            [
                Notification(
                    recipient_id=owner_id,
                    kind=NotificationKind.POOL_RELEASED,
                    message=_(
                        "%(name)s went back to the shared pool: nobody worked on them for too long."
                    )
                    % {"name": names.get(customer_id, "")},
                    url=customer_url(customer_id),
                    customer_id=customer_id,
                    once_key=f"pool.released:{customer_id}:{now.timestamp():.0f}",
                )
                for customer_id, owner_id in released
            ]
        )
    return len(released)
