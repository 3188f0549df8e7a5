"""Reading jobs of every kind at once: the jobs page (/jobs/) and the operations page list the
same rows, each kind deciding who sees its jobs and where they are followed."""

from __future__ import annotations

import datetime
from collections.abc import Collection
from dataclasses import dataclass

from kernel.actors import Actor
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
    user: Actor,
    statuses: Collection[str] | None = None,
    since: datetime.datetime | None = None,
    before: datetime.datetime | None = None,
    limit: int = 50,
    every_job: bool = False,
) -> list[JobRow]:
    """The newest `limit` jobs of every registered kind that `user` may see, newest first:
    in `statuses` (default: any but drafts), created since `since` and before `before` (the
    next page starts before the last row's time). With `every_job` (the operations page, for
    those who watch the background work) every kind's jobs, linked only where `user` may
    follow them. Two queries per kind at most."""
    rows: list[JobRow] = []
    for kind in registered_kinds():
        jobs = kind.model._default_manager.all() if every_job else kind.visible_to(user)
        jobs = jobs.exclude(status=JobStatus.DRAFT)
        if statuses is not None:
            jobs = jobs.filter(status__in=statuses)
        if since is not None:
            jobs = jobs.filter(created_at__gte=since)
        if before is not None:
            jobs = jobs.filter(created_at__lt=before)
        found = list(jobs.select_related("created_by").order_by("-created_at", "-pk")[:limit])
        followed = {job.pk for job in found}
        if every_job and found:
            followed = set(
                kind.visible_to(user).filter(pk__in=followed).values_list("pk", flat=True)
            )
        rows += [_row(kind, job, user, followed=job.pk in followed) for job in found]
    rows.sort(key=lambda row: (row.job.created_at, row.job.pk), reverse=True)
    return rows[:limit]


def _row(kind: JobKind, job: BackgroundJob, user: Actor, *, followed: bool) -> JobRow:
    url = kind.page_url(job, user) if followed else None
    return JobRow(job=job, kind=str(job._meta.verbose_name), url=url)
