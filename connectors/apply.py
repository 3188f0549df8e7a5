"""Applying what shops say (connectors/changes.py) through the product's own write paths, as
the connector's service account: customers and new orders through the import's bulk upsert
(customers/imports/records.py: the same cleaning, matching and consent ledger as a file),
later refunds and cancellations through interactions.services.revise_transaction, privacy
requests through privacy.subjects.services.log_request. A generic webhook's records, mapped
to a kind's import fields already, go through the same upsert one batch a delivery; there a
refused record fails alone.

What the shop last said about each object is kept in SourceRecord, keyed by (source system,
kind, the shop's id): a change whose updated time is not newer than the one held changes
nothing, so a delivery repeated or arriving after a newer one does no harm. An order's amount
is its total less every refund known, by refund id, whether the refund came before the order,
inside it or after it.

One call applies a batch of units (a delivery's changes, an export object's): each unit's
outcome says whether it applied, changed nothing, or failed and why. The caller holds the
transaction and the connector's lock (one apply per shop at a time)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from connectors import selectors
from connectors.changes import (
    Change,
    CustomerChange,
    MappedRecord,
    OrderChange,
    RefundChange,
    SubjectRequestChange,
)
from connectors.models import Connector, SourceKind, SourceRecord
from customers.imports.records import RecordOutcome, upsert_records
from customers.models import ImportKind, InvalidValues, SourceChannel, UpdatePolicy
from interactions.models import SalesChannel, Transaction, TransactionStatus
from interactions.services import revise_transaction
from privacy.models import RequestChannel
from privacy.subjects.services import log_request

# The keys that may find an existing customer: the shop's id, then phone and email.
MATCH_ON = ("external_id", "phone", "email")
# What a generic webhook's record of each import kind is, in SourceRecord.
_SOURCE_KINDS = {
    ImportKind.CUSTOMERS: SourceKind.CUSTOMER,
    ImportKind.TRANSACTIONS: SourceKind.ORDER,
    ImportKind.INTERACTIONS: SourceKind.INTERACTION,
}
# A delivery's note names this many refused records at most, then counts the others.
_NOTED_RECORDS = 20
_UNMAPPED_NOTED = 30


@dataclass
class UnitOutcome:
    """What came of one unit: something written or recorded (`applied`), the reasons it
    failed (`errors`), what else the staff should read (`notes`), the customer concerned."""

    applied: bool = False
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    customer_id: int | None = None

    @property
    def failed(self) -> bool:
        return bool(self.errors)

    @property
    def text(self) -> str:
        return " ".join(self.errors or self.notes)


def _newer(given: datetime.datetime | None, held: SourceRecord | None) -> bool:
    """Whether a change made at `given` is newer than what is held: anything is, for an object
    never seen; a change without a time only founds what was never seen."""
    if held is None:
        return True
    if given is None:
        return False
    return held.source_updated_at is None or given > held.source_updated_at


def _latest(changes: Iterable[Any]) -> dict[str, Any]:
    """The newest change of each object (by `external_id`) among a batch's."""
    latest: dict[str, Any] = {}
    for change in changes:
        held = latest.get(change.external_id)
        if held is None or (
            change.updated_at is not None
            and (held.updated_at is None or change.updated_at > held.updated_at)
        ):
            latest[change.external_id] = change
    return latest


def _messages(outcomes: Iterable[RecordOutcome], *, warnings: bool = False) -> list[str]:
    """A record's errors (or warnings: a value left out, a restricted customer left alone)
    as "field: message"; the import's messages never quote a value."""
    return [
        f"{field_key}: {message}"
        for outcome in outcomes
        for field_key, messages in (outcome.warnings if warnings else outcome.errors).items()
        for message in messages
    ]


def settled(details: dict[str, Any]) -> tuple[Decimal, str]:
    """An order's amount after its refunds, and its status: refunded once the refunds reach
    its total."""
    total = Decimal(details["total"])
    refunded = sum((Decimal(amount) for amount in details.get("refunds", {}).values()), Decimal(0))
    status = details["status"]
    if status == TransactionStatus.PAID and refunded > 0 and refunded >= total:
        status = TransactionStatus.REFUNDED
    return max(total - refunded, Decimal(0)), status


class _Batch:
    def __init__(self, connector: Connector, units: Sequence[Sequence[Change]]) -> None:
        self.connector = connector
        self.system = connector.system_name
        self.actor = connector.service_account
        self.units = units
        self.outcomes = [UnitOutcome() for _unit in units]

    def of_type(self, kind: type, *, failed_too: bool = False) -> list[tuple[int, Any]]:
        return [
            (index, change)
            for index, unit in enumerate(self.units)
            for change in unit
            if isinstance(change, kind) and (failed_too or not self.outcomes[index].failed)
        ]

    def held(self, kind: str, external_ids: Iterable[str]) -> dict[str, SourceRecord]:
        return {
            record.external_id: record
            for record in SourceRecord.objects.select_for_update().filter(
                system=self.system, kind=kind, external_id__in=set(external_ids)
            )
        }

    def keep(
        self,
        kind: str,
        external_id: str,
        held: SourceRecord | None,
        *,
        updated_at: datetime.datetime | None,
        local_id: int | None,
        details: dict[str, Any] | None = None,
    ) -> SourceRecord:
        record = held or SourceRecord(system=self.system, kind=kind, external_id=external_id)
        record.source_updated_at = updated_at or record.source_updated_at
        record.local_id = local_id
        if details is not None:
            record.details = details
        record.save()
        return record

    def upsert(
        self,
        kind: str,
        records: list[dict[str, Any]],
        policy: str,
        source_channel: str = SourceChannel.ONLINE_SHOP,
    ) -> list[RecordOutcome]:
        return upsert_records(
            actor=self.actor,
            kind=kind,
            records=records,
            source_name=self.system,
            source_channel=source_channel,
            match_on=MATCH_ON,
            policy=policy,
            # A shop's odd value (a phone the CRM cannot read) is left out with a warning,
            # not the whole customer.
            invalid_values=InvalidValues.DROP_VALUE,
        ).results

    # --- customers ---------------------------------------------------------------------------

    def customers(self) -> None:
        wanted = [
            (index, change.customer if isinstance(change, OrderChange) else change)
            for index, change in [*self.of_type(CustomerChange), *self.of_type(OrderChange)]
        ]
        latest = _latest(change for _index, change in wanted if change.external_id)
        held = self.held(SourceKind.CUSTOMER, latest)
        units_of: dict[str, list[int]] = {}
        writes: dict[str, list[tuple[list[int], CustomerChange]]] = {
            UpdatePolicy.OVERWRITE: [],
            UpdatePolicy.FILL: [],
        }
        for index, change in wanted:
            if change.external_id:
                units_of.setdefault(change.external_id, []).append(index)
            else:
                # A guest: matched by phone or email; what the order says only fills gaps.
                writes[UpdatePolicy.FILL].append(([index], change))
        for external_id, change in latest.items():
            record = held.get(external_id)
            if _newer(change.updated_at, record):
                fill = change.updated_at is None
                writes[UpdatePolicy.FILL if fill else UpdatePolicy.OVERWRITE].append(
                    (units_of[external_id], change)
                )
            else:
                for index in units_of[external_id]:
                    self.outcomes[index].customer_id = record.local_id if record else None
                    self.outcomes[index].notes.append(
                        _("The customer is older than what the CRM holds: left as it is.")
                    )
        for policy, pending in writes.items():
            if not pending:
                continue
            results = self.upsert(ImportKind.CUSTOMERS, [c.record for _u, c in pending], policy)
            for (indexes, change), result in zip(pending, results, strict=True):
                for index in indexes:
                    outcome = self.outcomes[index]
                    if result.status == "failed":
                        outcome.errors.extend(_messages([result]))
                        continue
                    outcome.notes.extend(_messages([result], warnings=True))
                    outcome.customer_id = result.id
                    outcome.applied = outcome.applied or result.status != "unchanged"
                if result.status != "failed" and change.external_id:
                    self.keep(
                        SourceKind.CUSTOMER,
                        change.external_id,
                        held.get(change.external_id),
                        updated_at=change.updated_at,
                        local_id=result.id,
                    )

    # --- orders ------------------------------------------------------------------------------

    def orders(self) -> None:
        latest = _latest(change for _index, change in self.of_type(OrderChange))
        index_of = {change.external_id: index for index, change in self.of_type(OrderChange)}
        held = self.held(SourceKind.ORDER, latest)
        local = Transaction.objects.in_bulk(
            [record.local_id for record in held.values() if record.local_id]
        )
        new: list[tuple[int, OrderChange, dict[str, Any]]] = []
        for external_id, order in latest.items():
            index, record = index_of[external_id], held.get(external_id)
            outcome = self.outcomes[index]
            if (
                record is not None
                and record.source_updated_at
                and not _newer(order.updated_at, record)
            ):
                outcome.notes.append(
                    _("The order is older than what the CRM holds: left as it is.")
                )
                continue
            if order.status is None:
                outcome.notes.append(_("The order is not paid yet: it is recorded once it is."))
                continue
            refunds = dict(record.details.get("refunds", {})) if record else {}
            refunds.update({key: str(amount) for key, amount in order.refunds.items()})
            details = {"total": str(order.total), "status": order.status, "refunds": refunds}
            existing = local.get(record.local_id) if record and record.local_id else None
            if existing is None:
                new.append((index, order, details))
                continue
            amount, status = settled(details)
            if revise_transaction(actor=self.actor, order=existing, status=status, amount=amount):
                outcome.applied = True
            outcome.customer_id = existing.customer_id
            self.keep(
                SourceKind.ORDER,
                external_id,
                record,
                updated_at=order.updated_at,
                local_id=existing.pk,
                details=details,
            )
        self.create_orders(new, held)

    def create_orders(
        self, new: list[tuple[int, OrderChange, dict[str, Any]]], held: dict[str, SourceRecord]
    ) -> None:
        """Record new orders, each with its lines, in one upsert; should one order's lines be
        refused, the upsert is undone and made again without it, so that no order is written
        with only part of its lines."""
        while new:
            records: list[dict[str, Any]] = []
            owners: list[int] = []
            for position, (_index, order, details) in enumerate(new):
                for record in _order_records(order, details):
                    records.append(record)
                    owners.append(position)
            savepoint = transaction.savepoint()
            results = self.upsert(ImportKind.TRANSACTIONS, records, UpdatePolicy.OVERWRITE)
            refused: dict[int, list[RecordOutcome]] = {}
            for owner, result in zip(owners, results, strict=True):
                if result.status == "failed":
                    refused.setdefault(owner, []).append(result)
            if refused:
                transaction.savepoint_rollback(savepoint)
                for position, outcomes in refused.items():
                    self.outcomes[new[position][0]].errors.extend(_messages(outcomes))
                new = [order for position, order in enumerate(new) if position not in refused]
                continue
            transaction.savepoint_commit(savepoint)
            # Every record of a written order has its order's id.
            stored = {
                owner: result.id
                for owner, result in zip(owners, results, strict=True)
                if result.id is not None
            }
            customers = dict(
                Transaction.objects.filter(pk__in=list(stored.values())).values_list(
                    "pk", "customer_id"
                )
            )
            for position, (index, order, details) in enumerate(new):
                outcome = self.outcomes[index]
                outcome.applied = True
                outcome.customer_id = customers.get(stored[position])
                self.keep(
                    SourceKind.ORDER,
                    order.external_id,
                    held.get(order.external_id),
                    updated_at=order.updated_at,
                    local_id=stored[position],
                    details=details,
                )
            return

    # --- refunds and requests ----------------------------------------------------------------

    def refunds(self) -> None:
        for index, refund in self.of_type(RefundChange):
            outcome = self.outcomes[index]
            record = self.held(SourceKind.ORDER, [refund.order_external_id]).get(
                refund.order_external_id
            )
            details = dict(record.details) if record else {}
            refunds = dict(details.get("refunds", {}))
            if refund.refund_id in refunds:
                outcome.notes.append(_("This refund is already counted."))
                continue
            refunds[refund.refund_id] = str(refund.amount)
            details["refunds"] = refunds
            order = (
                Transaction.objects.filter(pk=record.local_id).first()
                if record and record.local_id
                else None
            )
            if order is not None and "total" in details:
                amount, status = settled(details)
                revise_transaction(actor=self.actor, order=order, status=status, amount=amount)
                outcome.customer_id = order.customer_id
            else:
                outcome.notes.append(
                    _("The order is not in the CRM yet: the refund counts once it comes.")
                )
            outcome.applied = True
            self.keep(
                SourceKind.ORDER,
                refund.order_external_id,
                record,
                updated_at=None,
                local_id=order.pk if order else None,
                details=details,
            )

    def requests(self) -> None:
        for index, request in self.of_type(SubjectRequestChange):
            outcome = self.outcomes[index]
            customer = selectors.customer_named_by(
                system=self.system,
                external_id=request.customer_external_id,
                email=request.email,
                phone=request.phone,
            )
            outcome.applied = True
            if customer is None:
                outcome.notes.append(_("No customer in the CRM matches: nothing to do."))
                continue
            log_request(
                actor=self.actor,
                customer=customer,
                kind=request.kind,
                channel=RequestChannel.CONNECTED_SYSTEM,
                details=request.details,
            )
            outcome.customer_id = customer.pk
            outcome.notes.append(_("A data-subject request was opened for the privacy officer."))

    # --- a generic webhook's records ---------------------------------------------------------

    def mapped_records(self) -> None:
        """Each delivery's records in one upsert (per kind and policy): a refused record fails
        alone, its messages in the delivery's note; one not newer than what the source said
        last changes nothing. A delivery none of whose records was written or left as it is
        fails, with the reasons."""
        groups: dict[tuple[str, str, str], list[tuple[int, MappedRecord]]] = {}
        for index, change in self.of_type(MappedRecord):
            group = (change.kind, change.policy, change.source_channel)
            groups.setdefault(group, []).append((index, change))
        refused: dict[int, list[str]] = {}
        kept: dict[int, int] = {}
        for (kind, policy, source_channel), items in groups.items():
            source_kind = _SOURCE_KINDS[ImportKind(kind)]
            held = self.held(source_kind, {c.external_id for _i, c in items if c.external_id})
            writes: list[tuple[int, MappedRecord]] = []
            for index, change in items:
                if change.problem:
                    refused.setdefault(index, []).append(_record_note(change, change.problem))
                elif change.external_id and _stale(change, held.get(change.external_id)):
                    kept[index] = kept.get(index, 0) + 1
                    self.outcomes[index].notes.append(
                        _record_note(change, _("Older than what the CRM holds: left as it is."))
                    )
                else:
                    writes.append((index, change))
            if not writes:
                continue
            results = self.upsert(
                kind, [change.record for _i, change in writes], policy, source_channel
            )
            for (index, change), result in zip(writes, results, strict=True):
                outcome = self.outcomes[index]
                if result.status == "failed":
                    refused.setdefault(index, []).extend(
                        _record_note(change, message) for message in _messages([result])
                    )
                    continue
                kept[index] = kept.get(index, 0) + 1
                outcome.notes.extend(
                    _record_note(change, message) for message in _messages([result], warnings=True)
                )
                outcome.applied = outcome.applied or result.status != "unchanged"
                if kind == ImportKind.CUSTOMERS and outcome.customer_id is None:
                    outcome.customer_id = result.id
                if change.external_id and not _stale(change, held.get(change.external_id)):
                    held[change.external_id] = self.keep(
                        source_kind,
                        change.external_id,
                        held.get(change.external_id),
                        updated_at=change.updated_at,
                        local_id=result.id,
                    )
        for index, _unit in enumerate(self.units):
            changes = [change for change in _unit if isinstance(change, MappedRecord)]
            if not changes:
                continue
            outcome, problems = self.outcomes[index], refused.get(index, [])
            if len(problems) > _NOTED_RECORDS:
                problems = [
                    *problems[:_NOTED_RECORDS],
                    _("And %(count)d more.") % {"count": len(problems) - _NOTED_RECORDS},
                ]
            if problems and not kept.get(index):
                outcome.errors.extend(problems)
                continue
            outcome.notes[:0] = problems
            unmapped = list(dict.fromkeys(key for c in changes for key in c.unmapped_keys))
            if unmapped:
                shown = ", ".join(unmapped[:_UNMAPPED_NOTED])
                more = "…" if len(unmapped) > _UNMAPPED_NOTED else ""
                outcome.notes.append(
                    _("Keys not mapped, left out: %(keys)s.") % {"keys": shown + more}
                )


def _stale(change: MappedRecord, held: SourceRecord | None) -> bool:
    """Whether what the source says is not newer than what it said last (compared only when
    both have a time: a source that sends none is written every time)."""
    return (
        change.updated_at is not None
        and held is not None
        and held.source_updated_at is not None
        and change.updated_at <= held.source_updated_at
    )


def _record_note(change: MappedRecord, message: str) -> str:
    return _("Record %(number)d: %(message)s") % {"number": change.position, "message": message}


def _order_records(order: OrderChange, details: dict[str, Any]) -> list[dict[str, Any]]:
    """The order import's records of an order: one per line, the order's values on each."""
    amount, status = settled(details)
    buyer = order.customer.record
    base = {
        "external_ref": order.number,
        "customer_external_id": order.customer.external_id,
        "customer_email": buyer.get("email", ""),
        "customer_phone": buyer.get("phone", ""),
        "occurred_at": order.occurred_at.isoformat(),
        "currency": order.currency,
        "channel": SalesChannel.ONLINE_SHOP,
        "status": status,
        "order_total": str(amount),
        "order_discount": str(order.discount),
    }
    if not order.lines:
        return [{**base, "amount": str(amount)}]
    return [
        {
            **base,
            "sku": line.sku,
            "product_name": line.product_name,
            "quantity": str(line.quantity),
            "unit_price": str(line.unit_price),
            "discount": str(line.discount),
        }
        for line in order.lines
    ]


def apply_units(connector: Connector, units: Sequence[Sequence[Change]]) -> list[UnitOutcome]:
    """Apply a batch of units for `connector` (locked by the caller, in the caller's
    transaction); returns each unit's outcome, in order. Customers come first, so that an order
    arriving before its customer finds it."""
    batch = _Batch(connector, units)
    batch.customers()
    batch.orders()
    batch.refunds()
    batch.requests()
    batch.mapped_records()
    return batch.outcomes
