"""The jobs page (/jobs/): every background job a user may see, of every kind, in one list
read through the job kinds (kernel/jobs/selectors.py)."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.models import ExportJob
from customers.models import DuplicateScan, ImportJob, ScanMode
from kernel.jobs.selectors import job_rows
from kernel.models import JobStatus

pytestmark = pytest.mark.django_db


def _import(user, **fields) -> ImportJob:
    return ImportJob.objects.create(
        created_by=user, kind="customers", file_name="顾客.csv", file_checksum="0" * 64, **fields
    )


def _export(user, **fields) -> ExportJob:
    return ExportJob.objects.create(created_by=user, format="csv", **fields)


def test_a_salesperson_sees_their_own_imports_and_exports_and_nobody_elses(
    client, sales_user, other_sales_user
):
    mine = _import(sales_user, status=JobStatus.RUNNING, rows_total=200, rows_done=50)
    _import(other_sales_user, status=JobStatus.DONE)
    _export(other_sales_user, status=JobStatus.DONE)
    DuplicateScan.objects.create(mode=ScanMode.FULL, min_probability=0.8, status=JobStatus.DONE)
    client.force_login(sales_user)
    page = client.get(reverse("jobs")).content.decode()
    assert [row.job for row in job_rows(user=sales_user)] == [mine]
    assert reverse("imports:detail", args=[mine.pk]) in page
    assert "50 of 200 rows · 25%" in page
    assert 'hx-trigger="every 3s"' in page  # a running job: the list follows it


def test_reviewers_see_duplicate_scans_and_exports_stay_their_owners_only(
    client, service_user, admin_user_role
):
    scan = DuplicateScan.objects.create(
        mode=ScanMode.FULL,
        min_probability=0.8,
        status=JobStatus.FAILED,
        failure="The worker stopped before finishing; the next run starts afresh.",
    )
    others = _export(admin_user_role, status=JobStatus.DONE)
    client.force_login(service_user)
    page = client.get(reverse("jobs")).content.decode()
    assert [row.job for row in job_rows(user=service_user)] == [scan]
    assert "the next run starts afresh" in page
    assert "nightly job" in page  # started by the schedule, not by a person
    assert reverse("duplicates:queue") in page
    assert 'hx-trigger="every 3s"' not in page  # nothing active: no polling
    assert others in [row.job for row in job_rows(user=admin_user_role)]


def test_the_list_pages_back_in_time_without_showing_a_job_twice(client, sales_user):
    now = timezone.now()
    jobs = [
        _import(sales_user, status=JobStatus.DONE, created_at=now - datetime.timedelta(minutes=i))
        for i in range(55)
    ]
    first = job_rows(user=sales_user, limit=50)
    second = job_rows(user=sales_user, before=first[-1].job.created_at, limit=50)
    assert len(first) == 50
    assert {row.job for row in first}.isdisjoint({row.job for row in second})
    assert len(first) + len(second) == len(jobs)
    client.force_login(sales_user)
    page = client.get(reverse("jobs")).content.decode()
    assert "Older jobs" in page


def test_the_page_speaks_the_users_language(client, sales_user):
    _import(sales_user, status=JobStatus.QUEUED)
    client.force_login(sales_user)
    chinese = client.get(reverse("jobs"), headers={"accept-language": "zh-hans"})
    english = client.get(reverse("jobs"), headers={"accept-language": "en"})
    assert "后台任务" in chinese.content.decode()
    assert "Background jobs" in english.content.decode()
