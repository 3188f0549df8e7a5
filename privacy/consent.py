"""The consent ledger: every grant and withdrawal, per customer and purpose, is an added
ConsentRecord (through what, evidence, policy version, who); the customer's consent_* fields
hold the current status that lists, segments and exports filter on. Both change together,
only here: `record_consent` for a consent given or withdrawn on its own, `ledger_entries` for
the consents a profile write changed (form, import, merge)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kernel import outbox
from kernel.versioning import lock_version, next_version
from privacy.actions import ConsentAction
from privacy.audit.recording import record_event
from privacy.models import ConsentPurpose, ConsentRecord, ConsentSource, PrivacyPolicy

# The outbox event of a ledger entry (kernel/outbox.py; customers/events.py registers it).
CONSENT_TOPIC = "consent.changed"

# Each purpose's current status on the customer.
STATUS_FIELDS = {
    ConsentPurpose.EMAIL: "consent_email",
    ConsentPurpose.SMS: "consent_sms",
    ConsentPurpose.PHONE: "consent_phone",
    ConsentPurpose.PROFILING: "consent_profiling",
    ConsentPurpose.THIRD_PARTIES: "consent_third_parties",
    ConsentPurpose.SENSITIVE: "consent_sensitive",
}
PURPOSES_BY_FIELD = {field: purpose for purpose, field in STATUS_FIELDS.items()}
# The channels a list may be used for; such a list holds only customers who consented to it.
MARKETING_CHANNELS = (ConsentPurpose.EMAIL, ConsentPurpose.SMS, ConsentPurpose.PHONE)


def usable_for_list(customers: QuerySet, channel: str) -> QuerySet:
    """The customers of `customers` a list (export, segment) may hold: never those whose
    processing is restricted, and for a marketing channel only those who consented to it
    (`channel` empty: the list is not for marketing)."""
    customers = customers.filter(restricted_at__isnull=True)
    if not channel:
        return customers
    if channel not in MARKETING_CHANNELS:
        raise ValueError(channel)
    return customers.filter(**{STATUS_FIELDS[ConsentPurpose(channel)]: True})


def policy_in_force(on: datetime.date | None = None) -> PrivacyPolicy | None:
    """The privacy policy version in force on a day (today by default), if any."""
    day = on or timezone.localdate()
    return PrivacyPolicy.objects.filter(effective_from__lte=day).first()


@transaction.atomic
def record_consent(
    *,
    actor: Any,
    customer: Any,
    purpose: str,
    granted: bool,
    source: str,
    evidence: str = "",
    policy: PrivacyPolicy | None = None,
    at: datetime.datetime | None = None,
) -> ConsentRecord:
    """A consent given or withdrawn: the ledger entry, the customer's current status and an
    audit event (purpose and source, never the evidence text), together. `at` is when the
    customer gave or withdrew it (now by default; another system reports it later), `policy`
    the version they were shown (by default the one in force then). Raises ValidationError
    (evidence too long or unreadable; `at` in the future or before the purpose's latest
    entry, which would leave the current status wrong) before writing anything. A version not
    yet in force may be named: a form can show the coming version before its day."""
    purpose, source = ConsentPurpose(purpose), ConsentSource(source)
    field = STATUS_FIELDS[purpose]
    now = timezone.now()
    when = at or now
    record = ConsentRecord(
        customer=customer,
        purpose=purpose,
        granted=granted,
        recorded_at=when,
        source=source,
        evidence=evidence.strip(),
        policy=policy or policy_in_force(timezone.localdate(when)),
        recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    record.full_clean(exclude=["customer", "policy", "recorded_by"])
    # The profile form shows the consents: one opened before this entry must not put the old
    # status back, so the customer's version moves on (kernel/versioning.py).
    lock_version(customer, expected_version=None)
    if at is not None:
        # Under the customer's lock: two reports for one purpose are judged one after the other.
        _check_moment(customer, purpose, at, now)
    version_change = next_version(customer)
    type(customer).objects.filter(pk=customer.pk).update(
        **{field: granted, customer.version_field: customer.row_version}
    )
    setattr(customer, field, granted)
    record.save()
    outbox.emit(
        CONSENT_TOPIC,
        target=record,
        data=lambda: consent_payload(record),
        subject_id=record.customer_id,
    )
    record_event(
        actor=actor,
        action=ConsentAction.GRANT if granted else ConsentAction.WITHDRAW,
        target=customer,
        changes={
            "purpose": purpose.value,
            "source": source.value,
            "policy": record.policy.version if record.policy else None,
            **({"recorded_at": when.isoformat()} if at is not None else {}),
            **version_change,
        },
    )
    return record


def _check_moment(
    customer: Any, purpose: ConsentPurpose, at: datetime.datetime, now: datetime.datetime
) -> None:
    if at > now:
        raise ValidationError(
            {"recorded_at": _("A consent cannot be given or withdrawn in the future.")}
        )
    if ConsentRecord.objects.filter(
        customer_id=customer.pk, purpose=purpose, recorded_at__gt=at
    ).exists():
        raise ValidationError(
            {
                "recorded_at": _(
                    "The ledger already holds a later consent or withdrawal for this purpose."
                )
            }
        )


def consent_payload(record: ConsentRecord) -> dict[str, Any]:
    """A ledger entry as other systems are told of it (the `consent.changed` event, whose
    topic customers registers): ids and codes, never the evidence text."""
    return {
        "id": record.pk,
        "customer": record.customer_id,
        "purpose": record.purpose,
        "granted": record.granted,
        "source": record.source,
        "policy": record.policy.version if record.policy is not None else None,
        "recorded_at": record.recorded_at.isoformat(),
    }


def ledger_entries(
    customer: Any,
    before: Mapping[str, bool],
    *,
    source: str,
    policy: PrivacyPolicy | None,
    actor: Any = None,
    evidence: str = "",
    at: datetime.datetime | None = None,
) -> list[ConsentRecord]:
    """Unsaved ledger entries for the consents a write changed on `customer` (compared with
    `before`, field name -> status; a new customer's is empty), for the caller to save with
    the customer; `policy` is the version in force (policy_in_force(), looked up once per
    batch)."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    when = at or timezone.now()
    entries = []
    for field, purpose in PURPOSES_BY_FIELD.items():
        now = getattr(customer, field)
        if now != before.get(field, False):
            entries.append(
                ConsentRecord(
                    customer_id=customer.pk,
                    purpose=purpose,
                    granted=now,
                    recorded_at=when,
                    source=source,
                    evidence=evidence,
                    policy=policy,
                    recorded_by=user,
                )
            )
    return entries


def statuses(customer: Any) -> dict[str, bool]:
    """The customer's current consent status, field name -> granted."""
    return {field: getattr(customer, field) for field in PURPOSES_BY_FIELD}
