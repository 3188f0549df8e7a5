"""Checking the audit log's hash chain (privacy/audit/chain.py) against the database.

The chain is read in sequence order, in batches of bounded size, so that millions of events
are checked in constant memory. The first broken link is reported:

- an event whose stored hash is not the hash of its fields: the event was changed;
- a missing sequence number: events were removed;
- an event whose previous hash is not its predecessor's hash: the predecessor was changed or
  replaced (or events were removed and the rest renumbered).

Removing events from the end of the chain leaves a shorter chain that is still valid; the
command therefore prints the head (last sequence and hash), which operators keep elsewhere
(the nightly job logs it) to compare with later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from privacy.audit.chain import CHAINED_FIELDS, GENESIS_HASH, event_hash
from privacy.models import AuditEvent

DEFAULT_BATCH_SIZE = 5000


@dataclass(frozen=True)
class ChainBreak:
    """The first place where the chain does not hold."""

    kind: str  # "changed", "removed" or "relinked"
    sequence: int  # the event where the break shows
    event_id: int | None

    def describe(self) -> str:
        if self.kind == "changed":
            return _("event %(sequence)s (id %(id)s) was changed: its hash does not match") % {
                "sequence": self.sequence,
                "id": self.event_id,
            }
        if self.kind == "removed":
            return _("events before %(sequence)s (id %(id)s) were removed: sequence gap") % {
                "sequence": self.sequence,
                "id": self.event_id,
            }
        return _(
            "event %(sequence)s (id %(id)s) does not link to the event before it: that event "
            "was changed or removed"
        ) % {"sequence": self.sequence, "id": self.event_id}


@dataclass(frozen=True)
class ChainReport:
    checked: int
    head_sequence: int
    head_hash: str
    first_break: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.first_break is None


def verify_chain(*, batch_size: int = DEFAULT_BATCH_SIZE, using: str = "default") -> ChainReport:
    """Walk the whole chain and report the first broken link (or none). Reads only."""
    fields = ["pk", *CHAINED_FIELDS, "event_hash"]
    checked, expected, previous = 0, 1, GENESIS_HASH
    while True:
        rows: list[dict[str, Any]] = list(
            AuditEvent.objects.using(using)
            .filter(sequence__gte=expected)
            .order_by("sequence")
            .values(*fields)[:batch_size]
        )
        for row in rows:
            found = _check(row, expected, previous)
            if found is not None:
                return ChainReport(checked, expected - 1, previous, found)
            checked += 1
            expected += 1
            previous = row["event_hash"]
        if len(rows) < batch_size:
            return ChainReport(checked, expected - 1, previous, None)


def _check(row: dict[str, Any], expected: int, previous: str) -> ChainBreak | None:
    if row["sequence"] != expected:
        return ChainBreak("removed", row["sequence"], row["pk"])
    if event_hash(row) != row["event_hash"]:
        return ChainBreak("changed", row["sequence"], row["pk"])
    if row["previous_hash"] != previous:
        return ChainBreak("relinked", row["sequence"], row["pk"])
    return None
