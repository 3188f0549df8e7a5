"""The hash chain of the audit log, as pure functions.

Each event's hash is SHA-256 over a canonical JSON text of its fields plus the previous event's
hash. The canonical form is chosen so that what is read back from either database hashes to the
same value as what was written: the time in UTC with microseconds, `changes` with sorted keys,
IP addresses in their compressed form. `record_event` hashes the values it stores;
`manage.py verify_audit` hashes the values it reads.

No database access here (the migration that chained the existing rows imports this module).
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import json
from typing import Any

GENESIS_HASH = "0" * 64

# The fields that an event's hash covers, in the order of the canonical text (the keys are
# sorted anyway); "actor" is the user's id.
CHAINED_FIELDS = (
    "sequence",
    "occurred_at",
    "actor_id",
    "actor_label",
    "action",
    "target_type",
    "target_id",
    "changes",
    "ip_address",
    "user_agent",
    "via",
    "previous_hash",
)


def canonical_json(value: Any) -> str:
    """JSON text with sorted keys, no insignificant whitespace, non-ASCII kept as is."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def storable_changes(changes: dict[str, Any] | None) -> dict[str, Any]:
    """`changes` as the database gives it back: tuples become lists and keys become strings.
    Storing this (not the caller's dict) makes the stored value hash like the recorded one."""
    return json.loads(json.dumps(changes or {}, ensure_ascii=False))


def canonical_time(value: datetime.datetime) -> str:
    """An aware datetime as "2026-05-01T08:30:00.000000Z" (UTC, always with microseconds)."""
    if value.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return ipaddress.ip_address(value).compressed
    except ValueError:
        return None  # not an address (a misconfigured proxy): recorded as unknown


def _whole_floats_as_ints(value: Any) -> Any:
    """PostgreSQL's jsonb gives 1e16 back as 10000000000000000 (an int to Python): a whole
    float hashes as the int it equals, whichever way it was read."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_floats_as_ints(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_floats_as_ints(item) for item in value]
    return value


def event_hash(fields: dict[str, Any]) -> str:
    """The SHA-256 hex digest of an event; `fields` holds every name in CHAINED_FIELDS."""
    payload = {
        "sequence": int(fields["sequence"]),
        "occurred_at": canonical_time(fields["occurred_at"]),
        "actor_id": fields["actor_id"],
        "actor_label": fields["actor_label"] or "",
        "action": fields["action"],
        "target_type": fields["target_type"] or "",
        "target_id": fields["target_id"] or "",
        "changes": _whole_floats_as_ints(fields["changes"] or {}),
        "ip_address": canonical_ip(fields["ip_address"]),
        "user_agent": fields["user_agent"] or "",
        "via": fields["via"] or "",
        "previous_hash": fields["previous_hash"],
    }
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()
