"""The copy of everything held about a person (PIPL art. 45, GDPR art. 15 and 20): a ZIP with
each kind of record twice, as JSON (stable English keys, for machines and for taking the data
to another business) and as CSV (translated headings, for people, opens in Excel).

Every table that points at a customer is either a section here or named in NOT_COPIED with
the reason; a test holds the two lists against the model graph, so a table added later
cannot be forgotten. Each section is streamed row by row: a long history does not fill memory.
"""

from __future__ import annotations

import datetime
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from analytics.models import CustomerMetrics, SegmentMember
from customers.models import (
    Contact,
    Customer,
    CustomerMerge,
    ExternalId,
    LifecycleStageChange,
)
from customers.services import ID_NUMBER_CONTEXT
from interactions.models import (
    ArchivedInteraction,
    FollowUp,
    Interaction,
    Transaction,
    TransactionLine,
)
from privacy import crypto
from privacy.audit import target_label
from privacy.models import AuditEvent, ConsentRecord, DataSubjectRequest
from privacy.subjects.erasure import same_person_ids
from privacy.tabular import csv_lines

Getter = Callable[[Any], Any]


@dataclass(frozen=True)
class Column:
    key: str
    label: Any
    get: Getter


@dataclass(frozen=True)
class Section:
    name: str
    title: Any
    model: type
    rows: Callable[[list[int]], QuerySet]
    columns: Sequence[Column]


def _field(name: str, label: Any = None) -> Column:
    return Column(name, label or name, lambda row: getattr(row, name))


def _display(name: str, label: Any) -> Column:
    return Column(name, label, lambda row: getattr(row, f"get_{name}_display")())


def _user(name: str, label: Any) -> Column:
    return Column(name, label, lambda row: getattr(getattr(row, name), "username", ""))


def _id_number(customer: Customer) -> str:
    # The person's own number, decrypted for them: the copy is the one place it leaves whole.
    if not customer.id_number_encrypted:
        return ""
    return crypto.decrypt(customer.id_number_encrypted, context=ID_NUMBER_CONTEXT)


_PROFILE = [
    _field("id", gettext_lazy("record")),
    _display("kind", gettext_lazy("kind")),
    _field("name", gettext_lazy("name")),
    _field("family_name", gettext_lazy("family name")),
    _field("given_name", gettext_lazy("given name")),
    _display("gender", gettext_lazy("gender")),
    _field("birth_date", gettext_lazy("birth date")),
    _field("phone", gettext_lazy("mobile phone")),
    _field("email", gettext_lazy("email")),
    _display("id_document_kind", gettext_lazy("identity document")),
    Column("id_number", gettext_lazy("identity number"), _id_number),
    _field("country", gettext_lazy("country")),
    _field("province", gettext_lazy("province")),
    _field("city", gettext_lazy("city")),
    _field("district", gettext_lazy("district")),
    _field("street", gettext_lazy("street address")),
    _field("postcode", gettext_lazy("postcode")),
    _field("company_name", gettext_lazy("company")),
    _field("industry", gettext_lazy("industry")),
    _field("website", gettext_lazy("website")),
    _display("lifecycle_stage", gettext_lazy("lifecycle stage")),
    _display("value_grade", gettext_lazy("value grade")),
    _display("source_channel", gettext_lazy("source")),
    _field("source_detail", gettext_lazy("source detail")),
    _user("owner", gettext_lazy("account owner")),
    Column("tags", gettext_lazy("tags"), lambda c: ", ".join(t.name for t in c.tags.all())),
    _field("notes", gettext_lazy("notes")),
    _field("consent_email", gettext_lazy("email marketing consent")),
    _field("consent_sms", gettext_lazy("SMS marketing consent")),
    _field("consent_phone", gettext_lazy("phone marketing consent")),
    _field("consent_profiling", gettext_lazy("profiling consent")),
    _field("consent_third_parties", gettext_lazy("third-party sharing consent")),
    _field("consent_sensitive", gettext_lazy("sensitive data consent")),
    _field("created_at", gettext_lazy("created")),
    _field("updated_at", gettext_lazy("updated")),
    _field("archived_at", gettext_lazy("archived")),
    _field("restricted_at", gettext_lazy("processing restricted")),
    Column("merged_into", gettext_lazy("merged into record"), lambda c: c.merged_into_id),
]

_INTERACTION_COLUMNS = [
    _field("occurred_at", gettext_lazy("when")),
    _display("kind", gettext_lazy("kind")),
    _display("channel", gettext_lazy("channel")),
    _field("subject", gettext_lazy("subject")),
    _field("body", gettext_lazy("details")),
    _field("satisfaction", gettext_lazy("satisfaction (1–5)")),
    _user("staff", gettext_lazy("staff")),
    Column("contact", gettext_lazy("contact"), lambda i: getattr(i.contact, "name", "")),
    _field("external_ref", gettext_lazy("external reference")),
]


def _interactions(model: type[Interaction | ArchivedInteraction], ids: list[int]) -> QuerySet:
    return (
        model.objects.filter(customer__in=ids)
        .select_related("staff", "contact")
        .order_by("occurred_at", "pk")
    )


SECTIONS: list[Section] = [
    Section(
        "profile",
        gettext_lazy("Profile"),
        Customer,
        lambda ids: (
            Customer.objects.filter(pk__in=ids)
            .select_related("owner")
            .prefetch_related("tags")
            .order_by("pk")
        ),
        _PROFILE,
    ),
    Section(
        "contacts",
        gettext_lazy("Contacts"),
        Contact,
        lambda ids: Contact.objects.filter(customer__in=ids).order_by("pk"),
        [
            _field("customer_id", gettext_lazy("record")),
            _field("name", gettext_lazy("name")),
            _field("title", gettext_lazy("job title")),
            _display("decision_role", gettext_lazy("role in decisions")),
            _field("phone", gettext_lazy("phone")),
            _field("email", gettext_lazy("email")),
            _field("is_primary", gettext_lazy("primary contact")),
            _field("created_at", gettext_lazy("created")),
        ],
    ),
    Section(
        "external_ids",
        gettext_lazy("Ids in other systems"),
        ExternalId,
        lambda ids: ExternalId.objects.filter(customer__in=ids).order_by("pk"),
        [
            _field("customer_id", gettext_lazy("record")),
            _field("system", gettext_lazy("system")),
            _field("external_id", gettext_lazy("external id")),
            _field("created_at", gettext_lazy("created")),
        ],
    ),
    Section(
        "transactions",
        gettext_lazy("Purchases"),
        Transaction,
        lambda ids: Transaction.objects.filter(customer__in=ids).order_by("occurred_at", "pk"),
        [
            _field("id", gettext_lazy("purchase")),
            _field("occurred_at", gettext_lazy("date")),
            _field("source_system", gettext_lazy("source system")),
            _field("external_ref", gettext_lazy("order number")),
            _display("channel", gettext_lazy("channel")),
            _display("status", gettext_lazy("status")),
            _field("amount", gettext_lazy("amount")),
            _field("discount", gettext_lazy("order discount")),
            _field("currency", gettext_lazy("currency")),
        ],
    ),
    Section(
        "transaction_lines",
        gettext_lazy("Purchased items"),
        TransactionLine,
        lambda ids: (
            TransactionLine.objects.filter(transaction__customer__in=ids)
            .select_related("product")
            .order_by("transaction_id", "pk")
        ),
        [
            _field("transaction_id", gettext_lazy("purchase")),
            Column("sku", gettext_lazy("SKU"), lambda line: getattr(line.product, "sku", "")),
            Column(
                "product", gettext_lazy("product"), lambda line: getattr(line.product, "name", "")
            ),
            _field("description", gettext_lazy("description")),
            _field("quantity", gettext_lazy("quantity")),
            _field("unit_price", gettext_lazy("unit price")),
            _field("discount", gettext_lazy("discount")),
            _field("line_total", gettext_lazy("line total")),
        ],
    ),
    Section(
        "interactions",
        gettext_lazy("Interactions"),
        Interaction,
        lambda ids: _interactions(Interaction, ids),
        _INTERACTION_COLUMNS,
    ),
    # After the hot table: an interaction archived while the copy is written may then be
    # listed in both sections, never in neither.
    Section(
        "archived_interactions",
        gettext_lazy("Older interactions (archived)"),
        ArchivedInteraction,
        lambda ids: _interactions(ArchivedInteraction, ids),
        [*_INTERACTION_COLUMNS, _field("archived_at", gettext_lazy("archived"))],
    ),
    Section(
        "follow_ups",
        gettext_lazy("Follow-ups"),
        FollowUp,
        lambda ids: (
            FollowUp.objects.filter(customer__in=ids)
            .select_related("assignee")
            .order_by("due_at", "pk")
        ),
        [
            _field("title", gettext_lazy("what to do")),
            _field("notes", gettext_lazy("notes")),
            _field("due_at", gettext_lazy("due date")),
            _user("assignee", gettext_lazy("assigned to")),
            _field("done_at", gettext_lazy("completed at")),
        ],
    ),
    Section(
        "consents",
        gettext_lazy("Consents"),
        ConsentRecord,
        lambda ids: (
            ConsentRecord.objects.filter(customer__in=ids)
            .select_related("policy", "recorded_by")
            .order_by("recorded_at", "pk")
        ),
        [
            _display("purpose", gettext_lazy("purpose")),
            _field("granted", gettext_lazy("granted")),
            _field("recorded_at", gettext_lazy("when")),
            _display("source", gettext_lazy("through")),
            _field("evidence", gettext_lazy("evidence")),
            Column("policy", gettext_lazy("policy version"), lambda r: str(r.policy or "")),
            _user("recorded_by", gettext_lazy("recorded by")),
        ],
    ),
    Section(
        "stage_history",
        gettext_lazy("Lifecycle stages"),
        LifecycleStageChange,
        lambda ids: (
            LifecycleStageChange.objects.filter(customer__in=ids)
            .select_related("changed_by")
            .order_by("changed_at", "pk")
        ),
        [
            _display("from_stage", gettext_lazy("from")),
            _display("to_stage", gettext_lazy("to")),
            _field("changed_at", gettext_lazy("when")),
            _user("changed_by", gettext_lazy("by")),
        ],
    ),
    Section(
        "merges",
        gettext_lazy("Duplicate records merged"),
        CustomerMerge,
        lambda ids: (
            CustomerMerge.objects.filter(survivor__in=ids)
            .select_related("actor")
            .prefetch_related("merged")
            .order_by("merged_at", "pk")
        ),
        [
            _field("survivor_id", gettext_lazy("kept record")),
            Column(
                "merged",
                gettext_lazy("records merged into it"),
                lambda m: ", ".join(str(c.pk) for c in m.merged.all()),
            ),
            _field("merged_at", gettext_lazy("merged")),
            _user("actor", gettext_lazy("by")),
            _field("undone_at", gettext_lazy("undone")),
        ],
    ),
    Section(
        "segments",
        gettext_lazy("Segments (profiling)"),
        SegmentMember,
        lambda ids: (
            SegmentMember.objects.filter(customer__in=ids)
            .select_related("segment")
            .order_by("added_at", "pk")
        ),
        [
            Column("segment", gettext_lazy("segment"), lambda m: m.segment.name),
            Column("description", gettext_lazy("description"), lambda m: m.segment.description),
            _field("added_at", gettext_lazy("since")),
        ],
    ),
    Section(
        "metrics",
        gettext_lazy("Figures computed from the history (profiling)"),
        CustomerMetrics,
        lambda ids: CustomerMetrics.objects.filter(customer__in=ids).order_by("customer_id"),
        [
            Column(field.name, field.verbose_name, lambda m, name=field.attname: getattr(m, name))
            for field in CustomerMetrics._meta.concrete_fields
        ],
    ),
    Section(
        "requests",
        gettext_lazy("Requests about this data"),
        DataSubjectRequest,
        lambda ids: DataSubjectRequest.objects.filter(customer__in=ids).order_by("pk"),
        [
            _field("id", gettext_lazy("request")),
            _display("kind", gettext_lazy("kind")),
            _field("received_at", gettext_lazy("received")),
            _field("details", gettext_lazy("what was asked")),
            _display("status", gettext_lazy("status")),
            _field("due_on", gettext_lazy("answer due")),
            _field("closed_at", gettext_lazy("closed")),
            _field("resolution", gettext_lazy("answer")),
        ],
    ),
    Section(
        "access_log",
        gettext_lazy("Who accessed or changed the record"),
        AuditEvent,
        lambda ids: AuditEvent.objects.filter(
            Q(target_type=target_label(Customer), target_id__in=[str(pk) for pk in ids])
        ).order_by("occurred_at", "pk"),
        [
            _field("occurred_at", gettext_lazy("when")),
            _field("actor_label", gettext_lazy("staff member")),
            _field("action", gettext_lazy("action")),
            _display("via", gettext_lazy("channel")),
            _field("target_id", gettext_lazy("record")),
        ],
    ),
]

# Tables pointing at a customer that the copy leaves out, and why.
NOT_COPIED = {
    # Internal bookkeeping of the duplicate search: pairs of record ids and a score; the
    # records themselves are in the profile section.
    "customers.DuplicateCandidate": "record-linkage bookkeeping",
}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict | list | str | int | float | bool | type(None)):
        return value
    return str(value)


def _json_rows(section: Section, rows: Iterable[Any]) -> Iterable[str]:
    yield "["
    for index, row in enumerate(rows):
        record = {column.key: _plain(column.get(row)) for column in section.columns}
        yield ("," if index else "") + "\n  " + json.dumps(record, ensure_ascii=False)
    yield "\n]\n"


def _csv_value(value: Any) -> Any:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    plain = _plain(value)
    return "" if plain is None else plain


def write_copy(customer: Customer, path: Path, *, request: DataSubjectRequest) -> dict[str, int]:
    """Write the ZIP for `customer` (and the records merged into it) to `path`; returns the
    number of rows in each section. Headings and the README are in the active language."""
    ids = same_person_ids([customer.pk])
    counts: dict[str, int] = {}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for section in SECTIONS:
            with archive.open(f"json/{section.name}.json", "w") as raw:
                handle = io.TextIOWrapper(raw, encoding="utf-8")
                rows = section.rows(ids).iterator(chunk_size=2000)
                for piece in _json_rows(section, _counted(rows, counts, section.name)):
                    handle.write(piece)
                handle.flush()
                handle.detach()
            with archive.open(f"csv/{section.name}.csv", "w") as raw:
                handle = io.TextIOWrapper(raw, encoding="utf-8", newline="")
                headers = [str(column.label) for column in section.columns]
                rows = (
                    [_csv_value(column.get(row)) for column in section.columns]
                    for row in section.rows(ids).iterator(chunk_size=2000)
                )
                for line in csv_lines(headers, rows):
                    handle.write(line)
                handle.flush()
                handle.detach()
        archive.writestr("README.txt", _readme(request, counts))
    return counts


def _counted(rows: Iterable[Any], counts: dict[str, int], name: str) -> Iterable[Any]:
    counts[name] = 0
    for row in rows:
        counts[name] += 1
        yield row


def _readme(request: DataSubjectRequest, counts: dict[str, int]) -> str:
    lines = [
        _("Copy of your personal data"),
        "",
        _("Prepared on %(date)s in answer to request #%(request)s.")
        % {"date": timezone.localtime().strftime("%Y-%m-%d %H:%M"), "request": request.pk},
        _(
            "Each kind of record is in the folder json/ (for programs) and in the folder csv/ "
            "(opens in a spreadsheet)."
        ),
        "",
    ]
    lines += [
        f"{section.name}: {section.title} ({counts.get(section.name, 0)})" for section in SECTIONS
    ]
    return "\n".join(lines) + "\n"
