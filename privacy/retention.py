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
from django.utils.translation import gettext_lazy as _

from kernel.jobs.runner import JobKind, JobRun
from kernel.models import JobStatus
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
    """Run every enabled policy (or only report, with `dry_run`) here and now; returns the
    finished run with its counts (failed, with every finished batch kept, when something went
    wrong)."""
    run = RetentionRun.objects.create(
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        status=JobStatus.QUEUED,
        dry_run=dry_run,
        as_of=now,
    )
    return RETENTION_RUNS.run_here(run)


def start_retention(*, actor: Any, dry_run: bool) -> RetentionRun:
    """Queue a run for the worker, once the caller's transaction commits (the retention page's
    *Dry run* and *Apply now*)."""
    run = RetentionRun.objects.create(created_by=actor, status=JobStatus.QUEUED, dry_run=dry_run)
    RETENTION_RUNS.enqueue(run)
    return run


class RetentionRunKind(JobKind[RetentionRun]):
    """A pass of the policies. Each batch commits on its own, so a run stopped half-way leaves
    whole batches done; one whose worker died starts over and finds only what is still due."""

    model = RetentionRun
    audit_prefix = "retention"
    seen_with = ("privacy.view_retentionpolicy",)
    followed_at = "retention:page"
    unexpected_failure = _(
        "The run stopped on an error; the rows it changed stay changed and the next run "
        "handles the rest."
    )

    def work(self, run: JobRun[RetentionRun]) -> None:
        retention = run.job
        now = retention.as_of or timezone.now()
        retention.as_of = now
        # Every policy's rows are settled before any is touched: a lead idle long enough for
        # two policies counts under both, in the dry run and the real one alike.
        policies = RetentionPolicy.objects.filter(enabled=True)
        due = {policy: due_rows(policy, now) for policy in policies}
        retention.results = {
            policy.kind: {
                "keep_days": policy.keep_days,
                "cutoff": (now - datetime.timedelta(days=policy.keep_days)).isoformat(),
                "rows": len(ids),
            }
            for policy, ids in due.items()
        }
        if retention.dry_run:
            return  # nothing is changed, so there is no progress to show
        done = 0
        run.progress(done, sum(len(ids) for ids in due.values()))
        actor = retention.created_by
        for policy, ids in due.items():
            for start in range(0, len(ids), BATCH):
                batch = ids[start : start + BATCH]
                with transaction.atomic():
                    RETENTION_TARGETS[policy.kind].apply(batch, actor)
                done += len(batch)
                run.progress(done)

    def audit_changes(self, job: RetentionRun) -> dict[str, Any]:
        counts = {kind: result["rows"] for kind, result in job.results.items()}
        return {**counts, "dry_run": job.dry_run}


RETENTION_RUNS = RetentionRunKind()
