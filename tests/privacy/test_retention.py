"""Retention: policies per kind of data, a nightly run that anonymises or deletes what is
past its time, and a dry run that reports exactly what the real run then changes."""

from __future__ import annotations

import dataclasses
import datetime
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from customers import services
from customers.models import Customer, ImportIssue, ImportJob
from interactions import services as interaction_services
from interactions.models import Interaction
from kernel.jobs.recovery import recover_stalled_jobs
from kernel.jobs.runner import kind_of
from kernel.models import JobStatus
from privacy import registry
from privacy.models import AuditEvent, RetentionKind, RetentionPolicy, RetentionRun
from privacy.retention import DEFAULT_POLICIES, apply_retention
from tests.factories import CustomerFactory, import_issue

pytestmark = pytest.mark.django_db

LONG_AGO = timezone.now() - datetime.timedelta(days=3 * 365)


def _lead(name, *, idle_since, **fields):
    customer = CustomerFactory(name=name, phone=fields.pop("phone", ""), **fields)
    Customer.objects.filter(pk=customer.pk).update(created_at=idle_since, last_activity_at=None)
    return customer


@pytest.fixture
def data(service_user):
    stale = _lead("Old Lead", idle_since=LONG_AGO, phone="13800000001")
    fresh = _lead("New Lead", idle_since=timezone.now())
    held = _lead("Held Lead", idle_since=LONG_AGO)
    Customer.objects.filter(pk=held.pk).update(
        restricted_at=timezone.now(), restriction_reason="Court order"
    )
    buyer = _lead("Old Buyer", idle_since=LONG_AGO, lifecycle_stage="customer")
    old_note = interaction_services.record_interaction(
        actor=None,
        customer=fresh,
        kind="call",
        subject="Asked for a discount",
        body="Long story",
        occurred_at=timezone.now() - datetime.timedelta(days=6 * 365),
    )
    new_note = interaction_services.record_interaction(
        actor=None, customer=fresh, kind="call", subject="Recent", body="Keep me"
    )
    old_report = import_issue("13800000009", created_by=service_user)
    ImportJob.objects.filter(pk=old_report.job_id).update(created_at=LONG_AGO)
    return {
        "stale": stale,
        "fresh": fresh,
        "held": held,
        "buyer": buyer,
        "old_note": old_note,
        "new_note": new_note,
    }


def test_every_kind_of_data_starts_with_a_policy():
    assert set(RetentionPolicy.objects.values_list("kind", flat=True)) == set(DEFAULT_POLICIES)
    leads = RetentionPolicy.objects.get(kind=RetentionKind.STALE_LEADS)
    assert leads.keep_days == 730
    assert leads.enabled


def test_the_dry_run_reports_exactly_what_the_real_run_changes(data):
    RetentionPolicy.objects.filter(kind=RetentionKind.INACTIVE_CUSTOMERS).update(
        enabled=True, keep_days=365
    )
    dry = apply_retention(dry_run=True)
    # Nothing changed yet.
    assert not Customer.objects.exclude(erased_at=None).exists()
    assert Interaction.objects.get(pk=data["old_note"].pk).body == "Long story"
    real = apply_retention(dry_run=False)
    assert {kind: result["rows"] for kind, result in dry.results.items()} == {
        kind: result["rows"] for kind, result in real.results.items()
    }
    assert dry.results[RetentionKind.STALE_LEADS]["rows"] == 1
    # The old buyer and the stale lead are idle for over a year; the lead counts under both.
    assert dry.results[RetentionKind.INACTIVE_CUSTOMERS]["rows"] == 2
    erased = set(Customer.objects.exclude(erased_at=None).values_list("pk", flat=True))
    assert erased == {data["stale"].pk, data["buyer"].pk}
    assert dry.results[RetentionKind.OLD_INTERACTIONS]["rows"] == 1
    old_note = Interaction.objects.get(pk=data["old_note"].pk)
    assert (old_note.subject, old_note.body, old_note.kind) == ("", "", "call")
    assert Interaction.objects.get(pk=data["new_note"].pk).body == "Keep me"
    assert dry.results[RetentionKind.IMPORT_REPORTS]["rows"] == 1
    assert not ImportIssue.objects.exists()
    # What is left is kept: a second run has nothing to do.
    again = apply_retention(dry_run=True)
    assert all(result["rows"] == 0 for result in again.results.values())


def test_restricted_and_recent_customers_are_kept(data):
    apply_retention(dry_run=False)
    for key in ("fresh", "held", "buyer"):
        assert Customer.objects.get(pk=data[key].pk).erased_at is None
    stale = Customer.objects.get(pk=data["stale"].pk)
    assert stale.phone == ""
    assert stale.name == f"#{stale.pk}"
    assert AuditEvent.objects.filter(
        action="customer.erase.retention", target_id=str(stale.pk)
    ).exists()
    assert AuditEvent.objects.get(action="retention.done").changes["dry_run"] is False


def test_the_command_prints_the_dry_run(data):
    out = StringIO()
    call_command("apply_retention", "--dry-run", stdout=out)
    assert "would change 1" in out.getvalue()
    assert Customer.objects.get(pk=data["stale"].pk).erased_at is None


def test_the_officer_sets_a_policy_and_starts_a_dry_run(
    client, privacy_user, data, django_capture_on_commit_callbacks
):
    client.force_login(privacy_user)
    assert client.get("/privacy/retention/").status_code == 200
    kind = RetentionKind.OLD_INTERACTIONS
    client.post(
        f"/privacy/retention/policies/{kind}/",
        {f"{kind}-keep_days": "400", f"{kind}-enabled": "on"},
    )
    assert RetentionPolicy.objects.get(kind=kind).keep_days == 400
    assert AuditEvent.objects.filter(action="retentionpolicy.update").exists()
    with django_capture_on_commit_callbacks() as callbacks:
        client.post("/privacy/retention/dry-run/")
    assert len(callbacks) == 1
    run = RetentionRun.objects.get()
    assert (run.status, run.dry_run, run.created_by) == (JobStatus.QUEUED, True, privacy_user)
    run = kind_of(run).run(run.pk)  # what the worker does with the message
    assert run.status == JobStatus.DONE
    assert AuditEvent.objects.get(action="retention.done").actor == privacy_user
    page = client.get("/privacy/retention/").content.decode()
    assert "dry run" in page
    # Applying needs the confirmation.
    with django_capture_on_commit_callbacks() as callbacks:
        client.post("/privacy/retention/apply/")
    assert callbacks == []


@pytest.mark.parametrize("role", ["sales_user", "analyst_user", "service_user"])
def test_retention_is_closed_to_other_roles(client, request, role):
    client.force_login(request.getfixturevalue(role))
    assert client.get("/privacy/retention/").status_code == 403
    assert client.post("/privacy/retention/dry-run/").status_code == 403


def test_a_new_customer_from_an_old_import_is_not_a_stale_lead(service_user):
    # Activity, not the age of the record, decides: a lead who bought recently stays.
    lead = _lead("Came back", idle_since=LONG_AGO)
    interaction_services.record_transaction(
        actor=None, customer=lead, occurred_at=timezone.now(), channel="store", amount=10
    )
    services.update_customer(actor=None, customer=lead, lifecycle_stage="lead")
    apply_retention(dry_run=False)
    assert Customer.objects.get(pk=lead.pk).erased_at is None


def test_a_stale_policy_form_is_refused_and_saving_again_keeps_both(make_user):
    from privacy import roles
    from tests.conftest import StaffClient
    from tests.factories import form_data

    browsers = []
    for _ in range(2):
        officer = make_user(roles.PRIVACY_OFFICER)
        browser = StaffClient()
        browser.force_login(officer)
        browsers.append((officer, browser))
    (first, first_browser), (_second, second_browser) = browsers
    kind = RetentionKind.OLD_INTERACTIONS
    policy = RetentionPolicy.objects.get(kind=kind)
    url = f"/privacy/retention/policies/{kind}/"

    def policy_form(browser):
        rows = browser.get("/privacy/retention/").context["rows"]
        return next(form for row_policy, form in rows if row_policy.kind == kind)

    first_form, second_form = policy_form(first_browser), policy_form(second_browser)
    first_browser.post(url, form_data(first_form, keep_days="400"))
    assert RetentionPolicy.objects.get(kind=kind).keep_days == 400

    refused = second_browser.post(url, form_data(second_form, enabled=not policy.enabled))
    assert refused.status_code == 200
    form = next(form for row_policy, form in refused.context["rows"] if row_policy.kind == kind)
    assert [(now, started) for _label, now, started, _ in form.conflict_rows] == [
        ("400", str(policy.keep_days))
    ]
    assert first.username in refused.content.decode()
    assert RetentionPolicy.objects.get(kind=kind).enabled == policy.enabled

    second_browser.post(url, form_data(form))
    stored = RetentionPolicy.objects.get(kind=kind)
    assert (stored.keep_days, stored.enabled) == (400, not policy.enabled)


def test_the_enabled_box_is_sent_with_its_policys_form(client, privacy_user):
    client.force_login(privacy_user)
    page = client.get("/privacy/retention/").content.decode()
    kind = RetentionKind.OLD_INTERACTIONS
    assert f'name="{kind}-enabled" form="policy-{kind}"' in page or (
        f'form="policy-{kind}"' in page and f'name="{kind}-enabled"' in page
    )


def test_every_policy_form_on_the_page_carries_its_version(client, privacy_user):
    """The version check only works if the page sends the version: read it from the HTML, as
    a browser would, not from the form object."""
    client.force_login(privacy_user)
    page = client.get("/privacy/retention/").content.decode()
    for policy in RetentionPolicy.objects.all():
        form = re.search(rf'<form[^>]*id="policy-{policy.kind}">(.*?)</form>', page, re.S)
        assert form, policy.kind
        assert f'name="{policy.kind}-row_version" value="{policy.version}"' in form.group(1)


def queued_retention_run(*, dry_run: bool = True) -> RetentionRun:
    return RetentionRun.objects.create(status=JobStatus.QUEUED, dry_run=dry_run)


def test_a_run_delivered_twice_runs_once_and_an_error_fails_it_with_a_reason(data, monkeypatch):
    run = queued_retention_run(dry_run=False)
    kind = kind_of(run)
    assert kind.run(run.pk).status == JobStatus.DONE
    assert kind.run(run.pk) is None  # the message delivered again: nothing to do
    assert AuditEvent.objects.filter(action="retention.done").count() == 1

    def broken(ids, actor):
        raise RuntimeError("disk full")

    kind_of_rows = RetentionKind.OLD_INTERACTIONS
    target = registry.RETENTION_TARGETS[kind_of_rows]
    monkeypatch.setitem(
        registry.RETENTION_TARGETS, kind_of_rows, dataclasses.replace(target, apply=broken)
    )
    Interaction.objects.update(occurred_at=timezone.now() - datetime.timedelta(days=6 * 365))
    failed = kind.run(queued_retention_run(dry_run=False).pk)
    assert failed.status == JobStatus.FAILED
    assert "the next run handles the rest" in failed.failure
    assert AuditEvent.objects.filter(action="retention.failed", target_id=str(failed.pk)).exists()


def test_a_run_whose_worker_died_is_queued_again_and_finishes(data):
    run = queued_retention_run()
    RetentionRun.objects.filter(pk=run.pk).update(
        status=JobStatus.RUNNING,
        started_at=timezone.now() - datetime.timedelta(minutes=10),
        heartbeat_at=timezone.now() - datetime.timedelta(minutes=5),
    )
    assert recover_stalled_jobs().requeued == 1
    assert RetentionRun.objects.get(pk=run.pk).status == JobStatus.QUEUED
    assert kind_of(run).run(run.pk).status == JobStatus.DONE


@pytest.mark.django_db(transaction=True)
def test_runs_recorded_before_the_runner_keep_their_meaning(migrate_to):
    old = migrate_to([("privacy", "0009_privacy_policy_edit_version")])
    runs = old.get_model("privacy", "RetentionRun").objects
    started = timezone.now() - datetime.timedelta(days=2)
    finished = runs.create(
        started_at=started,
        finished_at=started + datetime.timedelta(seconds=5),
        dry_run=False,
        results={"stale_leads": {"rows": 3}},
    )
    unfinished = runs.create(started_at=started, dry_run=True)
    migrate_to([("privacy", "0010_retention_runs_as_jobs")])
    finished, unfinished = (RetentionRun.objects.get(pk=run.pk) for run in (finished, unfinished))
    assert (finished.status, finished.created_at, finished.as_of) == (
        JobStatus.DONE,
        started,
        started,
    )
    assert finished.results == {"stale_leads": {"rows": 3}}
    assert (unfinished.status, unfinished.finished_at) == (JobStatus.FAILED, started)
