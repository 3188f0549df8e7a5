"""Segments: rules saved as JSON, validated against a fixed vocabulary, compiled to ORM queries.

A rule set is a group: {"match": "all" | "any", "rules": [condition or group, ...]}. A condition
is {"field": name, "operator": op, "value": ...}. Only the fields and operators in FIELDS exist;
anything else is refused with a message saying what and where, so no user input ever reaches
SQL as text. Membership of dynamic segments is refreshed set-based (one INSERT ... SELECT of
the compiled query); static lists keep the customers put in them by hand.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
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

MAX_DEPTH = 4
MAX_CONDITIONS = 50


@dataclass(frozen=True)
class Field:
    label: Any
    kind: str  # text, choice, number, date, boolean, tag, purchase, interaction, consent
    lookup: str = ""
    choices: tuple[str, ...] = ()


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
    "orders": Field(_("orders"), "number", "metrics__orders"),
    "revenue": Field(_("lifetime value"), "number", "metrics__revenue"),
    "average_order_value": Field(
        _("average order value"), "number", "metrics__average_order_value"
    ),
    "recency_days": Field(_("days since last purchase"), "number", "metrics__recency_days"),
    "recency_score": Field(_("R"), "number", "metrics__recency_score"),
    "frequency_score": Field(_("F"), "number", "metrics__frequency_score"),
    "monetary_score": Field(_("M"), "number", "metrics__monetary_score"),
    "interactions": Field(_("interactions"), "number", "metrics__interactions"),
    "complaints": Field(_("complaints"), "number", "metrics__complaints"),
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


def validate(rules: Any) -> dict:
    """The rule set, checked; ValidationError listing every problem (translated, with where
    it is) otherwise."""
    problems: list[str] = []
    counter = [0]
    _check_group(rules, "", 1, problems, counter)
    if counter[0] > MAX_CONDITIONS:
        problems.append(str(_("At most %(max)d conditions.") % {"max": MAX_CONDITIONS}))
    if problems:
        raise ValidationError(problems)
    return rules


def _check_group(group: Any, where: str, depth: int, problems: list[str], counter) -> None:
    if not isinstance(group, dict) or set(group) - {"match", "rules"}:
        problems.append(
            str(_("%(where)s: a group has “match” and “rules”.") % {"where": where or "/"})
        )
        return
    if group.get("match") not in ("all", "any"):
        problems.append(str(_("%(where)s: “match” is “all” or “any”.") % {"where": where or "/"}))
    if depth > MAX_DEPTH:
        problems.append(
            str(
                _("%(where)s: groups nest at most %(max)d deep.")
                % {"where": where, "max": MAX_DEPTH}
            )
        )
        return
    rules = group.get("rules")
    if not isinstance(rules, list):
        problems.append(str(_("%(where)s: “rules” is a list.") % {"where": where or "/"}))
        return
    for index, rule in enumerate(rules, start=1):
        place = f"{where}/{index}"
        if isinstance(rule, dict) and "rules" in rule:
            _check_group(rule, place, depth + 1, problems, counter)
        else:
            counter[0] += 1
            _check_condition(rule, place, problems)


def _check_condition(rule: Any, where: str, problems: list[str]) -> None:
    if not isinstance(rule, dict) or set(rule) - {"field", "operator", "value"}:
        problems.append(
            str(
                _("%(where)s: a condition has a field, an operator and a value.") % {"where": where}
            )
        )
        return
    field = FIELDS.get(rule.get("field"))
    if field is None:
        problems.append(str(_("%(where)s: unknown field.") % {"where": where}))
        return
    operator = rule.get("operator")
    if operator not in OPERATORS[field.kind]:
        problems.append(
            str(
                _("%(where)s: “%(field)s” has no such operator.")
                % {"where": where, "field": field.label}
            )
        )
        return
    try:
        _value(field, operator, rule.get("value"))
    except (ValueError, TypeError, InvalidOperation):
        problems.append(
            str(
                _("%(where)s: the value does not fit “%(field)s”.")
                % {"where": where, "field": field.label}
            )
        )


def _date(raw: Any) -> datetime.date:
    parsed = parse_date(str(raw)) if raw else None
    if parsed is None:
        raise ValueError(raw)
    return parsed


def _number(raw: Any) -> Decimal:
    if isinstance(raw, bool):
        raise TypeError(raw)
    return Decimal(str(raw))


def _period(value: Any) -> dict[str, datetime.date | None]:
    if value in (None, ""):
        value = {}
    if not isinstance(value, dict):
        raise TypeError(value)
    return {key: _date(value[key]) if value.get(key) else None for key in ("since", "until")}


def _value(field: Field, operator: str, raw: Any) -> Any:
    """The condition's value in Python terms; raises ValueError / TypeError when it does not
    fit the field and operator."""
    kind = field.kind
    if operator in ("is_empty", "is_not_empty"):
        return None
    if kind in ("text", "choice") and operator == "in":
        if not isinstance(raw, list) or not raw:
            raise TypeError(raw)
        values = [str(item) for item in raw]
    elif kind in ("text", "choice"):
        values = [str(raw if raw is not None else "")]
    if kind == "choice":
        if any(value not in field.choices for value in values):
            raise ValueError(raw)
        return values
    if kind == "text":
        if any(len(value) > 200 for value in values):
            raise ValueError(raw)
        return values
    if kind == "number":
        if operator == "between":
            low, high = (_number(item) for item in raw)
            return (low, high)
        return _number(raw)
    if kind == "date":
        if operator == "between":
            low, high = (_date(item) for item in raw)
            return (low, high)
        if operator == "within_days":
            days = int(raw)
            if not 0 <= days <= 36_500:
                raise ValueError(raw)
            return days
        return _date(raw)
    if kind == "boolean":
        if not isinstance(raw, bool):
            raise TypeError(raw)
        return raw
    if kind == "tag":
        return int(raw)
    if kind == "purchase":
        period = _period({k: v for k, v in (raw or {}).items() if k in ("since", "until")})
        extra = set(raw or {}) - {"since", "until", "sku", "category", "min_amount"}
        if extra:
            raise ValueError(extra)
        return {
            **period,
            "sku": str(raw.get("sku", "")) if raw else "",
            "category": str(raw.get("category", "")) if raw else "",
            "min_amount": _number(raw["min_amount"]) if raw and raw.get("min_amount") else None,
        }
    if kind == "interaction":
        period = _period({k: v for k, v in (raw or {}).items() if k in ("since", "until")})
        kinds = (raw or {}).get("kind", "")
        if kinds and kinds not in _values(InteractionKind.choices):
            raise ValueError(kinds)
        if set(raw or {}) - {"since", "until", "kind"}:
            raise ValueError(raw)
        return {**period, "kind": kinds}
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
    """Recompute a dynamic segment's members in one set-based statement and note its size."""
    if segment.kind != SegmentKind.DYNAMIC:
        return segment
    began = time.monotonic()
    now = timezone.now()
    with transaction.atomic():
        SegmentMember.objects.filter(segment=segment).delete()
        members = matching_customers(segment.rules).values("pk")
        sql, params = members.query.sql_with_params()
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
    segments = Segment.objects.filter(kind=SegmentKind.DYNAMIC)
    if names:
        segments = segments.filter(name__in=names)
    return [refresh_segment(segment) for segment in segments.order_by("name")]


def save_segment(*, actor: Any, segment: Segment | None = None, **values: Any) -> Segment:
    """Create or change a segment; the rules are validated first. Audited."""
    segment = segment or Segment(created_by=actor)
    if "rules" in values:
        values["rules"] = validate(values["rules"])
    for key, value in values.items():
        setattr(segment, key, value)
    segment.full_clean()
    segment.save()
    record_event(
        actor=actor,
        action="segment.save",
        target=segment,
        changes={"name": segment.name, "kind": segment.kind},
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
    for key, (label, rules) in READY_MADE.items():
        Segment.objects.get_or_create(
            key=key,
            defaults={"name": str(label), "rules": validate(rules), "kind": SegmentKind.DYNAMIC},
        )
