"""The rows that follow from writing customers: the stage history, the consent ledger, tag
links and external ids. One implementation for every write path: the services write a batch
of one customer (customers/services.py, customers/merge.py), the import a batch of thousands
(customers/imports/customer_rows.py), in the same few bulk statements, so that a form save
and an import row that make the same change store the same rows.

The customer rows themselves, and the audit events, stay with each path: a form saves one
customer with its validation and version check and audits it; the import writes customers
with COPY and bulk_update and audits the job (customers/imports/jobs.py).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from customers import events
from customers.models import Customer, ExternalId, LifecycleStageChange
from kernel.bulk import insert_values
from privacy import consent
from privacy.models import ConsentRecord


@dataclass(slots=True)
class CustomerWrite:
    """A customer a write created or changed, already saved (it has its id), with what it was
    before: the consents it held (a new customer held none) and each move between stages."""

    customer: Customer
    created: bool = False
    consents_before: Mapping[str, bool] = field(default_factory=dict)
    stage_moves: list[tuple[str, str]] = field(default_factory=list)
    tag_ids: set[int] = field(default_factory=set)
    external_ids: list[tuple[str, str]] = field(default_factory=list)  # (system, id)

    def moved_stage(self, before: str) -> None:
        """Note a change from stage `before` to the customer's stage now; a change that
        leaves the stage as it was is no move."""
        if before != self.customer.lifecycle_stage:
            self.stage_moves.append((before, self.customer.lifecycle_stage))


def record_customer_writes(
    writes: Sequence[CustomerWrite],
    *,
    actor: Any,
    consent_source: str,
    evidence: str = "",
    at: datetime.datetime | None = None,
    announce: bool = True,
) -> None:
    """Write what follows from `writes`, all stamped `at` (now by default) and by `actor` when
    it is a signed-in user: a stage history row for a new customer (from no stage) and for
    each move of a changed one; a consent ledger entry for each consent that differs from
    before (through `consent_source`, with `evidence`, under the privacy policy in force);
    the tag links and external ids the writes add (external ids nobody holds yet: the caller
    checked); and the outbox events of the new and changed customers and of the consent
    entries (customers/events.py), unless the caller announces the write itself
    (`announce=False`: a merge is one customer.merged). Call inside the transaction that saved
    the customers."""
    at = at or timezone.now()
    user_id = actor.pk if getattr(actor, "is_authenticated", False) else None
    insert_values(
        LifecycleStageChange,
        ("customer_id", "from_stage", "to_stage", "changed_at", "changed_by_id"),
        [
            (write.customer.pk, before, after, at, user_id)
            for write in writes
            for before, after in (
                [("", write.customer.lifecycle_stage)] if write.created else write.stage_moves
            )
        ],
    )
    policy = consent.policy_in_force()
    ledger = ConsentRecord.objects.bulk_create(
        entry
        for write in writes
        for entry in consent.ledger_entries(
            write.customer,
            {} if write.created else write.consents_before,
            source=consent_source,
            actor=actor,
            evidence=evidence,
            policy=policy,
            at=at,
        )
    )
    insert_values(
        ExternalId,
        ("customer_id", "system", "external_id", "created_at"),
        [
            (write.customer.pk, system, external_id, at)
            for write in writes
            for system, external_id in write.external_ids
        ],
    )
    _link_tags(writes)
    if announce:
        # After the tags: the announced record shows them.
        events.announce_writes(
            [write.customer for write in writes if write.created],
            [write.customer for write in writes if not write.created],
        )
    events.announce_consents(ledger)


def _link_tags(writes: Sequence[CustomerWrite]) -> None:
    """New customers cannot hold a link yet, so theirs go in directly; existing customers'
    may race another writer, so conflicts are ignored."""
    through = Customer.tags.through
    insert_values(
        through,
        ("customer_id", "tag_id"),
        [
            (write.customer.pk, tag_id)
            for write in writes
            if write.created
            for tag_id in write.tag_ids
        ],
    )
    through.objects.bulk_create(
        [
            through(customer_id=write.customer.pk, tag_id=tag_id)
            for write in writes
            if not write.created
            for tag_id in write.tag_ids
        ],
        ignore_conflicts=True,
    )
