"""The audit log becomes a hash chain and append-only; security alerts.

Existing events are chained in the order they were recorded (by id). On PostgreSQL a trigger
then refuses UPDATE and DELETE on audit rows; the actor loses its foreign-key constraint so that
deleting a user does not have to update them.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from privacy.audit.chain import CHAINED_FIELDS, GENESIS_HASH, event_hash

_BATCH = 2000

APPEND_ONLY_SQL = """
CREATE OR REPLACE FUNCTION privacy_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'audit events are append-only: ' || TG_OP || ' refused on privacy_auditevent',
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS privacy_auditevent_append_only ON privacy_auditevent;
CREATE TRIGGER privacy_auditevent_append_only
    BEFORE UPDATE OR DELETE ON privacy_auditevent
    FOR EACH ROW EXECUTE FUNCTION privacy_auditevent_append_only();
"""

DROP_APPEND_ONLY_SQL = """
DROP TRIGGER IF EXISTS privacy_auditevent_append_only ON privacy_auditevent;
DROP FUNCTION IF EXISTS privacy_auditevent_append_only();
"""


def chain_existing_events(apps, schema_editor) -> None:
    AuditEvent = apps.get_model("privacy", "AuditEvent")
    db = schema_editor.connection.alias
    previous, sequence, last_pk = GENESIS_HASH, 0, 0
    while True:
        batch = list(AuditEvent.objects.using(db).filter(pk__gt=last_pk).order_by("pk")[:_BATCH])
        if not batch:
            return
        for event in batch:
            sequence += 1
            event.sequence = sequence
            event.previous_hash = previous
            event.event_hash = event_hash({name: getattr(event, name) for name in CHAINED_FIELDS})
            previous = event.event_hash
        AuditEvent.objects.using(db).bulk_update(batch, ["sequence", "previous_hash", "event_hash"])
        last_pk = batch[-1].pk


def install_append_only_trigger(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY_SQL)


def drop_append_only_trigger(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_APPEND_ONLY_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0002_consent_ledger"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="who",
            ),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="occurred_at",
            field=models.DateTimeField(
                db_index=True, default=django.utils.timezone.now, verbose_name="when"
            ),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="sequence",
            field=models.PositiveBigIntegerField(null=True, verbose_name="sequence"),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="previous_hash",
            field=models.CharField(default="", max_length=64, verbose_name="previous hash"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="event_hash",
            field=models.CharField(default="", max_length=64, verbose_name="hash"),
            preserve_default=False,
        ),
        migrations.RunPython(chain_existing_events, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="auditevent",
            name="sequence",
            field=models.PositiveBigIntegerField(unique=True, verbose_name="sequence"),
        ),
        migrations.AlterModelOptions(
            name="auditevent",
            options={
                "ordering": ["-sequence"],
                "verbose_name": "audit event",
                "verbose_name_plural": "audit events",
            },
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                fields=["actor_label", "-occurred_at"], name="audit_actor_label_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["ip_address", "-occurred_at"], name="audit_ip_idx"),
        ),
        migrations.CreateModel(
            name="SecurityAlert",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("failed_logins", "Burst of failed logins"),
                            ("large_export", "Large export"),
                            ("id_reveals", "Many identity number reveals"),
                            ("audit_chain", "Audit log tampered with"),
                        ],
                        max_length=20,
                        verbose_name="kind",
                    ),
                ),
                ("subject", models.CharField(blank=True, max_length=150, verbose_name="about")),
                ("params", models.JSONField(blank=True, default=dict, verbose_name="details")),
                (
                    "occurred_at",
                    models.DateTimeField(
                        db_index=True, default=django.utils.timezone.now, verbose_name="when"
                    ),
                ),
                ("mailed_at", models.DateTimeField(blank=True, null=True, verbose_name="mailed")),
                (
                    "acknowledged_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="acknowledged"),
                ),
                (
                    "acknowledged_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="acknowledged by",
                    ),
                ),
            ],
            options={
                "verbose_name": "security alert",
                "verbose_name_plural": "security alerts",
                "ordering": ["-occurred_at", "-pk"],
                "indexes": [
                    models.Index(
                        fields=["kind", "subject", "-occurred_at"], name="alert_dedupe_idx"
                    ),
                    models.Index(
                        condition=models.Q(("acknowledged_at__isnull", True)),
                        fields=["-occurred_at"],
                        name="alert_open_idx",
                    ),
                ],
            },
        ),
        migrations.RunPython(install_append_only_trigger, drop_append_only_trigger),
    ]
