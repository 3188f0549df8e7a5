"""The transactional outbox: the changes other systems subscribed to, written by the domain
services inside their own write transaction (`emit`, `emit_many`), so that a rolled-back change
announces nothing and a committed one is never lost.

The kernel knows no subscriber. Each domain app registers its topics (`register_topic`: the
name, a label for the subscription form, and how a payload is masked for a given viewer), and
the webhooks app connects itself as the relay (`connect_relay`: which topics someone listens to,
and what to start once events are committed). A topic nobody listens to writes nothing, so a
million-row import pays one cache read per batch for the outbox; the set of listened-to topics
is cached and forgotten whenever subscriptions change (`forget_subscribed_topics`).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import models, transaction
from django.utils import timezone

from kernel.bulk import batched, insert_new
from kernel.models import OutboxEvent, OutboxWatermark

# (viewer, data) -> the data as that viewer may see it, or None when the record is outside the
# viewer's scope (the event is then not sent to them at all).
Masker = Callable[[Any, dict[str, Any]], dict[str, Any] | None]


@dataclass(frozen=True)
class Topic:
    name: str  # "customer.created": lowercase, dot-separated, per the Standard Webhooks advice
    label: Any
    mask: Masker


@dataclass(frozen=True)
class Relay:
    # The topics at least one subscription listens to.
    subscribed: Callable[[], set[str]]
    # Called after a transaction that emitted events commits.
    kick: Callable[[], None]


_TOPICS: dict[str, Topic] = {}
_RELAYS: list[Relay] = []
_CACHE_KEY = "kernel.outbox.subscribed-topics"
# A subscription change forgets the cached set at once; this bounds how long a process could
# keep an outdated set if that forgetting were lost (a cache restarted in between).
_CACHE_SECONDS = 300
_BATCH_SIZE = 1000


def register_topic(topic: Topic) -> None:
    """Declare an event other systems may subscribe to (from an AppConfig.ready())."""
    _TOPICS[topic.name] = topic


def topics() -> list[Topic]:
    """Every registered topic, by name."""
    return sorted(_TOPICS.values(), key=lambda topic: topic.name)


def topic(name: str) -> Topic:
    """The registered topic of this name (KeyError for an unknown one)."""
    return _TOPICS[name]


def connect_relay(relay: Relay) -> None:
    """Connect what delivers the events (the webhooks app, from its AppConfig.ready())."""
    if relay not in _RELAYS:
        _RELAYS.append(relay)


def subscribed_topics() -> frozenset[str]:
    """The topics at least one subscription listens to (cached, see the module docstring)."""
    found: frozenset[str] | None = cache.get(_CACHE_KEY)
    if found is None:
        found = frozenset().union(*(relay.subscribed() for relay in _RELAYS))
        cache.set(_CACHE_KEY, found, _CACHE_SECONDS)
    return found


def forget_subscribed_topics() -> None:
    """Drop the cached set now and again when the current transaction commits: a process
    reading it in between could otherwise cache the set from before the change."""
    cache.delete(_CACHE_KEY)
    transaction.on_commit(lambda: cache.delete(_CACHE_KEY))


def is_subscribed(name: str) -> bool:
    """Whether an event of this topic would be written (someone listens to it)."""
    return name in subscribed_topics()


def _target(record: models.Model) -> tuple[str, int]:
    return record._meta.label_lower, int(record.pk)


def emit(
    name: str, *, target: models.Model, data: Callable[[], dict[str, Any]], subject_id: int | None
) -> OutboxEvent | None:
    """Write one event about `target` inside the caller's transaction, unless nobody listens to
    `name` (then None, and `data` is never called: building a payload costs a serialisation).
    `data` returns the payload, unmasked; `subject_id` is the person it is about (None: it
    holds nobody's personal data). The relay starts once the transaction commits."""
    if name not in _TOPICS:
        raise KeyError(f"Unknown outbox topic {name!r}: register it first.")
    if not is_subscribed(name):
        return None
    target_type, target_id = _target(target)
    event = OutboxEvent.objects.create(
        topic=name,
        target_type=target_type,
        target_id=target_id,
        subject_id=subject_id,
        data=data(),
    )
    _kick_after_commit()
    return event


def emit_many(
    name: str,
    targets: Iterable[models.Model],
    *,
    data: Callable[[Any], dict[str, Any]],
    subject_id: Callable[[Any], int | None],
) -> int:
    """`emit` for many records at once (imports, segment refreshes), in batched inserts
    (kernel/bulk.py); returns how many events were written (0 without a listener, and then
    neither `data` nor `subject_id` is called)."""
    if name not in _TOPICS:
        raise KeyError(f"Unknown outbox topic {name!r}: register it first.")
    if not is_subscribed(name):
        return 0
    now = timezone.now()
    written = 0
    for batch in batched(targets, _BATCH_SIZE):
        events = []
        for record in batch:
            target_type, target_id = _target(record)
            events.append(
                OutboxEvent(
                    topic=name,
                    target_type=target_type,
                    target_id=target_id,
                    subject_id=subject_id(record),
                    data=data(record),
                    occurred_at=now,
                )
            )
        insert_new(OutboxEvent, events)
        written += len(events)
    if written:
        _kick_after_commit()
    return written


def _kick_after_commit() -> None:
    for relay in _RELAYS:
        transaction.on_commit(relay.kick)


def scrub_payloads(subject_ids: Iterable[int], replacement: Callable[[int], dict[str, Any]]) -> int:
    """Replace the payload of every event about these people by `replacement(subject_id)`
    (ids only): the erasure of a person reaches what is waiting to be sent, and what a replay
    would send again. Returns the number of events scrubbed."""
    scrubbed = 0
    for subject in set(subject_ids):
        scrubbed += OutboxEvent.objects.filter(subject_id=subject).update(data=replacement(subject))
    return scrubbed


def announcement_window(
    name: str, *, until: datetime.datetime
) -> tuple[datetime.datetime, datetime.datetime] | None:
    """The period a periodic announcement (`name`) covers in this run: from where the last run
    stopped up to `until`, after which the next run starts. Concurrent runs wait for each other
    (the row is locked), so each moment is covered once. Call it inside the transaction that
    writes the announcements: a run that fails moves nothing on. The first run of an announcement
    covers nothing before it (None): what fell due before webhooks existed is not news."""
    mark = OutboxWatermark.objects.select_for_update().filter(name=name).first()
    if mark is None:
        OutboxWatermark.objects.create(name=name, reached_at=until)
        return None
    if mark.reached_at >= until:
        return None
    since = mark.reached_at
    mark.reached_at = until
    mark.save(update_fields=["reached_at"])
    return since, until
