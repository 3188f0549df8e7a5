"""Reading jobs of every kind at once: the jobs page (/jobs/) and the operations page list the
same rows, each kind deciding who sees its jobs and where they are followed."""

from __future__ import annotations

import datetime
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from kernel.jobs.runner import JobKind, registered_kinds
from kernel.models import BackgroundJob, JobStatus


@dataclass(frozen=True)
class JobRow:
    """One job as lists show it: its kind, who started it, state, progress and age."""

    job: BackgroundJob
    kind: str
    url: str | None

    @property
    def failed(self) -> bool:
        return self.job.status == JobStatus.FAILED


def job_rows(
    *,
    user: Any,
    statuses: Collection[str] | None = None,
    since: datetime.datetime | None = None,
    before: datetime.datetime | None = None,
    limit: int = 50,
) -> list[JobRow]:
    """The newest `limit` jobs of every registered kind that `user` may see, newest first:
    in `statuses` (default: any but drafts), created since `since` and before `before` (the
    next page starts before the last row's time). One query per kind."""
    rows: list[JobRow] = []
    for kind in registered_kinds():
        jobs = kind.visible_to(user).exclude(status=JobStatus.DRAFT)
        if statuses is not None:
            jobs = jobs.filter(status__in=statuses)
        if since is not None:
            jobs = jobs.filter(created_at__gte=since)
        if before is not None:
            jobs = jobs.filter(created_at__lt=before)
        for job in jobs.select_related("created_by").order_by("-created_at", "-pk")[:limit]:
            rows.append(_row(kind, job, user))
    rows.sort(key=lambda row: (row.job.created_at, row.job.pk), reverse=True)
    return rows[:limit]


def _row(kind: JobKind, job: BackgroundJob, user: Any) -> JobRow:
    return JobRow(job=job, kind=str(job._meta.verbose_name), url=kind.page_url(job, user))
