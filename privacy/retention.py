"""Retention: each kind of data is kept as long as its policy says, then anonymised or
deleted by the nightly job (PIPL art. 19 and 47, GDPR art. 5(1)(e)).

A run first settles, per enabled policy, the exact rows past their time (`due_rows`); a dry
run reports their count and stops, a real run changes exactly those rows, in batches, and
reports the same count. So a dry run made just before equals the real run.

Which rows a kind of policy reaches, and what is done to them, is registered by the app that
owns them (privacy/registry.py: customers/privacy.py, interactions/privacy.py).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from privacy.audit.recording import record_event
from privacy.models import RetentionKind, RetentionPolicy, RetentionRun
from privacy.registry import RETENTION_TARGETS

BATCH = 500

# The policies a new installation starts with: (kept for days, applied every night).
DEFAULT_POLICIES = {
    RetentionKind.STALE_LEADS: (730, True),
    RetentionKind.INACTIVE_CUSTOMERS: (5 * 365, False),
    RetentionKind.OLD_INTERACTIONS: (5 * 365, True),
    RetentionKind.IMPORT_REPORTS: (180, True),
}


def ensure_policies() -> None:
    """Create the missing policies with their defaults; existing ones are left as set.
    (After `migrate` backwards past the table there is nothing to fill.)"""
    if RetentionPolicy._meta.db_table not in connection.introspection.table_names():
        return
    for kind, (days, enabled) in DEFAULT_POLICIES.items():
        RetentionPolicy.objects.get_or_create(
            kind=kind, defaults={"keep_days": days, "enabled": enabled}
        )


def due_rows(policy: RetentionPolicy, now: datetime.datetime) -> list[int]:
    """Ids of the rows past their time under `policy`, oldest key first."""
    cutoff = now - datetime.timedelta(days=policy.keep_days)
    return list(
        RETENTION_TARGETS[policy.kind].rows(cutoff).order_by("pk").values_list("pk", flat=True)
    )


def apply_retention(
    *, dry_run: bool, actor: Any = None, now: datetime.datetime | None = None
) -> RetentionRun:
    """Run every enabled policy (or only report, with `dry_run`); returns the run with its
    counts. Each batch commits on its own: a run stopped half-way leaves whole batches done
    and the rest for the next night."""
    now = now or timezone.now()
    run = RetentionRun.objects.create(dry_run=dry_run, started_at=now, started_by=actor)
    # Every policy's rows are settled before any is touched: a lead idle long enough for two
    # policies counts under both, in the dry run and the real one alike.
    due = {policy: due_rows(policy, now) for policy in RetentionPolicy.objects.filter(enabled=True)}
    results = {
        policy.kind: {
            "keep_days": policy.keep_days,
            "cutoff": (now - datetime.timedelta(days=policy.keep_days)).isoformat(),
            "rows": len(ids),
        }
        for policy, ids in due.items()
    }
    if not dry_run:
        for policy, ids in due.items():
            for start in range(0, len(ids), BATCH):
                with transaction.atomic():
                    RETENTION_TARGETS[policy.kind].apply(ids[start : start + BATCH], actor)
    run.results = results
    run.finished_at = timezone.now()
    run.save(update_fields=["results", "finished_at"])
    record_event(
        actor=actor,
        action="retention.dry_run" if dry_run else "retention.apply",
        target=run,
        changes={kind: result["rows"] for kind, result in results.items()},
    )
    return run
