"""Every write to webhook subscriptions and deliveries made by people (the pages, the API):
one transaction each, audited, and the outbox told which topics are listened to
(kernel/outbox.py forgets its cached set). The worker's own writes are in webhooks/relay.py."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kernel import outbox
from kernel.actors import Actor
from privacy import crypto
from privacy.audit.recording import record_event
from webhooks.audit import WebhookAction
from webhooks.models import Delivery, DeliveryStatus, PauseReason, Subscription
from webhooks.signing import SECRET_CONTEXT, new_secret
from webhooks.targets import check_target

# The fields a subscription's form and the API may change.
EDITABLE_FIELDS = ("name", "target_url", "topics", "service_account", "owner")


@dataclass(frozen=True)
class NewSecret:
    """A subscription and its signing secret, shown once: only its encryption is stored."""

    subscription: Subscription
    secret: str


def _clean_topics(topics: Iterable[str]) -> list[str]:
    known = {topic.name for topic in outbox.topics()}
    chosen = sorted(set(topics))
    if not chosen:
        raise ValidationError({"topics": _("Choose at least one event.")})
    unknown = [name for name in chosen if name not in known]
    if unknown:
        raise ValidationError(
            {"topics": _("Unknown events: %(names)s.") % {"names": ", ".join(unknown)}}
        )
    return chosen


def _validate(subscription: Subscription) -> None:
    try:
        check_target(subscription.target_url)
    except ValidationError as refused:
        raise ValidationError({"target_url": refused.messages}) from refused
    subscription.full_clean(exclude=["secret_encrypted"])


def _audit_snapshot(subscription: Subscription) -> dict[str, Any]:
    return {
        "name": subscription.name,
        "target_url": subscription.target_url,
        "topics": subscription.topics,
        "service_account": subscription.service_account_id,
        "owner": subscription.owner_id,
    }


@transaction.atomic
def create_subscription(
    *,
    actor: Actor,
    name: str,
    target_url: str,
    topics: Iterable[str],
    service_account: Any,
    owner: Any,
) -> NewSecret:
    """A new, active subscription with a new signing secret, returned once. Raises
    ValidationError (per field) for an address deliveries may not go to (webhooks/targets.py)
    or no known event. Audited (`webhook.create`)."""
    secret = new_secret()
    subscription = Subscription(
        name=name.strip(),
        target_url=target_url.strip(),
        topics=_clean_topics(topics),
        service_account=service_account,
        owner=owner,
        secret_encrypted=crypto.encrypt(secret, context=SECRET_CONTEXT),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    _validate(subscription)
    subscription.save()
    record_event(
        actor=actor,
        action=WebhookAction.CREATE,
        target=subscription,
        changes=_audit_snapshot(subscription),
    )
    outbox.forget_subscribed_topics()
    return NewSecret(subscription, secret)


@transaction.atomic
def update_subscription(
    *, actor: Actor, subscription: Subscription, **changes: Any
) -> Subscription:
    """Change the name, address, events, service account or owner. Events already relayed keep
    the payload they were masked with. Raises ValidationError as create_subscription does.
    Audited (`webhook.update`) when something changed."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Not editable: {sorted(unknown)}")
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    before = _audit_snapshot(subscription)
    if "topics" in changes:
        changes["topics"] = _clean_topics(changes["topics"])
    for field, value in changes.items():
        setattr(subscription, field, value.strip() if isinstance(value, str) else value)
    after = _audit_snapshot(subscription)
    if after == before:
        return subscription
    _validate(subscription)
    subscription.save()
    record_event(
        actor=actor,
        action=WebhookAction.UPDATE,
        target=subscription,
        changes={key: [before[key], after[key]] for key in after if after[key] != before[key]},
    )
    outbox.forget_subscribed_topics()
    return subscription


@transaction.atomic
def rotate_secret(*, actor: Actor, subscription: Subscription) -> NewSecret:
    """A new signing secret, returned once; the current one keeps signing beside it for
    WEBHOOKS_SECRET_OVERLAP_HOURS so the receiver can switch without losing a delivery.
    Audited (`webhook.rotate`, without either secret)."""
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    secret = new_secret()
    subscription.previous_secret_encrypted = subscription.secret_encrypted
    subscription.previous_secret_expires_at = timezone.now() + datetime.timedelta(
        hours=settings.WEBHOOKS_SECRET_OVERLAP_HOURS
    )
    subscription.secret_encrypted = crypto.encrypt(secret, context=SECRET_CONTEXT)
    subscription.save(
        update_fields=[
            "previous_secret_encrypted",
            "previous_secret_expires_at",
            "secret_encrypted",
        ]
    )
    record_event(
        actor=actor,
        action=WebhookAction.ROTATE,
        target=subscription,
        changes={"previous_valid_until": subscription.previous_secret_expires_at.isoformat()},
    )
    return NewSecret(subscription, secret)


@transaction.atomic
def pause_subscription(*, actor: Actor, subscription: Subscription) -> Subscription:
    """Stop deliveries by hand; events keep being relayed into deliveries that wait for a
    resume (the retry clock starts then). Idempotent. Audited (`webhook.pause`)."""
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if subscription.is_active:
        subscription.is_active = False
        subscription.paused_reason = PauseReason.BY_HAND
        subscription.paused_at = timezone.now()
        subscription.save(update_fields=["is_active", "paused_reason", "paused_at"])
        record_event(
            actor=actor,
            action=WebhookAction.PAUSE,
            target=subscription,
            changes={"reason": PauseReason.BY_HAND.value},
        )
    return subscription


@transaction.atomic
def resume_subscription(*, actor: Actor, subscription: Subscription) -> Subscription:
    """Deliver again: the deliveries that waited are due now, the failure clock starts
    afresh. Idempotent. Audited (`webhook.resume`)."""
    from webhooks.tasks import kick_delivery

    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if not subscription.is_active:
        subscription.is_active = True
        subscription.paused_reason = ""
        subscription.paused_at = None
        subscription.failing_since = None
        subscription.save(
            update_fields=["is_active", "paused_reason", "paused_at", "failing_since"]
        )
        now = timezone.now()
        subscription.deliveries.filter(status=DeliveryStatus.PENDING).update(
            next_attempt_at=now, created_at=now
        )
        record_event(actor=actor, action=WebhookAction.RESUME, target=subscription)
        transaction.on_commit(kick_delivery)
    return subscription


@transaction.atomic
def delete_subscription(*, actor: Actor, subscription: Subscription) -> None:
    """Remove a subscription and its delivery log. Audited (`webhook.delete`)."""
    record_event(
        actor=actor,
        action=WebhookAction.DELETE,
        target=subscription,
        changes=_audit_snapshot(subscription),
    )
    subscription.delete()
    outbox.forget_subscribed_topics()


@transaction.atomic
def replay_delivery(*, actor: Actor, delivery: Delivery) -> Delivery:
    """Send a delivery's body again as a new delivery, due now (the same webhook-id, so a
    receiver that keeps ids sees it is the same event). Audited (`webhook.replay`)."""
    from webhooks.tasks import kick_delivery

    replay = Delivery.objects.create(
        subscription=delivery.subscription,
        event_id=delivery.event_id,
        topic=delivery.topic,
        body=delivery.body,
        next_attempt_at=timezone.now(),
        replay_of=delivery,
    )
    record_event(
        actor=actor,
        action=WebhookAction.REPLAY,
        target=delivery.subscription,
        changes={"delivery": delivery.pk, "replay": replay.pk},
    )
    transaction.on_commit(kick_delivery)
    return replay
