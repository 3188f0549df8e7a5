"""Segments: rules saved as JSON, validated against a fixed vocabulary, compiled to ORM queries.

A rule set is a group: {"match": "all" | "any", "rules": [condition or group, ...]}. A condition
is {"field": name, "operator": op, "value": ...}. Only the fields and operators in FIELDS exist;
anything else is refused with a message saying what and where, so no user input ever reaches
SQL as text. Membership of dynamic segments is refreshed set-based (one INSERT ... SELECT of
the compiled query); static lists keep the customers put in them by hand.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext_lazy as _

from analytics.models import Segment, SegmentKind, SegmentMember, SegmentSize
from customers.models import (
    Customer,
    CustomerKind,
    Gender,
    LifecycleStage,
    SourceChannel,
    Tag,
    ValueGrade,
)
from interactions.models import (
    Interaction,
    InteractionKind,
    Transaction,
    TransactionLine,
    TransactionStatus,
)
from privacy.audit import record_event

logger = logging.getLogger(__name__)

MAX_DEPTH = 4
MAX_CONDITIONS = 50


@dataclass(frozen=True)
class Field:
    label: Any
    kind: str  # text, choice, number, date, boolean, tag, purchase, interaction, consent
    lookup: str = ""
    choices: tuple[str, ...] = ()
    integer: bool = False  # a number stored as an integer: only whole values make sense


def _values(choices) -> tuple[str, ...]:
    return tuple(value for value, _ in choices)


FIELDS: dict[str, Field] = {
    "kind": Field(_("kind"), "choice", "kind", _values(CustomerKind.choices)),
    "gender": Field(_("gender"), "choice", "gender", _values(Gender.choices)),
    "lifecycle_stage": Field(
        _("lifecycle stage"), "choice", "lifecycle_stage", _values(LifecycleStage.choices)
    ),
    "value_grade": Field(_("value grade"), "choice", "value_grade", _values(ValueGrade.choices)),
    "source_channel": Field(
        _("source channel"), "choice", "source_channel", _values(SourceChannel.choices)
    ),
    "province": Field(_("province"), "text", "province"),
    "city": Field(_("city"), "text", "city"),
    "company_name": Field(_("company"), "text", "company_name"),
    "birth_date": Field(_("birth date"), "date", "birth_date"),
    "created_at": Field(_("created"), "date", "created_at__date"),
    "tag": Field(_("tag"), "tag"),
    "orders": Field(_("orders"), "number", "metrics__orders", integer=True),
    "revenue": Field(_("lifetime value"), "number", "metrics__revenue"),
    "average_order_value": Field(
        _("average order value"), "number", "metrics__average_order_value"
    ),
    "recency_days": Field(
        _("days since last purchase"), "number", "metrics__recency_days", integer=True
    ),
    "recency_score": Field(_("R"), "number", "metrics__recency_score", integer=True),
    "frequency_score": Field(_("F"), "number", "metrics__frequency_score", integer=True),
    "monetary_score": Field(_("M"), "number", "metrics__monetary_score", integer=True),
    "interactions": Field(_("interactions"), "number", "metrics__interactions", integer=True),
    "complaints": Field(_("complaints"), "number", "metrics__complaints", integer=True),
    "average_satisfaction": Field(
        _("average satisfaction"), "number", "metrics__average_satisfaction"
    ),
    "repeat_buyer": Field(_("bought again"), "boolean", "metrics__repeat_buyer"),
    "first_purchase_at": Field(_("first purchase"), "date", "metrics__first_purchase_at__date"),
    "last_purchase_at": Field(_("last purchase"), "date", "metrics__last_purchase_at__date"),
    "purchased": Field(_("bought"), "purchase"),
    "interacted": Field(_("had an interaction"), "interaction"),
    "consent": Field(_("marketing consent"), "consent", choices=("email", "sms", "phone")),
}
OPERATORS: dict[str, tuple[str, ...]] = {
    "text": ("is", "is_not", "in", "contains", "is_empty", "is_not_empty"),
    "choice": ("is", "is_not", "in"),
    "number": ("eq", "gt", "gte", "lt", "lte", "between", "is_empty"),
    "date": ("on", "before", "after", "between", "within_days", "is_empty"),
    "boolean": ("is",),
    "tag": ("has", "has_not"),
    "purchase": ("yes", "no"),
    "interaction": ("yes", "no"),
    "consent": ("given", "not_given"),
}
_NUMBER_LOOKUPS = {"eq": "exact", "gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte"}
_CONSENT_FIELDS = {"email": "consent_email", "sms": "consent_sms", "phone": "consent_phone"}


MAX_LIST = 1_000
MAX_NUMBER = Decimal(10) ** 12
# What converting a value that does not fit may raise.
_UNFIT = (ValueError, TypeError, ArithmeticError, AttributeError, KeyError)


def validate(rules: Any) -> dict:
    """The rule set, checked; ValidationError listing every problem (translated, with where
    it is) otherwise. Every value is converted as the compiler will convert it, so rules that
    pass never fail later."""
    problems: list[str] = []
    counter = [0]
    _check_group(rules, "", 1, problems, counter)
    if counter[0] > MAX_CONDITIONS:
        problems.append(str(_("At most %(max)d conditions.") % {"max": MAX_CONDITIONS}))
    if problems:
        raise ValidationError(problems)
    return rules


def _check_group(group: Any, where: str, depth: int, problems: list[str], counter) -> None:
    place = where or "/"
    counter[0] += 1
    if not isinstance(group, dict) or set(group) != {"match", "rules"}:
        problems.append(str(_("%(where)s: a group has “match” and “rules”.") % {"where": place}))
        return
    if group["match"] not in ("all", "any"):
        problems.append(str(_("%(where)s: “match” is “all” or “any”.") % {"where": place}))
    if depth > MAX_DEPTH:
        problems.append(
            str(
                _("%(where)s: groups nest at most %(max)d deep.")
                % {"where": place, "max": MAX_DEPTH}
            )
        )
        return
    rules = group["rules"]
    if not isinstance(rules, list) or not rules:
        problems.append(str(_("%(where)s: “rules” is a list of conditions.") % {"where": place}))
        return
    for index, rule in enumerate(rules, start=1):
        if counter[0] > MAX_CONDITIONS:
            return
        if isinstance(rule, dict) and "rules" in rule:
            _check_group(rule, f"{where}/{index}", depth + 1, problems, counter)
        else:
            counter[0] += 1
            _check_condition(rule, f"{where}/{index}", problems)


def _check_condition(rule: Any, where: str, problems: list[str]) -> None:
    if not isinstance(rule, dict) or set(rule) - {"field", "operator", "value"}:
        problems.append(
            str(
                _("%(where)s: a condition has a field, an operator and a value.") % {"where": where}
            )
        )
        return
    name = rule.get("field")
    field = FIELDS.get(name) if isinstance(name, str) else None
    if field is None:
        problems.append(str(_("%(where)s: unknown field.") % {"where": where}))
        return
    operator = rule.get("operator")
    if not isinstance(operator, str) or operator not in OPERATORS[field.kind]:
        problems.append(
            str(
                _("%(where)s: “%(field)s” has no such operator.")
                % {"where": where, "field": field.label}
            )
        )
        return
    try:
        _value(field, operator, rule.get("value"))
    except _UNFIT:
        problems.append(
            str(
                _("%(where)s: the value does not fit “%(field)s”.")
                % {"where": where, "field": field.label}
            )
        )


def _date(raw: Any) -> datetime.date:
    parsed = parse_date(raw) if isinstance(raw, str) else None
    if parsed is None:
        raise ValueError(raw)
    return parsed


def _number(raw: Any, *, integer: bool = False) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise TypeError(raw)
    number = Decimal(str(raw))
    if not number.is_finite() or abs(number) > MAX_NUMBER:
        raise ValueError(raw)
    if integer and number != number.to_integral_value():
        raise ValueError(raw)
    return number


def _whole(raw: Any, *, low: int, high: int) -> int:
    number = int(_number(raw, integer=True))
    if not low <= number <= high:
        raise ValueError(raw)
    return number


def _pair(raw: Any) -> tuple[Any, Any]:
    if not isinstance(raw, list | tuple) or len(raw) != 2:
        raise TypeError(raw)
    return raw[0], raw[1]


def _options(raw: Any, allowed: set[str]) -> dict[str, Any]:
    """The options of a purchase / interaction condition (a mapping, possibly empty)."""
    if raw in (None, ""):
        return {}
    if not isinstance(raw, dict) or set(raw) - allowed:
        raise TypeError(raw)
    return raw


def _period(options: dict[str, Any]) -> dict[str, datetime.date | None]:
    return {key: _date(options[key]) if options.get(key) else None for key in ("since", "until")}


def _value(field: Field, operator: str, raw: Any) -> Any:
    """The condition's value in Python terms, exactly as the compiler uses it; raises one of
    _UNFIT when it does not fit the field and operator."""
    kind = field.kind
    if operator in ("is_empty", "is_not_empty"):
        return None
    if kind in ("text", "choice"):
        if operator == "in":
            if not isinstance(raw, list) or not 0 < len(raw) <= MAX_LIST:
                raise TypeError(raw)
            values = raw
        else:
            values = [raw]
        if not all(isinstance(value, str) and len(value) <= 200 for value in values):
            raise TypeError(raw)
        if kind == "choice" and any(value not in field.choices for value in values):
            raise ValueError(raw)
        return values
    if kind == "number":
        if operator == "between":
            low, high = (_number(item, integer=field.integer) for item in _pair(raw))
            return (low, high)
        return _number(raw, integer=field.integer)
    if kind == "date":
        if operator == "between":
            low, high = (_date(item) for item in _pair(raw))
            return (low, high)
        if operator == "within_days":
            return _whole(raw, low=0, high=36_500)
        return _date(raw)
    if kind == "boolean":
        if not isinstance(raw, bool):
            raise TypeError(raw)
        return raw
    if kind == "tag":
        tag = _whole(raw, low=1, high=2**31 - 1)
        if not Tag.objects.filter(pk=tag).exists():
            raise ValueError(raw)
        return tag
    if kind == "purchase":
        options = _options(raw, {"since", "until", "sku", "category", "min_amount"})
        for key in ("sku", "category"):
            if not isinstance(options.get(key, ""), str):
                raise TypeError(options[key])
        amount = options.get("min_amount")
        return {
            **_period(options),
            "sku": options.get("sku", ""),
            "category": options.get("category", ""),
            "min_amount": _number(amount) if amount not in (None, "") else None,
        }
    if kind == "interaction":
        options = _options(raw, {"since", "until", "kind"})
        interaction_kind = options.get("kind", "")
        if interaction_kind and interaction_kind not in _values(InteractionKind.choices):
            raise ValueError(interaction_kind)
        return {**_period(options), "kind": interaction_kind}
    if kind == "consent":
        if raw not in field.choices:
            raise ValueError(raw)
        return raw
    raise ValueError(kind)


def compile_rules(rules: Mapping[str, Any], *, today: datetime.date | None = None) -> Q:
    """The Q object selecting the customers the (validated) rules describe."""
    today = today or timezone.localdate()
    return _compile_group(rules, today)


def _compile_group(group: Mapping[str, Any], today: datetime.date) -> Q:
    parts = [
        _compile_group(rule, today) if "rules" in rule else _compile_condition(rule, today)
        for rule in group["rules"]
    ]
    if not parts:
        return Q()
    combined = parts[0]
    for part in parts[1:]:
        combined = combined & part if group["match"] == "all" else combined | part
    return combined


def _compile_condition(rule: Mapping[str, Any], today: datetime.date) -> Q:
    field = FIELDS[rule["field"]]
    operator = rule["operator"]
    value = _value(field, operator, rule.get("value"))
    compile_kind: Callable[..., Q] = _COMPILERS[field.kind]
    return compile_kind(field, operator, value, today)


def _text(field: Field, operator: str, value, today) -> Q:
    lookup = field.lookup
    if operator == "is_empty":
        return Q(**{lookup: ""})
    if operator == "is_not_empty":
        return ~Q(**{lookup: ""})
    if operator == "contains":
        return Q(**{f"{lookup}__icontains": value[0]})
    if operator == "in":
        return Q(**{f"{lookup}__in": value})
    condition = Q(**{lookup: value[0]})
    return ~condition if operator == "is_not" else condition


def _number_q(field: Field, operator: str, value, today) -> Q:
    if operator == "is_empty":
        return Q(**{f"{field.lookup}__isnull": True})
    if operator == "between":
        return Q(**{f"{field.lookup}__gte": value[0], f"{field.lookup}__lte": value[1]})
    return Q(**{f"{field.lookup}__{_NUMBER_LOOKUPS[operator]}": value})


def _date_q(field: Field, operator: str, value, today) -> Q:
    lookup = field.lookup
    if operator == "is_empty":
        return Q(**{f"{lookup.removesuffix('__date')}__isnull": True})
    if operator == "between":
        return Q(**{f"{lookup}__gte": value[0], f"{lookup}__lte": value[1]})
    if operator == "within_days":
        return Q(**{f"{lookup}__gte": today - datetime.timedelta(days=value)})
    return Q(**{f"{lookup}__{ {'on': 'exact', 'before': 'lt', 'after': 'gt'}[operator] }": value})


def _boolean(field: Field, operator: str, value, today) -> Q:
    return Q(**{field.lookup: value})


def _tag(field: Field, operator: str, value, today) -> Q:
    condition = Q(Exists(Customer.tags.through.objects.filter(customer=OuterRef("pk"), tag=value)))
    return ~condition if operator == "has_not" else condition


def _in_period(prefix: str, value: Mapping[str, Any]) -> dict[str, Any]:
    bounds = {}
    if value.get("since"):
        bounds[f"{prefix}occurred_at__date__gte"] = value["since"]
    if value.get("until"):
        bounds[f"{prefix}occurred_at__date__lte"] = value["until"]
    return bounds


def _purchase(field: Field, operator: str, value, today) -> Q:
    if value["sku"] or value["category"]:
        lines = TransactionLine.objects.filter(
            transaction__customer=OuterRef("pk"),
            transaction__status=TransactionStatus.PAID,
            **_in_period("transaction__", value),
        )
        if value["sku"]:
            lines = lines.filter(product__sku=value["sku"])
        if value["category"]:
            lines = lines.filter(product__category=value["category"])
        if value["min_amount"] is not None:
            lines = lines.filter(transaction__amount__gte=value["min_amount"])
        condition = Q(Exists(lines))
    else:
        orders = Transaction.objects.filter(
            customer=OuterRef("pk"), status=TransactionStatus.PAID, **_in_period("", value)
        )
        if value["min_amount"] is not None:
            orders = orders.filter(amount__gte=value["min_amount"])
        condition = Q(Exists(orders))
    return ~condition if operator == "no" else condition


def _interaction(field: Field, operator: str, value, today) -> Q:
    found = Interaction.objects.filter(customer=OuterRef("pk"), **_in_period("", value))
    if value["kind"]:
        found = found.filter(kind=value["kind"])
    condition = Q(Exists(found))
    return ~condition if operator == "no" else condition


def _consent(field: Field, operator: str, value, today) -> Q:
    return Q(**{_CONSENT_FIELDS[value]: operator == "given"})


_COMPILERS = {
    "text": _text,
    "choice": _text,
    "number": _number_q,
    "date": _date_q,
    "boolean": _boolean,
    "tag": _tag,
    "purchase": _purchase,
    "interaction": _interaction,
    "consent": _consent,
}


def matching_customers(rules: Mapping[str, Any]) -> QuerySet[Customer]:
    """Active customers the rules select (the rules must be valid)."""
    return Customer.objects.filter(merged_into__isnull=True, archived_at__isnull=True).filter(
        compile_rules(rules)
    )


def refresh_segment(segment: Segment) -> Segment:
    """Recompute a dynamic segment's members in one set-based statement and note its size.
    Raises ValidationError when its stored rules are not valid (any more)."""
    if segment.kind != SegmentKind.DYNAMIC:
        return segment
    began = time.monotonic()
    now = timezone.now()
    with transaction.atomic():
        # One refresh of a segment at a time: a second waits, then starts from this result.
        segment = Segment.objects.select_for_update().get(pk=segment.pk)
        rules = validate(segment.rules)
        SegmentMember.objects.filter(segment=segment).delete()
        try:
            sql, params = matching_customers(rules).values("pk").query.sql_with_params()
        except EmptyResultSet:
            sql = None  # the rules can match nobody (Django proved it while compiling)
        if sql is not None:
            table = SegmentMember._meta.db_table
            with connection.cursor() as cursor:
                # The SELECT is Django's own compilation of the validated rules.
                cursor.execute(
                    f"INSERT INTO {table} (segment_id, customer_id, added_at) "  # noqa: S608
                    f"SELECT %s, members.*, %s FROM ({sql}) AS members",
                    [segment.pk, connection.ops.adapt_datetimefield_value(now), *params],
                )
        segment.size = SegmentMember.objects.filter(segment=segment).count()
        segment.refreshed_at = now
        segment.refresh_seconds = round(time.monotonic() - began, 3)
        segment.save(update_fields=["size", "refreshed_at", "refresh_seconds"])
        SegmentSize.objects.create(segment=segment, at=now, size=segment.size)
    return segment


def refresh_segments(names: list[str] | None = None) -> list[Segment]:
    """Refresh every dynamic segment (or those named); one that fails is logged and skipped,
    so it never holds the others back. Returns the refreshed ones."""
    segments = Segment.objects.filter(kind=SegmentKind.DYNAMIC)
    if names:
        segments = segments.filter(name__in=names)
    refreshed = []
    for segment in segments.order_by("name"):
        try:
            refreshed.append(refresh_segment(segment))
        except (ValidationError, DatabaseError):
            logger.exception("Segment %s could not be refreshed", segment.pk)
    return refreshed


def save_segment(*, actor: Any, segment: Segment | None = None, **values: Any) -> Segment:
    """Create or change a segment; the rules are validated first. Audited."""
    segment = segment or Segment(created_by=actor)
    for key, value in values.items():
        setattr(segment, key, value)
    if segment.kind == SegmentKind.DYNAMIC:
        validate(segment.rules)
    segment.full_clean()
    segment.save()
    record_event(
        actor=actor,
        action="segment.save",
        target=segment,
        changes={"name": segment.name, "kind": segment.kind, "rules": segment.rules},
    )
    return segment


# Segments every business starts with, by key; `ensure_ready_made_segments` creates the
# missing ones (their names are shown in the reader's language).
READY_MADE = {
    "high_value": (_("High value"), {"match": "all", "rules": [
        {"field": "monetary_score", "operator": "eq", "value": 5},
    ]}),
    "new": (_("New customers"), {"match": "all", "rules": [
        {"field": "first_purchase_at", "operator": "within_days", "value": 30},
    ]}),
    "loyal": (_("Loyal"), {"match": "all", "rules": [
        {"field": "frequency_score", "operator": "gte", "value": 4},
        {"field": "recency_score", "operator": "gte", "value": 4},
    ]}),
    "at_risk": (_("At risk"), {"match": "all", "rules": [
        {"field": "lifecycle_stage", "operator": "is", "value": "at_risk"},
    ]}),
    "churned": (_("Churned"), {"match": "all", "rules": [
        {"field": "lifecycle_stage", "operator": "is", "value": "churned"},
    ]}),
    "frequent_complainers": (_("Frequent complainers"), {"match": "all", "rules": [
        {"field": "complaints", "operator": "gte", "value": 3},
    ]}),
}  # fmt: skip


def ensure_ready_made_segments() -> None:
    """Create the ready-made segments that are missing (a name someone already gave another
    segment gets the key added)."""
    for key, (label, rules) in READY_MADE.items():
        if Segment.objects.filter(key=key).exists():
            continue
        name = str(label)
        if Segment.objects.filter(name=name).exists():
            name = f"{name} ({key})"
        Segment.objects.create(key=key, name=name, rules=validate(rules), kind=SegmentKind.DYNAMIC)
