"""The interaction import's rows: calls, visits, complaints, tickets from a service desk or a
shop's event export. An interaction is matched by (source system, its id there) when the file
has ids, otherwise by customer, kind, time, subject and details, in the hot table and in the
archive alike, so a file imported again adds nothing, even years later. Columns of the custom
fields of interactions fill them (a value that does not fit is the row's problem, as a
built-in one's)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from customers.custom_fields import records as custom_values
from customers.custom_fields.models import FieldTarget
from customers.custom_fields.selectors import defined_fields
from customers.imports.fields import (
    NO_BATCH,
    BatchOptions,
    BatchValues,
    PreparedRow,
    choice_value,
    datetime_value,
    fitting_text,
    report_invalid,
    row_custom_values,
)
from customers.imports.mapping import ImportField, custom_import_fields
from customers.models import Customer, InvalidValues
from customers.normalize import NormalizationError, fold_width
from interactions.events import announce_interactions
from interactions.imports.customer_link import (
    CUSTOMER_FIELDS,
    customers_for,
    link_errors,
    prepare_customer_keys,
    record_latest_activity,
)
from interactions.models import (
    ArchivedInteraction,
    Interaction,
    InteractionChannel,
    InteractionKind,
)
from kernel.bulk import Blueprint, insert_new

FIELDS: tuple[ImportField, ...] = (
    *CUSTOMER_FIELDS,
    ImportField(
        "external_ref",
        _("Interaction id in the source system"),
        (
            "interaction id",
            "ticket id",
            "ticket",
            "event id",
            "记录编号",
            "工单号",
            "工单编号",
            "记录id",
            "事件编号",
        ),
    ),
    ImportField(
        "kind",
        _("Kind"),
        ("kind", "type", "event", "event type", "类型", "互动类型", "事件类型", "记录类型"),
    ),
    ImportField(
        "occurred_at",
        _("When"),
        (
            "date",
            "time",
            "datetime",
            "occurred at",
            "created at",
            "时间",
            "日期",
            "发生时间",
            "创建时间",
            "来电时间",
        ),
    ),
    ImportField("channel", _("Channel"), ("channel", "渠道", "途径", "方式")),
    ImportField("subject", _("Subject"), ("subject", "title", "summary", "主题", "标题", "摘要")),
    ImportField(
        "body",
        _("Details"),
        (
            "body",
            "details",
            "description",
            "content",
            "notes",
            "内容",
            "详情",
            "描述",
            "说明",
            "备注",
            "记录内容",
        ),
        joins=True,
    ),
    ImportField(
        "satisfaction",
        _("Satisfaction (1–5)"),
        ("satisfaction", "rating", "score", "csat", "满意度", "评分", "评价星级"),
    ),
)


def fields() -> tuple[ImportField, ...]:
    """The fields this kind of import takes (customers/imports/jobs.py): the built-in ones,
    then the custom fields of interactions (read from the database)."""
    return (*FIELDS, *custom_import_fields(FieldTarget.INTERACTION))


_KIND_SYNONYMS = (
    ("来电", "call"),
    ("电话", "call"),
    ("去电", "call"),
    ("回访", "call"),
    ("投诉", "complaint"),
    ("咨询", "consult"),
    ("到店", "visit"),
    ("进店", "visit"),
    ("门店到访", "visit"),
    ("邮件", "email"),
    ("会议", "meeting"),
    ("拜访", "meeting"),
    ("工单", "ticket"),
    ("售后", "ticket"),
    ("反馈", "feedback"),
    ("评价", "feedback"),
    ("备注", "note"),
    ("购买", "purchase"),
    ("下单", "purchase"),
    ("浏览", "browse"),
    ("加购", "add_to_cart"),
    ("加入购物车", "add_to_cart"),
    ("phone call", "call"),
    ("visit", "visit"),
)
_CHANNEL_SYNONYMS = (
    ("到店", "in_person"),
    ("线下", "in_person"),
    ("面谈", "in_person"),
    ("电话", "phone"),
    ("邮件", "email"),
    ("微信", "wechat"),
    ("短信", "sms"),
    ("官网", "website"),
    ("网站", "website"),
    ("小程序", "app"),
    ("app", "app"),
)
_STARS = re.compile(r"^[★☆⭐]+$")
_SATISFACTION_INVALID = _("Satisfaction is a whole number from 1 to 5.")
_KIND_MISSING = _("An interaction needs its kind (call, visit, complaint...).")
_WHEN_MISSING = _("An interaction needs its date.")
_FIELD = Interaction._meta.get_field


# What write_batch writes in bulk (customers.imports.jobs analyses them); customers too,
# whose last activity moves.
TABLES_WRITTEN = (Interaction, Customer)


def mapping_errors(fields: set[str], *, source_name: str) -> list[Any]:
    errors = link_errors(fields, source_name=source_name)
    if not {"kind", "occurred_at"} <= fields:
        errors.append(_("Choose the columns with the kind of interaction and its date."))
    return errors


def prepare(
    row: PreparedRow, *, invalid_values: str, date_order: str, batch: BatchValues = NO_BATCH
) -> PreparedRow:
    drop = invalid_values == InvalidValues.DROP_VALUE
    raw, values = row.raw, row.values
    prepare_customer_keys(row, batch)
    if raw.get("kind"):
        try:
            values["kind"] = choice_value(InteractionKind, raw["kind"], _KIND_SYNONYMS)
        except NormalizationError as error:
            row.add_issue("kind", error.message)
    else:
        row.add_issue("kind", _KIND_MISSING)
    if raw.get("occurred_at"):
        try:
            values["occurred_at"] = datetime_value(raw["occurred_at"], date_order=date_order)
        except NormalizationError as error:
            row.add_issue("occurred_at", error.message)
    else:
        row.add_issue("occurred_at", _WHEN_MISSING)
    values["channel"] = ""
    if raw.get("channel"):
        try:
            values["channel"] = choice_value(InteractionChannel, raw["channel"], _CHANNEL_SYNONYMS)
        except NormalizationError as error:
            report_invalid(row, "channel", error.message, drop=drop)
    values["satisfaction"] = None
    if raw.get("satisfaction"):
        try:
            values["satisfaction"] = _satisfaction(raw["satisfaction"])
        except NormalizationError as error:
            report_invalid(row, "satisfaction", error.message, drop=drop)
    for key, text in (
        ("subject", " ".join(raw.get("subject", "").split())),
        ("body", raw.get("body", "").strip()),
    ):
        values[key] = fitting_text(row, key, text, _FIELD(key), drop=drop)
    # The id is how a later import of the file finds the interaction: never dropped.
    values["external_ref"] = fitting_text(
        row, "external_ref", raw.get("external_ref", ""), _FIELD("external_ref")
    )
    values["custom"] = row_custom_values(
        row, lambda key, message: report_invalid(row, key, message, drop=drop)
    )
    return row


def _satisfaction(text: str) -> int:
    text = fold_width(text).strip().removesuffix("星").removesuffix("分").strip()
    score = len(text.replace("☆", "")) if _STARS.match(text) else None
    if score is None:
        try:
            number = float(text)
        except ValueError:
            number = 0.5
        score = int(number) if number.is_integer() else 0
    if not 1 <= score <= 5:
        raise NormalizationError(_SATISFACTION_INVALID, code="satisfaction_invalid")
    return score


def _identity(customer_id: int, values: dict[str, Any]) -> tuple:
    return (customer_id, values["kind"], values["occurred_at"], values["subject"], values["body"])


def _in_either_table(query: Callable[[QuerySet], QuerySet]) -> QuerySet:
    """`query` asked of the hot table and of the archive in one statement (UNION ALL): an
    interaction archived since it was first imported still matches, and a row being archived
    meanwhile is seen in one table or the other, never missed."""
    return query(Interaction.objects.order_by()).union(
        query(ArchivedInteraction.objects.order_by()), all=True
    )


def write_batch(rows: Sequence[PreparedRow], options: BatchOptions) -> dict[int, str]:
    """Create the batch's interactions that are not there yet; returns each row's outcome."""
    good = [row for row in rows if not row.failed]
    customers = customers_for(good, options)
    linked = [row for row in good if row.number in customers]
    refs = {row.values["external_ref"] for row in linked if row.values["external_ref"]}
    # The interactions already there, by their id in the source system or their identity, with
    # their ids (an archived row keeps its id); then also those this batch adds.
    known: dict[Any, int | Interaction] = {}
    if refs:
        known.update(
            _in_either_table(
                # "<> ''" matches the partial unique index, which PostgreSQL then uses for the
                # IN list.
                lambda table: (
                    table.filter(source_system=options.source_name, external_ref__any=refs)
                    .exclude(external_ref="")
                    .values_list("external_ref", "pk")
                )
            )
        )
    unreferenced = [row for row in linked if not row.values["external_ref"]]
    if unreferenced:
        known.update(
            ((customer_id, kind, at, subject, body), pk)
            for customer_id, kind, at, subject, body, pk in _in_either_table(
                lambda table: table.filter(
                    customer_id__in={customers[row.number].pk for row in unreferenced},
                    occurred_at__in={row.values["occurred_at"] for row in unreferenced},
                ).values_list("customer_id", "kind", "occurred_at", "subject", "body", "pk")
            )
        )
    # A new interaction takes each field's default for what its row leaves out.
    custom_fields = defined_fields(FieldTarget.INTERACTION)
    defaults = custom_values.prepare_values(custom_fields, {}, creating=True)
    outcomes: dict[int, str] = {}
    new: list[Interaction] = []
    stored: list[tuple[PreparedRow, int | Interaction]] = []
    new_interaction = Blueprint(Interaction)
    for row in linked:
        customer, values = customers[row.number], row.values
        identity = values["external_ref"] or _identity(customer.pk, values)
        if identity in known:
            outcomes[row.number] = "unchanged"
            stored.append((row, known[identity]))
            continue
        interaction = known[identity] = new_interaction(
            customer=customer,
            kind=values["kind"],
            channel=values["channel"],
            occurred_at=values["occurred_at"],
            subject=values["subject"],
            body=values["body"],
            satisfaction=values["satisfaction"],
            source_system=options.source_name,
            external_ref=values["external_ref"],
            import_job=options.job,
        )
        custom_values.store_values(interaction, custom_fields, {**defaults, **values["custom"]})
        new.append(interaction)
        stored.append((row, interaction))
        outcomes[row.number] = "created"
    insert_new(Interaction, new)
    announce_interactions(new)
    record_latest_activity((item.customer_id, item.occurred_at) for item in new)
    for row, item in stored:
        row.stored_id = item if isinstance(item, int) else item.pk
    for row in rows:
        if row.failed:
            outcomes[row.number] = "failed"
    return outcomes
