"""The audit log is append-only and hash-chained: PostgreSQL refuses UPDATE and DELETE, the ORM
refuses them everywhere, and `verify_audit` finds a changed or removed event."""

import importlib
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction
from django.db.migrations.loader import MigrationLoader

from privacy.actions import AlertAction, KeyAction
from privacy.audit.chain import GENESIS_HASH, event_hash
from privacy.audit.recording import audit_context, record_event
from privacy.audit.verification import verify_chain
from privacy.models import AppendOnlyError, AuditChannel, AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TRIGGER = "privacy_auditevent_append_only"


def _record_many(count: int, actor=None) -> list[AuditEvent]:
    events = []
    with audit_context(via=AuditChannel.WEB, ip_address="2001:DB8::1", user_agent="pytest"):
        for n in range(count):
            events.append(
                record_event(
                    actor=actor,
                    action=KeyAction.ROTATE,
                    changes={
                        "n": n,
                        "名字": ["张***", "李***"],
                        "nested": {"b": 1.5, "a": [True, None], "big": 1e16, "tiny": 1e-7},
                        7: "int keys become strings",
                    },
                )
            )
    return events


def _tamper(sql: str, params: list) -> None:
    """Change audit rows behind the application's back, as an intruder with database access
    would (on PostgreSQL with the append-only trigger switched off for this transaction)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE privacy_auditevent DISABLE TRIGGER {TRIGGER}")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE privacy_auditevent ENABLE TRIGGER {TRIGGER}")


def test_events_form_an_unbroken_hash_chain(make_user):
    actor = make_user()
    _record_many(25, actor=actor)
    rows = list(AuditEvent.objects.order_by("sequence"))
    assert [row.sequence for row in rows] == list(range(1, len(rows) + 1))
    previous = GENESIS_HASH
    for row in rows:
        assert row.previous_hash == previous
        assert row.event_hash == event_hash(row.__dict__)
        previous = row.event_hash
    stored = AuditEvent.objects.get(sequence=rows[-1].sequence)
    assert stored.changes["7"] == "int keys become strings"
    assert stored.ip_address == "2001:db8::1"
    report = verify_chain(batch_size=7)
    assert report.ok
    assert report.checked == len(rows)
    assert (report.head_sequence, report.head_hash) == (rows[-1].sequence, rows[-1].event_hash)


def test_verify_audit_reports_the_number_of_intact_events(capsys):
    _record_many(12)
    call_command("verify_audit", batch_size=5)
    count = AuditEvent.objects.count()
    assert f"Audit chain intact: {count} events checked" in capsys.readouterr().out


def test_verify_audit_on_an_empty_log_passes(capsys):
    if AuditEvent.objects.exists():
        pytest.skip("the database already holds events")
    call_command("verify_audit")
    assert "0 events checked" in capsys.readouterr().out


def test_a_changed_event_is_detected_and_named():
    events = _record_many(10)
    victim = events[4]
    _tamper(
        "UPDATE privacy_auditevent SET changes = %s WHERE id = %s",
        ['{"n": 999}', victim.pk],
    )
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit", batch_size=3)
    assert f"event {victim.sequence} (id {victim.pk}) was changed" in str(failure.value)
    report = verify_chain()
    assert report.first_break.kind == "changed"
    assert report.checked == victim.sequence - 1


def test_a_removed_event_is_detected():
    events = _record_many(10)
    victim = events[6]
    _tamper("DELETE FROM privacy_auditevent WHERE id = %s", [victim.pk])
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit")
    assert f"events before {victim.sequence + 1}" in str(failure.value)
    assert "removed" in str(failure.value)


def test_a_changed_event_whose_hash_was_recomputed_breaks_the_next_link():
    events = _record_many(6)
    victim = events[2]
    forged = {
        **{name: getattr(victim, name) for name in ("sequence", "occurred_at", "actor_id")},
        **{name: getattr(victim, name) for name in ("actor_label", "target_type", "target_id")},
        "action": "test.innocent",
        "changes": victim.changes,
        "ip_address": victim.ip_address,
        "user_agent": victim.user_agent,
        "via": victim.via,
        "previous_hash": victim.previous_hash,
    }
    _tamper(
        "UPDATE privacy_auditevent SET action = %s, event_hash = %s WHERE id = %s",
        ["test.innocent", event_hash(forged), victim.pk],
    )
    report = verify_chain()
    assert report.first_break.kind == "relinked"
    assert report.first_break.sequence == victim.sequence + 1


@pytest.mark.postgres_only
def test_postgresql_refuses_update_and_delete_of_audit_rows():
    event = _record_many(1)[0]
    for sql in (
        "UPDATE privacy_auditevent SET action = 'x' WHERE id = %s",
        "DELETE FROM privacy_auditevent WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [event.pk])
    event.refresh_from_db()
    assert event.action == KeyAction.ROTATE
    assert verify_chain().ok


def test_the_orm_refuses_to_change_or_delete_events():
    event = _record_many(1)[0]
    event.action = "changed"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="changed")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).action == KeyAction.ROTATE


def test_bulk_created_and_directly_created_events_join_the_chain():
    AuditEvent.objects.bulk_create([AuditEvent(action="test.bulk") for _ in range(3)])
    AuditEvent.objects.create(action="test.create", changes={"b": 2, "a": 1})
    assert AuditEvent.objects.filter(action__startswith="test.").count() == 4
    assert verify_chain().ok


def test_deleting_a_user_leaves_their_events_untouched():
    user = UserFactory(username="leaver")
    event = record_event(actor=user, action=KeyAction.ROTATE)
    user_id = user.pk
    user.delete()
    event = AuditEvent.objects.get(pk=event.pk)
    assert (event.actor_id, event.actor_label) == (user_id, "leaver")
    assert AuditEvent.objects.filter(action="user.delete", target_id=str(user_id)).exists()
    assert verify_chain().ok


def test_the_migration_chains_existing_events_exactly_as_recording_does():
    """Existing installations get their events chained by 0003_audit_chain; run on events
    that are already chained, it must write the very same hashes."""
    _record_many(5)
    before = list(AuditEvent.objects.order_by("sequence").values_list("sequence", "event_hash"))
    migration = importlib.import_module("privacy.migrations.0003_audit_chain")
    historical = MigrationLoader(connection).project_state(("privacy", "0003_audit_chain"))

    class Editor:
        connection = connections["default"]

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE privacy_auditevent DISABLE TRIGGER {TRIGGER}")
        migration.chain_existing_events(historical.apps, Editor())
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE privacy_auditevent ENABLE TRIGGER {TRIGGER}")
    after = list(AuditEvent.objects.order_by("sequence").values_list("sequence", "event_hash"))
    assert after == before


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_never_fork_the_chain():
    errors = []

    def append(worker: int) -> None:
        try:
            for n in range(10):
                with transaction.atomic():
                    record_event(
                        actor=None, action=AlertAction.ACKNOWLEDGE, changes={"w": worker, "n": n}
                    )
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=append, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert AuditEvent.objects.filter(action=AlertAction.ACKNOWLEDGE).count() == 40
    report = verify_chain()
    assert report.ok, report.first_break
