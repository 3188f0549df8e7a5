"""What flows in from outside, as the operations page shows it: each inbound source (shop
connector, inbound webhook, drop folder, mailbox, web form) with when it last delivered, its
errors and its backlog. The apps that receive from outside register a provider in their
AppConfig.ready(); operations imports none of them."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

# Errors of the last day make a source's row a warning; a backlog older than this, a danger.
BACKLOG_LATE_AFTER = datetime.timedelta(minutes=15)


@dataclass(frozen=True)
class ConnectionHealth:
    kind: Any  # what sort of source, in the reader's language ("Shopify", "Mailbox")
    name: str  # the name staff gave it
    url: str  # its settings page
    last_received_at: datetime.datetime | None
    errors_last_day: int
    # Received and not yet applied, and since when the oldest of them waits.
    backlog: int = 0
    oldest_waiting_at: datetime.datetime | None = None
    # Why it cannot work now (paused, a secret missing, the folder unreadable), in words.
    problem: Any = ""

    def level(self, now: datetime.datetime) -> str:
        if self.problem or (
            self.oldest_waiting_at is not None and now - self.oldest_waiting_at > BACKLOG_LATE_AFTER
        ):
            return "danger"
        return "warning" if self.errors_last_day else "success"


_providers: list[Callable[[], Iterable[ConnectionHealth]]] = []


def register(provider: Callable[[], Iterable[ConnectionHealth]]) -> None:
    """Add an app's sources to the operations page (once per provider)."""
    if provider not in _providers:
        _providers.append(provider)


def connections() -> list[ConnectionHealth]:
    return [health for provider in _providers for health in provider()]
