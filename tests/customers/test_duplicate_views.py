"""The review queue in the browser's terms: permissions, the comparison, merge and "not
duplicates" decisions, scans and bulk merges started from the page, undo, and imports that put
likely duplicates in the queue."""

from __future__ import annotations

import datetime
import json

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse

from customers.dedup import review
from customers.dedup.scan import SCAN_JOBS
from customers.merge import merge_customers
from customers.models import (
    BulkMerge,
    CandidateStatus,
    Customer,
    DuplicateCandidate,
    DuplicateScan,
    ScanMode,
)
from kernel.models import JobStatus
from privacy.models import AuditEvent
from tests.customers.importfiles import csv_bytes
from tests.factories import CustomerFactory, InteractionFactory, TransactionFactory

pytestmark = pytest.mark.django_db


def _scan() -> None:
    SCAN_JOBS.run(
        DuplicateScan.objects.create(mode=ScanMode.FULL, min_probability=0.5, status="queued").pk
    )


@pytest.fixture
def twins(sales_user):
    """One person written twice, the second record newer and with an order."""
    older = CustomerFactory(
        name="吴敏", phone="13811112222", city="南京", birth_date=datetime.date(1979, 8, 8)
    )
    newer = CustomerFactory(
        name="Wu Min", phone="+86 138 1111 2222", email="wumin@example.cn", city="南京市"
    )
    TransactionFactory(customer=newer)
    InteractionFactory(customer=older)
    _scan()
    return older, newer


def test_the_queue_lists_groups_with_reasons_for_reviewers_only(
    client, twins, service_user, sales_user, analyst_user
):
    older, _ = twins
    client.force_login(service_user)
    page = client.get(reverse("duplicates:queue"))
    assert page.status_code == 200
    [entry] = page.context["groups"]
    assert entry.group == older.pk
    html = page.content.decode()
    assert "吴敏" in html
    assert "same phone" in html
    assert "names sound the same" in html
    for user in (sales_user, analyst_user):
        client.force_login(user)
        assert client.get(reverse("duplicates:queue")).status_code == 403
        assert client.get(reverse("duplicates:group", args=[older.pk])).status_code == 403


def test_the_comparison_highlights_differences_and_masks_for_roles_that_must_not_see(
    client, twins, admin_user_role
):
    older, newer = twins
    client.force_login(admin_user_role)
    page = client.get(reverse("duplicates:group", args=[older.pk]))
    assert page.status_code == 200
    rows = {row.field: row for row in page.context["rows"]}
    assert rows["name"].differs
    assert not rows["phone"].differs  # the same number in two formats
    assert rows["email"].cells[1].default  # the only value there is
    assert page.context["survivor"].pk == older.pk
    activity = {customer.pk: customer for customer in page.context["activity"]}
    assert activity[newer.pk].orders == 1
    assert activity[older.pk].interaction_count == 1
    assert "table-warning" in page.content.decode()


def test_merging_from_the_comparison_keeps_the_chosen_values(client, twins, service_user):
    older, newer = twins
    client.force_login(service_user)
    response = client.post(
        reverse("duplicates:group", args=[older.pk]),
        {
            "action": "merge",
            "member": [older.pk, newer.pk],
            "survivor": older.pk,
            "field_name": newer.pk,
        },
    )
    assert response["Location"] == reverse("customers:detail", args=[older.pk])
    older.refresh_from_db()
    assert older.name == "Wu Min"
    assert older.email == "wumin@example.cn"
    assert older.transactions.count() == 1
    assert Customer.objects.get(pk=newer.pk).merged_into_id == older.pk
    assert DuplicateCandidate.objects.get().status == CandidateStatus.MERGED
    assert not client.get(reverse("duplicates:queue")).context["groups"]
    # The merged record's old link leads to the survivor, which offers the undo.
    detail = client.get(reverse("customers:detail", args=[newer.pk]), follow=True)
    assert detail.context["customer"].pk == older.pk
    merge = detail.context["last_merge"]
    undone = client.post(reverse("customers:undo_merge", args=[older.pk, merge.pk]))
    assert undone.status_code == 302
    assert Customer.objects.get(pk=newer.pk).merged_into_id is None
    assert AuditEvent.objects.filter(action="customer.unmerge").exists()


def test_an_undone_merge_puts_the_pair_back_in_the_queue_with_its_reasons(
    client, twins, service_user
):
    older, newer = twins
    found = DuplicateCandidate.objects.get()
    client.force_login(service_user)
    client.post(
        reverse("duplicates:group", args=[older.pk]),
        {"action": "merge", "member": [older.pk, newer.pk], "survivor": older.pk},
    )
    merge = Customer.objects.get(pk=older.pk).merges.get()
    client.post(reverse("customers:undo_merge", args=[older.pk, merge.pk]))
    back = DuplicateCandidate.objects.get()
    assert (back.status, back.decided_by, back.decided_at) == (CandidateStatus.OPEN, None, None)
    # The pair the reviewer saw, not a new unexplained one: same score, reasons and finding.
    assert (back.pk, back.probability, back.reasons, back.found_at, back.group) == (
        found.pk,
        found.probability,
        found.reasons,
        found.found_at,
        older.pk,
    )
    queue = client.get(reverse("duplicates:queue"))
    assert [group.group for group in queue.context["groups"]] == [older.pk]
    assert "same phone" in queue.content.decode()
    assert AuditEvent.objects.filter(action="customer.unmerge", target_id=str(older.pk)).exists()


def test_a_merge_needs_a_survivor_among_the_ticked_records(client, twins, service_user):
    older, newer = twins
    client.force_login(service_user)
    response = client.post(
        reverse("duplicates:group", args=[older.pk]),
        {"action": "merge", "member": [older.pk], "survivor": newer.pk},
    )
    assert response.status_code == 200
    assert "Choose the record to keep" in response.content.decode()
    assert Customer.objects.filter(merged_into__isnull=False).count() == 0


def test_not_duplicates_from_the_comparison_is_never_proposed_again(client, twins, service_user):
    older, newer = twins
    client.force_login(service_user)
    response = client.post(
        reverse("duplicates:group", args=[older.pk]),
        {"action": "not_duplicates", "member": [older.pk, newer.pk]},
    )
    assert response["Location"] == reverse("duplicates:queue")
    _scan()
    assert not client.get(reverse("duplicates:queue")).context["groups"]
    assert client.get(reverse("duplicates:group", args=[older.pk])).status_code == 404


def test_merging_undoing_and_deciding_need_the_right_to_edit_every_customer(
    client, twins, service_user
):
    older, newer = twins
    merged = CustomerFactory(name="Wu Min", phone="13811112222")
    merge = merge_customers(actor=service_user, survivor=older, others=[merged])
    # Service, for this test without the right to edit customers: it still sees the group.
    service_user.groups.get().permissions.remove(Permission.objects.get(codename="change_customer"))
    client.force_login(service_user)
    group = reverse("duplicates:group", args=[older.pk])
    assert client.get(group).status_code == 200
    members = {"member": [older.pk, newer.pk]}
    merging = {"action": "merge", "survivor": older.pk, **members}
    assert client.post(group, merging).status_code == 403
    assert client.post(group, {"action": "not_duplicates", **members}).status_code == 403
    undo = reverse("customers:undo_merge", args=[older.pk, merge.pk])
    assert client.post(undo).status_code == 403
    assert Customer.objects.get(pk=merged.pk).merged_into_id == older.pk
    assert Customer.objects.get(pk=newer.pk).merged_into_id is None
    assert DuplicateCandidate.objects.get().status == CandidateStatus.OPEN


def test_users_without_the_merge_permission_start_and_decide_nothing(
    client, twins, sales_user, analyst_user
):
    older, newer = twins
    for user in (sales_user, analyst_user):
        client.force_login(user)
        assert (
            client.post(reverse("duplicates:bulk_merge"), {"min_probability": "0.95"}).status_code
            == 403
        )
        decision = {"action": "not_duplicates", "member": [older.pk, newer.pk]}
        assert (
            client.post(reverse("duplicates:group", args=[older.pk]), decision).status_code == 403
        )
    assert not BulkMerge.objects.exists()
    assert DuplicateCandidate.objects.get().status == CandidateStatus.OPEN


def test_a_group_reaching_outside_the_users_scope_is_hidden(client, sales_user, service_user):
    # Service, narrowed for this test to its own and unassigned customers.
    service_user.groups.get().permissions.remove(
        Permission.objects.get(codename="view_all_customers")
    )
    mine = CustomerFactory(name="Grace Hopper", email="grace@example.com", owner=None)
    CustomerFactory(name="Grace Hopper", email="grace@example.com", owner=sales_user)
    _scan()
    client.force_login(service_user)
    page = client.get(reverse("duplicates:queue"))
    assert page.context["groups"] == []
    assert page.context["hidden"] == 1
    assert client.get(reverse("duplicates:group", args=[mine.pk])).status_code == 404


def test_scan_and_bulk_merge_are_started_from_the_queue(
    client, twins, service_user, django_capture_on_commit_callbacks
):
    client.force_login(service_user)
    with django_capture_on_commit_callbacks() as callbacks:
        client.post(reverse("duplicates:scan"), {"incremental": "1"})
    assert len(callbacks) == 1
    scan = DuplicateScan.objects.get(status=JobStatus.QUEUED)
    assert scan.mode == ScanMode.INCREMENTAL
    assert "Searching" in client.get(reverse("duplicates:status")).content.decode()
    SCAN_JOBS.run(scan.pk)
    with django_capture_on_commit_callbacks() as callbacks:
        client.post(reverse("duplicates:bulk_merge"), {"min_probability": "0.95"})
    assert len(callbacks) == 1
    job = BulkMerge.objects.get()
    assert job.min_probability == 0.95
    review.BULK_MERGE_JOBS.run(job.pk)  # what the worker does with the message
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert job.groups_merged == 1
    status = client.get(reverse("duplicates:status")).content.decode()
    assert "1 groups merged" in status


def test_an_import_puts_likely_duplicates_in_the_queue(tmp_path, admin_user_role, capsys):
    existing = CustomerFactory(
        name="郑爽", phone="13722223333", birth_date=datetime.date(1991, 8, 22)
    )
    path = tmp_path / "fair.csv"
    path.write_bytes(
        csv_bytes(
            [["姓名", "生日", "城市"], ["郑双", "1991-08-22", "上海"], ["钱多多", "", "上海"]]
        )
    )
    existing.city = "上海"
    existing.save(update_fields=["city"])
    call_command("import_customers", str(path), "--user", admin_user_role.username)
    summary = json.loads(capsys.readouterr().out)
    assert summary["created"] == 2
    assert summary["possible_duplicates"] == 1
    [candidate] = DuplicateCandidate.objects.all()
    assert existing.pk in (candidate.customer_a_id, candidate.customer_b_id)
    assert candidate.status == CandidateStatus.OPEN
