"""The board's counts and totals per stage, kept in the cache for a short while.

At a million deals the aggregate behind a board's column headers reads every deal of the
pipeline the user sees (bench/deals.py: over half a second for an administrator even as an
index-only scan), while the cards are a few indexed rows. So the aggregate's rows are cached
and the cards are not. The key is the aggregate's own SQL and parameters (the user's scope,
the pipeline, the filters, the closed columns' window) and a version that every write of a
deal service changes (`deals_changed`): a deal created, edited or moved shows in the totals at
once, for its writer and everyone else. What changes a scope without a deal service (a
customer changing owner, a merge, a team's members) shows within CACHE_SECONDS; the board
says when its totals were computed.
"""

from __future__ import annotations

import datetime
import hashlib
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

CACHE_SECONDS = 30
VERSION_KEY = "deals:board:version"


@dataclass(frozen=True)
class StageTotals:
    """Per stage id: the number of deals and the total of their amounts."""

    by_stage: dict[int, tuple[int, Decimal]]
    computed_at: datetime.datetime


def _new_version() -> None:
    cache.set(VERSION_KEY, uuid.uuid4().hex, None)


def deals_changed() -> None:
    """Make every cached board total stale: the deal services call it in each write's
    transaction. Now, so that no total from before the write is read again, and once the
    transaction commits, so that totals computed meanwhile (without the write, which others
    could not see yet) are not kept either."""
    _new_version()
    transaction.on_commit(_new_version)


def _version() -> str:
    version = cache.get(VERSION_KEY)
    if version is None:
        # Evicted or never set: a new one, so that no entry from before is trusted.
        cache.add(VERSION_KEY, uuid.uuid4().hex, None)
        version = cache.get(VERSION_KEY)
    return version


def cached_totals(aggregate: QuerySet) -> StageTotals:
    """The rows of `aggregate` (values `stage_id`, `count`, `total`) from the cache, or
    computed (one query) and cached for CACHE_SECONDS."""
    sql, params = aggregate.query.sql_with_params()
    digest = hashlib.sha256(repr((sql, params)).encode()).hexdigest()
    key = f"deals:board:1:{_version()}:{digest}"
    totals = cache.get(key)
    if totals is None:
        totals = StageTotals(
            by_stage={
                row["stage_id"]: (row["count"], Decimal(row["total"] or 0)) for row in aggregate
            },
            computed_at=timezone.now(),
        )
        cache.set(key, totals, CACHE_SECONDS)
    return totals
