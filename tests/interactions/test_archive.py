"""Archiving old interactions: rows move set-based keeping their ids, a crash leaves each row in
exactly one table and a retry finishes the job, imports do not bring archived rows back, the
customer page still shows them; the command, the nightly task and the settings check."""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import OperationalError
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from interactions import archive
from interactions.archive import ArchiveAgeTooShortError, archive_interactions
from interactions.checks import check_archive_settings
from interactions.models import ArchivedInteraction, ArchiveRun, Interaction
from interactions.selectors import customer_timeline
from interactions.services import record_interaction
from interactions.tasks import archive_old_interactions
from kernel.models import JobStatus
from privacy.models import AuditEvent
from tests.factories import CustomerFactory, InteractionFactory, TransactionFactory
from tests.interactions.test_imports import _counts, _import
from tests.planner_statistics import forget_statistics, unanalysed

pytestmark = pytest.mark.django_db

AGE = datetime.timedelta(days=3 * 365)
NOW = timezone.now()


def _years_ago(years: float, *, hours: int = 0) -> datetime.datetime:
    return NOW - datetime.timedelta(days=365 * years, hours=hours)


def _ids(model) -> set[int]:
    return set(model.objects.values_list("pk", flat=True))


@pytest.fixture
def history():
    """Two customers, each with interactions of four and five years ago and of last month."""
    customers = [CustomerFactory(name="王丽娟"), CustomerFactory(name="Li Lei")]
    old, recent = [], []
    for customer in customers:
        for years in (4, 4.5, 5):
            old.append(
                InteractionFactory(
                    customer=customer,
                    kind="complaint",
                    occurred_at=_years_ago(years),
                    subject="配送慢",
                    body="电话 13800138000",
                    satisfaction=2,
                    external_ref=f"T-{customer.pk}-{years}",
                )
            )
        recent.append(InteractionFactory(customer=customer, occurred_at=_years_ago(0.1)))
    return customers, old, recent


def test_old_interactions_move_to_the_archive_keeping_their_ids_and_every_column(history):
    _customers, old, recent = history
    before = {row["id"]: row for row in Interaction.objects.values()}
    run = archive_interactions(older_than=AGE)
    assert _ids(Interaction) == {i.pk for i in recent}
    assert _ids(ArchivedInteraction) == {i.pk for i in old}
    for row in ArchivedInteraction.objects.values():
        archived_at = row.pop("archived_at")
        assert row == before[row["id"]]
        assert run.started_at <= archived_at <= timezone.now()
    assert (run.status, run.rows_total, run.rows_done, run.dry_run) == (JobStatus.DONE, 6, 6, False)
    assert run.cutoff == run.created_at - AGE


def test_the_run_is_audited_with_counts_and_no_personal_data(history, admin_user_role):
    run = archive_interactions(older_than=AGE, actor=admin_user_role)
    event = AuditEvent.objects.get(action="interactions.archive.done")
    assert (event.actor, event.target_id) == (admin_user_role, str(run.pk))
    assert event.changes == {
        "cutoff": run.cutoff.isoformat(),
        "due": 6,
        "moved": 6,
        "dry_run": False,
    }


def test_a_dry_run_counts_and_moves_nothing(history):
    run = archive_interactions(older_than=AGE, dry_run=True)
    assert (run.dry_run, run.rows_total, run.rows_done) == (True, 6, 0)
    assert not ArchivedInteraction.objects.exists()
    assert AuditEvent.objects.get(action="interactions.archive.done").changes["dry_run"]


def test_rows_move_in_batches_and_a_second_run_finds_nothing_left(history):
    archive_interactions(older_than=AGE, batch_size=4)
    again = archive_interactions(older_than=AGE)
    assert (again.rows_total, again.rows_done) == (0, 0)
    assert ArchivedInteraction.objects.count() == 6


def test_a_crash_mid_run_leaves_every_row_in_exactly_one_table_and_a_retry_finishes(
    history, monkeypatch
):
    _customers, old, recent = history
    everything = _ids(Interaction)
    copy_and_delete, batches = archive._copy_and_delete, []

    def killed_in_the_second_batch(ids, *, archived_at):
        batches.append(ids)
        moved = copy_and_delete(ids, archived_at=archived_at)  # copied and deleted, uncommitted
        if len(batches) == 2:
            raise OperationalError("server closed the connection unexpectedly")
        return moved

    monkeypatch.setattr(archive, "_copy_and_delete", killed_in_the_second_batch)
    failed = archive_interactions(older_than=AGE, batch_size=2)
    hot, archived = _ids(Interaction), _ids(ArchivedInteraction)
    assert hot.isdisjoint(archived)
    assert hot | archived == everything
    assert archived == set(batches[0])  # the committed batch only
    assert (failed.status, failed.rows_done) == (JobStatus.FAILED, 2)
    assert failed.failure == str(archive._FAILED)
    assert AuditEvent.objects.filter(action="interactions.archive.failed").exists()
    monkeypatch.undo()

    retry = archive_interactions(older_than=AGE, batch_size=2)
    assert (retry.status, retry.rows_total, retry.rows_done) == (JobStatus.DONE, 4, 4)
    assert _ids(ArchivedInteraction) == {i.pk for i in old}
    assert _ids(Interaction) == {i.pk for i in recent}
    assert ArchivedInteraction.objects.count() == len(old)  # no row twice


def test_a_row_whose_customer_changed_while_its_batch_was_listed_is_left_for_the_next_run(
    history, monkeypatch
):
    _customers, old, _recent = history
    moved_meanwhile = old[0]
    share_lock = archive._share_lock_customers

    def merged_meanwhile(customer_ids):
        # As if a merge committed between the batch's listing and its locks.
        Interaction.objects.filter(pk=moved_meanwhile.pk).update(customer=CustomerFactory())
        share_lock(customer_ids)

    monkeypatch.setattr(archive, "_share_lock_customers", merged_meanwhile)
    run = archive_interactions(older_than=AGE, batch_size=4)
    assert (run.status, run.rows_done) == (JobStatus.DONE, 5)
    assert _ids(Interaction) & {i.pk for i in old} == {moved_meanwhile.pk}
    monkeypatch.undo()
    assert archive_interactions(older_than=AGE).rows_done == 1


def test_ages_under_a_year_are_refused():
    with pytest.raises(ArchiveAgeTooShortError):
        archive_interactions(older_than=datetime.timedelta(days=364))


def test_a_run_in_progress_blocks_another_until_its_worker_is_given_up(history):
    busy = ArchiveRun.objects.create(
        status=JobStatus.RUNNING, cutoff=NOW, started_at=NOW, heartbeat_at=timezone.now()
    )
    assert archive_interactions(older_than=AGE) is None
    assert not ArchivedInteraction.objects.exists()
    ArchiveRun.objects.filter(pk=busy.pk).update(
        heartbeat_at=timezone.now() - archive.STALLED_AFTER - datetime.timedelta(minutes=1)
    )
    assert archive_interactions(older_than=AGE).rows_done == 6
    busy.refresh_from_db()
    assert (busy.status, bool(busy.failure)) == (JobStatus.FAILED, True)


# --- imports and services: an archived interaction is still "already there"


def test_an_import_that_sends_an_archived_interaction_again_adds_nothing(admin_user_role):
    CustomerFactory(name="王丽娟", phone="13800138000")
    rows = [
        ["工单号", "手机", "类型", "时间", "内容"],
        ["T1", "13800138000", "投诉", "2020-06-01 09:00", "三天未到"],
        ["", "13800138000", "备注", "2020-06-02 10:00", "喜欢绿茶"],
    ]
    first = _import(admin_user_role, "interactions", rows)
    assert _counts(first) == (2, 0, 0, 0)
    archive_interactions(older_than=AGE)
    assert (Interaction.objects.count(), ArchivedInteraction.objects.count()) == (0, 2)
    again = _import(admin_user_role, "interactions", rows)
    # By (source system, id) and, without an id, by customer, kind, time and text.
    assert _counts(again) == (0, 0, 2, 0)
    assert (Interaction.objects.count(), ArchivedInteraction.objects.count()) == (0, 2)


def test_the_same_id_from_another_source_system_is_another_interaction(admin_user_role):
    CustomerFactory(name="王丽娟", phone="13800138000")
    rows = [["工单号", "手机", "类型", "时间"], ["T1", "13800138000", "投诉", "2020-06-01"]]
    _import(admin_user_role, "interactions", rows, source_name="desk")
    archive_interactions(older_than=AGE)
    other = _import(admin_user_role, "interactions", rows, source_name="shop")
    assert _counts(other) == (1, 0, 0, 0)


def test_logging_an_interaction_with_an_archived_external_ref_is_refused():
    customer = CustomerFactory()
    InteractionFactory(customer=customer, occurred_at=_years_ago(4), external_ref="W-1")
    archive_interactions(older_than=AGE)
    with pytest.raises(ValidationError, match="archive"):
        record_interaction(actor=None, customer=customer, kind="call", external_ref="W-1")
    assert not Interaction.objects.exists()


# --- the customer page


def test_the_timeline_continues_into_archived_entries_marked_as_archived(history):
    customer = history[0][0]
    TransactionFactory(customer=customer, occurred_at=_years_ago(4.2))
    archive_interactions(older_than=AGE)
    entries, cursor = customer_timeline(customer=customer, size=2)
    seen = list(entries)
    while cursor:
        entries, cursor = customer_timeline(customer=customer, after=cursor, size=2)
        seen += entries
    assert [(e.is_purchase, e.is_archived) for e in seen] == [
        (False, False),  # last month
        (False, True),  # four years ago
        (True, False),  # the purchase of 4.2 years ago
        (False, True),
        (False, True),
    ]
    assert [e.occurred_at for e in seen] == sorted((e.occurred_at for e in seen), reverse=True)
    complaints, _cursor = customer_timeline(customer=customer, kind="complaint")
    assert len(complaints) == 3
    assert all(e.is_archived for e in complaints)


def test_a_page_cursor_stays_valid_when_its_interaction_is_archived_meanwhile():
    customer = CustomerFactory()
    made = [
        InteractionFactory(customer=customer, occurred_at=_years_ago(4, hours=hours))
        for hours in range(5)
    ]
    first, cursor = customer_timeline(customer=customer, size=2)
    archive_interactions(older_than=AGE)
    rest, cursor = customer_timeline(customer=customer, after=cursor, size=10)
    assert cursor is None
    assert [e.record.pk for e in first + rest] == [i.pk for i in made]
    assert [e.is_archived for e in first + rest] == [False, False, True, True, True]


def test_the_customer_page_shows_archived_interactions_in_bounded_queries(
    client, service_user, django_assert_max_num_queries
):
    customer = CustomerFactory()
    for days in range(30):
        InteractionFactory(
            customer=customer, occurred_at=_years_ago(4) - datetime.timedelta(days=days)
        )
    archive_interactions(older_than=AGE)
    client.force_login(service_user)
    url = reverse("customers:detail", args=[customer.pk])
    # The bound of tests/customers/test_views.py's page with a long history in the hot table.
    with django_assert_max_num_queries(28):
        response = client.get(url)
    assert len(response.context["entries"]) == 20
    assert all(entry.is_archived for entry in response.context["entries"])
    page = response.content.decode()
    assert page.count('<i class="bi bi-archive" aria-hidden="true"></i> Archived') == 20
    more = client.get(
        reverse("interactions:timeline", args=[customer.pk]),
        {"after": response.context["next_cursor"]},
    )
    assert len(more.context["entries"]) == 10
    assert more.context["next_cursor"] is None


# --- the command, the nightly task, the settings check


def test_the_command_dry_runs_and_archives(history):
    out = StringIO()
    call_command("archive_interactions", "--dry-run", stdout=out)
    assert "6 interactions from before" in out.getvalue()
    assert "would move" in out.getvalue()
    assert not ArchivedInteraction.objects.exists()
    call_command("archive_interactions", "--older-than-days", "1500", stdout=out)
    assert "4 of 4 interactions" in out.getvalue()  # the four-year-old ones stay
    assert ArchivedInteraction.objects.count() == 4
    assert AuditEvent.objects.filter(action="interactions.archive.done", via="command").exists()


def test_the_command_refuses_a_short_age_and_says_when_archiving_is_off():
    with pytest.raises(CommandError, match="365"):
        call_command("archive_interactions", "--older-than-days", "30")
    out = StringIO()
    with override_settings(INTERACTION_ARCHIVE_AFTER_DAYS=0):
        call_command("archive_interactions", stdout=out)
    assert "off" in out.getvalue()
    assert not ArchiveRun.objects.exists()


def test_the_nightly_task_archives_at_the_configured_age_and_zero_switches_it_off(history):
    with override_settings(INTERACTION_ARCHIVE_AFTER_DAYS=0):
        assert archive_old_interactions() is None
    assert not ArchiveRun.objects.exists()
    with override_settings(INTERACTION_ARCHIVE_AFTER_DAYS=1500):
        run = ArchiveRun.objects.get(pk=archive_old_interactions())
    assert (run.rows_done, run.created_by) == (4, None)
    assert AuditEvent.objects.get(action="interactions.archive.done").via == "task"


@pytest.mark.parametrize(
    ("days", "hour", "errors"),
    [
        (1095, 4, []),
        (0, 0, []),
        (365, 23, []),
        (-1, 4, ["interactions.E001"]),
        (30, 4, ["interactions.E002"]),
        (1095, 24, ["interactions.E003"]),
    ],
)
def test_the_settings_check_refuses_ages_and_hours_that_make_no_sense(days, hour, errors):
    with override_settings(INTERACTION_ARCHIVE_AFTER_DAYS=days, INTERACTION_ARCHIVE_HOUR=hour):
        assert [error.id for error in check_archive_settings()] == errors


def test_a_run_leaves_both_tables_analysed_for_the_readers_that_follow(history):
    # Issue 18: the nightly metrics and the service chart read both tables after a run.
    forget_statistics(Interaction, ArchivedInteraction)
    run = archive_interactions(older_than=AGE)
    assert run.rows_done == 6
    assert unanalysed(Interaction, ArchivedInteraction) == []
