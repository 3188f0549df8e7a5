"""Compiling validated rules to a Q object over customers (Django builds the SQL)."""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    IContains,
    LessThan,
    LessThanOrEqual,
)
from django.utils import timezone

from analytics.segments.validation import condition_value
from analytics.segments.vocabulary import PLACE_FIELDS, Field, segment_fields
from customers.custom_fields.indexes import holds, ordered_text, ordered_value
from customers.custom_fields.models import FieldType
from customers.custom_fields.values import clean_value
from customers.models import Customer
from customers.selectors import place_condition
from interactions.models import (
    ArchivedInteraction,
    Interaction,
    Transaction,
    TransactionLine,
    TransactionStatus,
)
from sales.models import Deal

_NUMBER_LOOKUPS = {"eq": "exact", "gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte"}
_CONSENT_FIELDS = {"email": "consent_email", "sms": "consent_sms", "phone": "consent_phone"}


def compile_rules(rules: Mapping[str, Any], *, today: datetime.date | None = None) -> Q:
    """The Q object selecting the customers the (validated) rules describe."""
    today = today or timezone.localdate()
    return _compile_group(rules, today, segment_fields())


def _compile_group(
    group: Mapping[str, Any], today: datetime.date, fields: Mapping[str, Field]
) -> Q:
    parts = [
        _compile_group(rule, today, fields)
        if "rules" in rule
        else _compile_condition(rule, today, fields)
        for rule in group["rules"]
    ]
    if not parts:
        return Q()
    combined = parts[0]
    for part in parts[1:]:
        combined = combined & part if group["match"] == "all" else combined | part
    return combined


def _compile_condition(
    rule: Mapping[str, Any], today: datetime.date, fields: Mapping[str, Field]
) -> Q:
    field = fields[rule["field"]]
    operator = rule["operator"]
    value = condition_value(field, operator, rule.get("value"))
    if field.definition is not None:
        return _custom(field.definition, field.kind, operator, value, today)
    compile_kind: Callable[..., Q] = _COMPILERS[field.kind]
    return compile_kind(field, operator, value, today)


def _custom(definition: Any, kind: str, operator: str, value: Any, today: datetime.date) -> Q:
    """A rule on a custom value: equality as JSON containment, order through the field's
    ordered value (customers/custom_fields/indexes.py), each on its index on PostgreSQL."""
    held = Q(custom__has_key=definition.key)
    if operator == "is_empty":
        return ~held
    if operator == "is_not_empty":
        return held
    if kind in ("choice", "choices", "boolean"):
        wanted = value if isinstance(value, list) else [value]
        if definition.type == FieldType.USER:
            wanted = [int(item) for item in wanted]
        condition = Q(pk__in=[])
        for item in wanted:
            condition |= holds(definition, item)
        # Without a value at all is "not" too (SQLite reads a missing key as NULL, which a
        # plain negation would leave out).
        return ~condition | ~held if operator in ("is_not", "has_not") else condition
    if kind == "text":
        if operator == "contains":
            return Q(IContains(ordered_text(definition), value[0]))
        condition = Q(pk__in=[])
        for item in value:
            with contextlib.suppress(ValidationError):  # not a value the field can hold
                condition |= holds(definition, clean_value(definition, item))
        return ~condition | ~held if operator == "is_not" else condition
    ordered = ordered_value(definition)
    as_stored = datetime.date.isoformat if kind == "date" else Decimal
    if operator == "within_days":
        return Q(GreaterThanOrEqual(ordered, as_stored(today - datetime.timedelta(days=value))))
    if operator == "between":
        low, high = value
        return Q(GreaterThanOrEqual(ordered, as_stored(low))) & Q(
            LessThanOrEqual(ordered, as_stored(high))
        )
    compare = _CUSTOM_COMPARISONS[operator]
    return Q(compare(ordered, as_stored(value)))


_CUSTOM_COMPARISONS = {
    "eq": Exact,
    "on": Exact,
    "gt": GreaterThan,
    "after": GreaterThan,
    "gte": GreaterThanOrEqual,
    "lt": LessThan,
    "before": LessThan,
    "lte": LessThanOrEqual,
}


def _text(field: Field, operator: str, value, today) -> Q:
    lookup = field.lookup
    if operator == "is_empty":
        return Q(**{lookup: ""})
    if operator == "is_not_empty":
        return ~Q(**{lookup: ""})
    if operator == "contains":
        return Q(**{f"{lookup}__icontains": value[0]})
    if lookup in PLACE_FIELDS and operator in ("is", "is_not", "in"):
        condition = Q(pk__in=[])
        for place in value:
            condition |= place_condition(lookup, place)
    elif operator == "in":
        return Q(**{f"{lookup}__in": value})
    else:
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
    condition = Q()
    # An archived interaction happened as much as one still in the hot table.
    for table in (Interaction, ArchivedInteraction):
        found = table.objects.filter(customer=OuterRef("pk"), **_in_period("", value))
        if value["kind"]:
            found = found.filter(kind=value["kind"])
        condition |= Q(Exists(found))
    return ~condition if operator == "no" else condition


def _open_deal(field: Field, operator: str, value, today) -> Q:
    # An open deal has no close time (a deal won or lost has one, whatever its stage says).
    deals = Deal.objects.filter(customer=OuterRef("pk"), closed_at__isnull=True)
    if value["stage"] is not None:
        deals = deals.filter(stage_id=value["stage"])
    condition = Q(Exists(deals))
    return ~condition if operator == "has_not" else condition


def _closed_deal(field: Field, operator: str, value, today) -> Q:
    """A deal won (lost) in the period: `field.lookup` is won_at or lost_at; "days" counts
    back from today as the date rules' "in the last … days" do."""
    bounds = {f"{field.lookup}__isnull": False}
    if value["since"]:
        bounds[f"{field.lookup}__date__gte"] = value["since"]
    if value["until"]:
        bounds[f"{field.lookup}__date__lte"] = value["until"]
    if value["days"] is not None:
        bounds[f"{field.lookup}__date__gte"] = max(
            today - datetime.timedelta(days=value["days"]), value["since"] or datetime.date.min
        )
    condition = Q(Exists(Deal.objects.filter(customer=OuterRef("pk"), **bounds)))
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
    "open_deal": _open_deal,
    "closed_deal": _closed_deal,
}


def matching_customers(rules: Mapping[str, Any]) -> QuerySet[Customer]:
    """Active customers the rules select (the rules must be valid)."""
    return Customer.objects.filter(merged_into__isnull=True, archived_at__isnull=True).filter(
        compile_rules(rules)
    )
