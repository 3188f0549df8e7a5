"""From the outbox to the receivers, in the worker (webhooks/tasks.py):

1. `relay_events`: each event not yet relayed becomes one delivery per subscription to its
   topic (a paused one's waits for the resume), its payload masked and scoped for that
   subscription's service account now, and the body fixed (retries and replays send the same
   bytes, so the same signature content).
2. `deliver_due`: the deliveries due are claimed (a lease, so two workers never send one
   twice), sent concurrently by a pool of threads over one pooled HTTP session, and their
   results written back: delivered; or retried with exponential backoff and jitter until
   WEBHOOKS_RETRY_HOURS after the first attempt, then given up. A subscription failing
   without a success for WEBHOOKS_PAUSE_AFTER_HOURS is paused and its owner told; one whose
   receiver answers 410 Gone is paused at once.

Threads only talk HTTP; every database read and write happens in the task's own thread."""

from __future__ import annotations

import datetime
import json
import logging
import random
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import Any

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from requests.adapters import HTTPAdapter

from kernel import outbox
from kernel.models import OutboxEvent
from privacy import crypto
from privacy.audit.recording import record_event
from webhooks.alerts import queue_pause_notice
from webhooks.audit import WebhookAction
from webhooks.models import Delivery, DeliveryStatus, PauseReason, Subscription
from webhooks.signing import SECRET_CONTEXT, signature_header
from webhooks.targets import check_target

logger = logging.getLogger(__name__)

RELAY_BATCH = 500
DELIVERY_BATCH = 200
# A claimed delivery is left alone by other runs for this long: longer than any attempt
# (connect + read timeouts) takes, short enough that a killed worker's claims come back soon.
_LEASE = datetime.timedelta(minutes=2)
_FIRST_RETRY_SECONDS = 30
_LONGEST_WAIT_SECONDS = 6 * 3600
RESPONSE_CHARS = 1000
USER_AGENT = "CRM-Webhooks/1"


def subscribed_topics() -> set[str]:
    """The topics some subscription listens to (kernel/outbox.py's cache asks). A paused one
    counts: its events wait for the resume."""
    return {
        name for names in Subscription.objects.values_list("topics", flat=True) for name in names
    }


def body_of(event: OutboxEvent, data: dict[str, Any]) -> str:
    """The request body: the Standard Webhooks payload shape, minified."""
    return json.dumps(
        {"type": event.topic, "timestamp": event.occurred_at.isoformat(), "data": data},
        cls=DjangoJSONEncoder,
        ensure_ascii=False,
        separators=(",", ":"),
    )


def relay_events(*, limit: int = RELAY_BATCH) -> int:
    """Turn up to `limit` unrelayed events into deliveries (see the module docstring); returns
    how many events were relayed. Concurrent runs take different events (PostgreSQL: SKIP
    LOCKED; SQLite: one writer at a time)."""
    now = timezone.now()
    with transaction.atomic():
        events = list(
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(relayed_at=None)
            .order_by("pk")[:limit]
        )
        if not events:
            return 0
        # Paused subscriptions too: their deliveries wait for the resume.
        subscriptions = list(Subscription.objects.select_related("service_account"))
        deliveries = []
        for event in events:
            for subscription in subscriptions:
                if event.topic not in subscription.topics:
                    continue
                data = outbox.topic(event.topic).mask(subscription.service_account, event.data)
                if data is None:
                    continue
                deliveries.append(
                    Delivery(
                        subscription=subscription,
                        event=event,
                        topic=event.topic,
                        body=body_of(event, data),
                        next_attempt_at=now,
                    )
                )
        Delivery.objects.bulk_create(deliveries)
        OutboxEvent.objects.filter(pk__in=[event.pk for event in events]).update(relayed_at=now)
    return len(events)


@dataclass(frozen=True)
class Attempt:
    """What a thread needs to send one delivery (no model instances cross threads)."""

    delivery_id: int
    url: str
    message_id: str
    body: str
    secrets: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    delivery_id: int
    at: datetime.datetime
    status_code: int | None
    duration_ms: int
    response: str

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def live_secrets(subscription: Subscription, *, now: datetime.datetime) -> tuple[str, ...]:
    """The secrets that sign now: the current one, and the previous one until it expires."""
    found = [crypto.decrypt(subscription.secret_encrypted, context=SECRET_CONTEXT)]
    if (
        subscription.previous_secret_encrypted
        and subscription.previous_secret_expires_at
        and subscription.previous_secret_expires_at > now
    ):
        found.append(crypto.decrypt(subscription.previous_secret_encrypted, context=SECRET_CONTEXT))
    return tuple(found)


def _claim(*, limit: int) -> list[Attempt]:
    now = timezone.now()
    with transaction.atomic():
        due = list(
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                status=DeliveryStatus.PENDING,
                next_attempt_at__lte=now,
                subscription__is_active=True,
            )
            .select_related("subscription")
            .order_by("next_attempt_at", "pk")[:limit]
        )
        Delivery.objects.filter(pk__in=[delivery.pk for delivery in due]).update(
            next_attempt_at=now + _LEASE
        )
    secrets_of: dict[int, tuple[str, ...]] = {}
    for delivery in due:
        if delivery.subscription_id not in secrets_of:
            secrets_of[delivery.subscription_id] = live_secrets(delivery.subscription, now=now)
    return [
        Attempt(
            delivery_id=delivery.pk,
            url=delivery.subscription.target_url,
            message_id=delivery.message_id,
            body=delivery.body,
            secrets=secrets_of[delivery.subscription_id],
        )
        for delivery in due
    ]


@cache
def _session() -> requests.Session:
    """One pooled session per worker process, sized for the thread pool."""
    session = requests.Session()
    adapter = HTTPAdapter(
        pool_connections=settings.WEBHOOKS_CONCURRENCY,
        pool_maxsize=settings.WEBHOOKS_CONCURRENCY,
        max_retries=0,
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def send(attempt: Attempt) -> Outcome:
    """POST one delivery, signed now; never raises (a failure is an outcome)."""
    at = timezone.now()
    began = time.monotonic()
    status_code, response_text = None, ""
    try:
        check_target(attempt.url)
        timestamp = int(at.timestamp())
        response = _session().post(
            attempt.url,
            data=attempt.body.encode(),
            headers={
                "content-type": "application/json",
                "user-agent": USER_AGENT,
                "webhook-id": attempt.message_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": signature_header(
                    attempt.secrets,
                    message_id=attempt.message_id,
                    timestamp=timestamp,
                    body=attempt.body,
                ),
            },
            timeout=(settings.WEBHOOKS_CONNECT_TIMEOUT, settings.WEBHOOKS_READ_TIMEOUT),
            allow_redirects=False,
            stream=True,
        )
        with response:
            status_code = response.status_code
            # Only the start of the answer is kept: a receiver's error page can be megabytes.
            head = response.raw.read(RESPONSE_CHARS * 4, decode_content=True) or b""
            response_text = head.decode(response.encoding or "utf-8", "replace")[:RESPONSE_CHARS]
    except ValidationError as refused:
        response_text = " ".join(refused.messages)
    except requests.RequestException as failure:
        # The kind of failure (timeout, refused connection, TLS) without the URL's details.
        response_text = type(failure).__name__
    return Outcome(
        delivery_id=attempt.delivery_id,
        at=at,
        status_code=status_code,
        duration_ms=int((time.monotonic() - began) * 1000),
        response=response_text,
    )


def retry_delay(attempts: int) -> datetime.timedelta:
    """Exponential backoff from 30 s, doubling per attempt up to 6 h, with ±20 % jitter so
    that deliveries failing together do not come back together."""
    seconds = min(_FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), _LONGEST_WAIT_SECONDS)
    return datetime.timedelta(seconds=seconds * random.uniform(0.8, 1.2))  # noqa: S311


def deliver_due(*, limit: int = DELIVERY_BATCH) -> int:
    """Send up to `limit` deliveries that are due, concurrently, and record how each went;
    returns how many were attempted."""
    attempts = _claim(limit=limit)
    if not attempts:
        return 0
    with ThreadPoolExecutor(max_workers=settings.WEBHOOKS_CONCURRENCY) as pool:
        outcomes = list(pool.map(send, attempts))
    record_outcomes(outcomes)
    return len(outcomes)


def record_outcomes(outcomes: Sequence[Outcome]) -> None:
    """Write each attempt's result on its delivery and its subscription's health."""
    with transaction.atomic():
        deliveries = Delivery.objects.select_for_update().in_bulk(
            [outcome.delivery_id for outcome in outcomes]
        )
        for outcome in outcomes:
            delivery = deliveries[outcome.delivery_id]
            _record(delivery, outcome)
        subscriptions = Subscription.objects.select_for_update().in_bulk(
            {delivery.subscription_id for delivery in deliveries.values()}
        )
        for outcome in sorted(outcomes, key=lambda outcome: outcome.at):
            subscription = subscriptions[deliveries[outcome.delivery_id].subscription_id]
            _note_health(subscription, outcome)
        for subscription in subscriptions.values():
            subscription.save(
                update_fields=[
                    "failing_since",
                    "last_success_at",
                    "is_active",
                    "paused_reason",
                    "paused_at",
                ]
            )


def _record(delivery: Delivery, outcome: Outcome) -> None:
    delivery.attempts += 1
    delivery.last_attempt_at = outcome.at
    delivery.last_status_code = outcome.status_code
    delivery.last_duration_ms = outcome.duration_ms
    delivery.last_response = outcome.response
    if outcome.succeeded:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = outcome.at
        delivery.next_attempt_at = None
    elif outcome.at - delivery.created_at >= datetime.timedelta(
        hours=settings.WEBHOOKS_RETRY_HOURS
    ):
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
    else:
        delivery.next_attempt_at = outcome.at + retry_delay(delivery.attempts)
    delivery.save(
        update_fields=[
            "attempts",
            "last_attempt_at",
            "last_status_code",
            "last_duration_ms",
            "last_response",
            "status",
            "delivered_at",
            "next_attempt_at",
        ]
    )


def _note_health(subscription: Subscription, outcome: Outcome) -> None:
    if outcome.succeeded:
        subscription.failing_since = None
        subscription.last_success_at = max(filter(None, [subscription.last_success_at, outcome.at]))
        return
    if subscription.failing_since is None:
        subscription.failing_since = outcome.at
    if not subscription.is_active:
        return
    if outcome.status_code == 410:
        _pause(subscription, reason=PauseReason.GONE, at=outcome.at)
    elif outcome.at - subscription.failing_since >= datetime.timedelta(
        hours=settings.WEBHOOKS_PAUSE_AFTER_HOURS
    ):
        _pause(subscription, reason=PauseReason.FAILING, at=outcome.at)


def _pause(subscription: Subscription, *, reason: PauseReason, at: datetime.datetime) -> None:
    """Stop sending to a receiver that keeps failing or asked to stop; its pending deliveries
    wait for a resume. The owner is mailed once this commits, and the page shows why."""
    subscription.is_active = False
    subscription.paused_reason = reason
    subscription.paused_at = at
    record_event(
        actor=None,
        action=WebhookAction.PAUSE,
        target=subscription,
        changes={"reason": reason.value},
    )
    transaction.on_commit(lambda: queue_pause_notice(subscription.pk))
