"""Segments: rules saved as JSON, validated against a fixed vocabulary, compiled to ORM queries.

A rule set is a group: {"match": "all" | "any", "rules": [condition or group, ...]}. A condition
is {"field": name, "operator": op, "value": ...}. Only the fields and operators in FIELDS exist;
anything else is refused with a message saying what and where, so no user input ever reaches
SQL as text. Membership of dynamic segments is refreshed set-based (one INSERT ... SELECT of
the compiled query); static lists keep the customers put in them by hand.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone, translation
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
from customers.selectors import common_places, customers_visible_to, place_condition
from interactions.models import (
    ArchivedInteraction,
    Interaction,
    InteractionKind,
    Product,
    Transaction,
    TransactionLine,
    TransactionStatus,
)
from kernel.versioning import lock_version, next_version
from privacy.audit import record_event
from privacy.consent import usable_for_list

logger = logging.getLogger(__name__)

MAX_DEPTH = 4
MAX_CONDITIONS = 50


@dataclass(frozen=True)
class Field:
    label: Any
    kind: str  # text, choice, number, date, boolean, tag, purchase, interaction, consent
    lookup: str = ""
    choices: tuple[tuple[str, Any], ...] = ()  # (value, label)
    integer: bool = False  # a number stored as an integer: only whole values make sense

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(value for value, _label in self.choices)

    @property
    def group(self) -> str:
        if self.kind in _GROUP_OF_KIND:
            return _GROUP_OF_KIND[self.kind]
        return "metrics" if self.lookup.startswith("metrics__") else "profile"


FIELDS: dict[str, Field] = {
    "kind": Field(_("kind"), "choice", "kind", tuple(CustomerKind.choices)),
    "gender": Field(_("gender"), "choice", "gender", tuple(Gender.choices)),
    "lifecycle_stage": Field(
        _("lifecycle stage"), "choice", "lifecycle_stage", tuple(LifecycleStage.choices)
    ),
    "value_grade": Field(_("value grade"), "choice", "value_grade", tuple(ValueGrade.choices)),
    "source_channel": Field(
        _("source channel"), "choice", "source_channel", tuple(SourceChannel.choices)
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
    "churn_risk": Field(_("churn risk (0–1)"), "number", "metrics__churn_risk"),
    "repeat_buyer": Field(_("bought again"), "boolean", "metrics__repeat_buyer"),
    "first_purchase_at": Field(_("first purchase"), "date", "metrics__first_purchase_at__date"),
    "last_purchase_at": Field(_("last purchase"), "date", "metrics__last_purchase_at__date"),
    "purchased": Field(_("bought"), "purchase"),
    "interacted": Field(_("had an interaction"), "interaction"),
    "consent": Field(
        _("marketing consent"),
        "consent",
        choices=(("email", _("Email")), ("sms", _("SMS")), ("phone", _("Phone"))),
    ),
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
# How the builder groups the fields in its menu.
FIELD_GROUPS: dict[str, Any] = {
    "profile": _("Profile"),
    "metrics": _("Purchases and scores"),
    "activity": _("Activity"),
    "consent": _("Consent"),
}
_GROUP_OF_KIND = {"purchase": "activity", "interaction": "activity", "consent": "consent"}
OPERATOR_LABELS: dict[str, Any] = {
    "is": _("is"),
    "is_not": _("is not"),
    "in": _("is one of"),
    "contains": _("contains"),
    "is_empty": _("is empty"),
    "is_not_empty": _("is not empty"),
    "eq": "=",
    "gt": ">",
    "gte": "≥",
    "lt": "<",
    "lte": "≤",
    "between": _("between"),
    "on": _("on"),
    "before": _("before"),
    "after": _("after"),
    "within_days": _("in the last … days"),
    "has": _("has"),
    "has_not": _("does not have"),
    "yes": _("at least once"),
    "no": _("never"),
    "given": _("given"),
    "not_given": _("not given"),
}
_NUMBER_LOOKUPS = {"eq": "exact", "gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte"}
_CONSENT_FIELDS = {"email": "consent_email", "sms": "consent_sms", "phone": "consent_phone"}


MAX_LIST = 1_000
MAX_NUMBER = Decimal(10) ** 12
# What converting a value that does not fit may raise.
_UNFIT = (ValueError, TypeError, ArithmeticError, AttributeError, KeyError)


def validate(rules: Any, *, tag_names: Mapping[int, str] | None = None) -> dict:
    """The rule set, checked; ValidationError listing every problem (translated, with where
    it is) otherwise. Every value is converted as the compiler will convert it, so rules that
    pass never fail later. Tags are looked up in one query, or in ``tag_names`` when the
    caller checks many rule sets."""
    check = _Check()
    _check_group(rules, "", 1, check)
    if check.conditions > MAX_CONDITIONS:
        check.problems.append(str(_("At most %(max)d conditions.") % {"max": MAX_CONDITIONS}))
    if check.tags:
        known = (
            set(tag_names)
            if tag_names is not None
            else set(Tag.objects.filter(pk__in=check.tags).values_list("pk", flat=True))
        )
        check.problems.extend(
            str(_("%(where)s: that tag no longer exists.") % {"where": where})
            for tag, where in check.tags.items()
            if tag not in known
        )
    if check.problems:
        raise ValidationError(check.problems)
    return rules


@dataclass
class _Check:
    problems: list[str] = dataclasses.field(default_factory=list)
    conditions: int = 0
    tags: dict[int, str] = dataclasses.field(default_factory=dict)  # tag id -> where it is used


def _check_group(group: Any, where: str, depth: int, check: _Check) -> None:
    place = where or "/"
    check.conditions += 1
    if not isinstance(group, dict) or set(group) != {"match", "rules"}:
        check.problems.append(
            str(_("%(where)s: a group has “match” and “rules”.") % {"where": place})
        )
        return
    if group["match"] not in ("all", "any"):
        check.problems.append(str(_("%(where)s: “match” is “all” or “any”.") % {"where": place}))
    if depth > MAX_DEPTH:
        check.problems.append(
            str(
                _("%(where)s: groups nest at most %(max)d deep.")
                % {"where": place, "max": MAX_DEPTH}
            )
        )
        return
    rules = group["rules"]
    if not isinstance(rules, list) or not rules:
        check.problems.append(
            str(_("%(where)s: “rules” is a list of conditions.") % {"where": place})
        )
        return
    for index, rule in enumerate(rules, start=1):
        if check.conditions > MAX_CONDITIONS:
            return
        if isinstance(rule, dict) and "rules" in rule:
            _check_group(rule, f"{where}/{index}", depth + 1, check)
        else:
            check.conditions += 1
            _check_condition(rule, f"{where}/{index}", check)


def _check_condition(rule: Any, where: str, check: _Check) -> None:
    if not isinstance(rule, dict) or set(rule) - {"field", "operator", "value"}:
        check.problems.append(
            str(
                _("%(where)s: a condition has a field, an operator and a value.") % {"where": where}
            )
        )
        return
    name = rule.get("field")
    field = FIELDS.get(name) if isinstance(name, str) else None
    if field is None:
        check.problems.append(str(_("%(where)s: unknown field.") % {"where": where}))
        return
    operator = rule.get("operator")
    if not isinstance(operator, str) or operator not in OPERATORS[field.kind]:
        check.problems.append(
            str(
                _("%(where)s: “%(field)s” has no such operator.")
                % {"where": where, "field": field.label}
            )
        )
        return
    try:
        value = _value(field, operator, rule.get("value"))
    except _UNFIT:
        check.problems.append(
            str(
                _("%(where)s: the value does not fit “%(field)s”.")
                % {"where": where, "field": field.label}
            )
        )
        return
    if field.kind == "tag":
        check.tags.setdefault(value, where)


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
        # "is empty" says that; an empty value here is a half-filled condition.
        if not all(value.strip() for value in values):
            raise ValueError(raw)
        if kind == "choice" and any(value not in field.values for value in values):
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
        # Whether the tag exists is checked once per rule set, in validate().
        return _whole(raw, low=1, high=2**31 - 1)
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
        if interaction_kind and interaction_kind not in InteractionKind.values:
            raise ValueError(interaction_kind)
        return {**_period(options), "kind": interaction_kind}
    if kind == "consent":
        if raw not in field.values:
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


# Text fields holding a place: a rule's value names the place however it is written.
PLACE_FIELDS = ("province", "city")


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
        members = usable_for_list(matching_customers(rules), segment.marketing_channel)
        _insert_members(segment, members, now)
        segment.size = SegmentMember.objects.filter(segment=segment).count()
        segment.refreshed_at = now
        segment.refresh_seconds = round(time.monotonic() - began, 3)
        segment.save(update_fields=["size", "refreshed_at", "refresh_seconds"])
        SegmentSize.objects.create(segment=segment, at=now, size=segment.size)
    return segment


def _insert_members(segment: Segment, customers: QuerySet[Customer], now) -> None:
    """Add the customers to the segment in one INSERT ... SELECT (none leave Python)."""
    try:
        sql, params = customers.values("pk").query.sql_with_params()
    except EmptyResultSet:
        return  # the query can match nobody (Django proved it while compiling)
    table = SegmentMember._meta.db_table
    with connection.cursor() as cursor:
        # The SELECT is Django's own compilation of a queryset (validated rules, or filters).
        cursor.execute(
            f"INSERT INTO {table} (segment_id, customer_id, added_at) "  # noqa: S608
            f"SELECT %s, members.*, %s FROM ({sql}) AS members",
            [segment.pk, connection.ops.adapt_datetimefield_value(now), *params],
        )


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


@transaction.atomic
def save_segment(
    *,
    actor: Any,
    segment: Segment | None = None,
    expected_version: int | None = None,
    **values: Any,
) -> Segment:
    """Create or change a segment; the rules are validated first. Audited. A change moves the
    segment's version on, and raises kernel.versioning.EditConflictError when someone saved it since
    `expected_version`. (Refreshes and list changes only note its size: not a new version.)"""
    version: dict[str, list[int]] = {}
    if segment is not None and segment.pk:
        lock_version(segment, expected_version=expected_version)
        version = next_version(segment)
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
        changes={"name": segment.name, "kind": segment.kind, "rules": segment.rules, **version},
    )
    return segment


def start_refresh(segment: Segment) -> None:
    """Queue a refresh of a dynamic segment for the worker, once the caller's transaction
    commits (a static list has nothing to refresh)."""
    if segment.kind == SegmentKind.DYNAMIC:
        from analytics.tasks import refresh_segment_task

        transaction.on_commit(lambda: refresh_segment_task.delay(segment.pk))


@transaction.atomic
def delete_segment(*, actor: Any, segment: Segment) -> None:
    """Delete a segment and its memberships. Ready-made segments stay (the nightly job would
    bring them back); their rules can be changed instead. Audited."""
    if segment.key:
        raise ValidationError(
            _("A ready-made segment cannot be deleted; change its rules or name instead.")
        )
    record_event(
        actor=actor, action="segment.delete", target=segment, changes={"name": segment.name}
    )
    segment.delete()


def _static(segment: Segment) -> None:
    if segment.kind != SegmentKind.STATIC:
        raise ValidationError(
            _("Only static lists are filled by hand; this segment follows its rules.")
        )


def add_members(*, actor: Any, segment: Segment, customers: QuerySet[Customer]) -> int:
    """Put the customers (active ones, not yet in it, and consenting to the list's marketing
    channel if it has one) into a static list, set-based; returns how many were added.
    Audited with the count only."""
    _static(segment)
    with transaction.atomic():
        segment = Segment.objects.select_for_update().get(pk=segment.pk)
        already = SegmentMember.objects.filter(segment=segment, customer=OuterRef("pk"))
        before = SegmentMember.objects.filter(segment=segment).count()
        _insert_members(
            segment,
            usable_for_list(customers, segment.marketing_channel)
            .filter(merged_into__isnull=True, archived_at__isnull=True)
            .exclude(Exists(already))
            .order_by(),
            timezone.now(),
        )
        added = _resize(segment) - before
        record_event(
            actor=actor, action="segment.add_members", target=segment, changes={"added": added}
        )
    return added


def remove_members(*, actor: Any, segment: Segment, customers: QuerySet[Customer]) -> int:
    """Take the customers out of a static list; returns how many left it. Audited."""
    _static(segment)
    with transaction.atomic():
        segment = Segment.objects.select_for_update().get(pk=segment.pk)
        removed, _by_model = SegmentMember.objects.filter(
            segment=segment, customer__in=customers.values("pk")
        ).delete()
        _resize(segment)
        record_event(
            actor=actor,
            action="segment.remove_members",
            target=segment,
            changes={"removed": removed},
        )
    return removed


def _resize(segment: Segment) -> int:
    """Note a static list's size after a change (and keep its history like a refresh)."""
    now = timezone.now()
    segment.size = SegmentMember.objects.filter(segment=segment).count()
    segment.refreshed_at = now
    segment.save(update_fields=["size", "refreshed_at"])
    SegmentSize.objects.create(segment=segment, at=now, size=segment.size)
    return segment.size


# The key of the static lists' part in a merge record (customers/signals.py).
CARRIED_LISTS = "static_lists"


def carry_list_memberships(
    *, survivor: Customer, others: list[Customer], **_signal: Any
) -> tuple[str, dict] | None:
    """A merge's part for static lists (a customers_merged receiver): each list a merged-away
    customer was in holds the survivor instead (once). Answers, per merged customer id, the
    lists its membership moved to the survivor and the lists where it was dropped (the
    survivor was in them already), so that `restore_list_memberships` can undo it."""
    rows = SegmentMember.objects.filter(customer__in=others, segment__kind=SegmentKind.STATIC)
    _lock_lists(rows.values_list("segment_id", flat=True))
    already = set(
        SegmentMember.objects.filter(
            customer=survivor, segment__kind=SegmentKind.STATIC
        ).values_list("segment_id", flat=True)
    )
    carried: dict[str, dict] = {"moved": {}, "dropped": {}}
    moves: dict[str, list[int]] = {"moved": [], "dropped": []}
    for pk, customer_id, segment_id in rows.order_by("pk").values_list(
        "pk", "customer_id", "segment_id"
    ):
        outcome = "dropped" if segment_id in already else "moved"
        carried[outcome].setdefault(str(customer_id), []).append(segment_id)
        moves[outcome].append(pk)
        already.add(segment_id)
    if not moves["moved"] and not moves["dropped"]:
        return None
    SegmentMember.objects.filter(pk__in=moves["dropped"]).delete()
    SegmentMember.objects.filter(pk__in=moves["moved"]).update(customer=survivor)
    _resize_all(carried)
    return CARRIED_LISTS, carried


def restore_list_memberships(
    *, survivor: Customer, carried: Mapping[str, Any], **_signal: Any
) -> None:
    """Undo `carry_list_memberships` for a merge being undone (a merge_undone receiver)."""
    lists = carried.get(CARRIED_LISTS)
    if not lists:
        return
    _lock_lists(_touched(lists))
    for customer_id, segment_ids in lists.get("moved", {}).items():
        SegmentMember.objects.filter(customer=survivor, segment_id__in=segment_ids).update(
            customer_id=int(customer_id)
        )
    SegmentMember.objects.bulk_create(
        [
            SegmentMember(segment_id=segment_id, customer_id=int(customer_id))
            for customer_id, segment_ids in lists.get("dropped", {}).items()
            for segment_id in segment_ids
        ],
        ignore_conflicts=True,
    )
    _resize_all(lists)


def _lock_lists(segment_ids: Iterable[int]) -> None:
    """Lock the lists as add_members and remove_members do (in one order, so that two merges
    cannot deadlock), so that no one changes their members between a check and a move."""
    list(
        Segment.objects.select_for_update()
        .filter(pk__in=set(segment_ids))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _touched(carried: Mapping[str, dict]) -> set[int]:
    return {
        segment_id for lists in carried.values() for ids in lists.values() for segment_id in ids
    }


def _resize_all(carried: Mapping[str, dict]) -> None:
    for segment in Segment.objects.filter(pk__in=_touched(carried)):
        _resize(segment)


def count_matching(rules: Any, *, user: Any, marketing_channel: str = "") -> int:
    """How many customers the user may see match the rules, and consented to the marketing
    channel if there is one (the builder's live count). Raises ValidationError for rules that
    are not valid."""
    matching = matching_customers(validate(rules)) & customers_visible_to(user)
    return usable_for_list(matching, marketing_channel).count()


def members_visible_to(segment: Segment, user: Any) -> QuerySet[Customer]:
    """The segment's active members that the user may see (for a marketing segment, those
    who still consent: a withdrawal counts before the next refresh)."""
    members = customers_visible_to(user).filter(
        Exists(SegmentMember.objects.filter(segment=segment, customer=OuterRef("pk"))),
        archived_at__isnull=True,
    )
    return usable_for_list(members, segment.marketing_channel)


def sizes_visible_to(user: Any) -> dict[int, int] | None:
    """Each segment's count of members the user may see, in one grouped query; None when the
    user sees every customer, so the stored sizes (and their history) are theirs to read."""
    if user.has_perm("customers.view_all_customers"):
        return None
    visible = customers_visible_to(user).filter(archived_at__isnull=True)
    counts = (
        SegmentMember.objects.filter(customer__in=visible)
        .values("segment")
        .annotate(members=Count("pk"))
        .values_list("segment", "members")
    )
    return dict(counts)


def shown_name(segment: Segment) -> str:
    """A segment's name for the reader: a ready-made one under its own name in the reader's
    language, unless someone renamed it."""
    if segment.key in READY_MADE:
        label = READY_MADE[segment.key][0]
        with translation.override("en"):
            english = str(label)
        if segment.name in (english, f"{english} ({segment.key})"):
            return str(label)
    return segment.name


def builder_vocabulary() -> dict[str, Any]:
    """What the rule builder in the browser offers, in the reader's language: the fields by
    group, each kind's operators, and the values to choose from."""
    return {
        "groups": [[key, str(label)] for key, label in FIELD_GROUPS.items()],
        "fields": [
            {
                "name": name,
                "label": str(field.label),
                "kind": field.kind,
                "group": field.group,
                "integer": field.integer,
                "choices": [[value, str(label)] for value, label in field.choices],
            }
            for name, field in FIELDS.items()
        ],
        "operators": {
            kind: [[operator, str(OPERATOR_LABELS[operator])] for operator in operators]
            for kind, operators in OPERATORS.items()
        },
        "tags": [[tag.pk, tag.name] for tag in Tag.objects.order_by("name")],
        "interaction_kinds": [[value, str(label)] for value, label in InteractionKind.choices],
        "categories": list(
            Product.objects.exclude(category="")
            .order_by("category")
            .values_list("category", flat=True)
            .distinct()
        ),
        # Suggested, not imposed: a rule may name a place no customer has yet.
        "places": {field: common_places(field) for field in PLACE_FIELDS},
        "max_depth": MAX_DEPTH,
    }


def describe_rules(rules: Mapping[str, Any], *, tag_names: Mapping[int, str] | None = None) -> str:
    """Valid rules in words, in the reader's language ("lifecycle stage is At risk and ...")."""
    if tag_names is None:
        tag_names = dict(Tag.objects.values_list("pk", "name"))
    return _describe_group(rules, tag_names, top=True)


def _describe_group(group: Mapping[str, Any], tags: Mapping[int, str], *, top: bool) -> str:
    parts = [
        _describe_group(rule, tags, top=False) if "rules" in rule else _describe(rule, tags)
        for rule in group["rules"]
    ]
    joiner = str(_(" and ") if group["match"] == "all" else _(" or "))
    text = joiner.join(parts)
    return text if top or len(parts) == 1 else f"({text})"


def _describe(rule: Mapping[str, Any], tags: Mapping[int, str]) -> str:
    field = FIELDS[rule["field"]]
    operator = rule["operator"]
    value = _value(field, operator, rule.get("value"))
    words = [str(field.label)]
    if operator == "within_days":
        words.append(str(_("in the last %(days)d days") % {"days": value}))
        return " ".join(words)
    words.append(str(OPERATOR_LABELS[operator]))
    if value is None:
        return " ".join(words)
    labels = dict(field.choices)
    if field.kind in ("text", "choice"):
        words.append(", ".join(str(labels.get(item, item)) for item in value))
    elif field.kind == "consent":
        words.append(str(labels[value]))
    elif field.kind == "boolean":
        words[-1] = str(_("is yes") if value else _("is no"))
    elif field.kind == "tag":
        words.append(tags.get(value, "?"))
    elif field.kind in ("purchase", "interaction"):
        details = _describe_options(value)
        if details:
            words.append(f"({details})")
    elif isinstance(value, tuple):
        words.append(f"{value[0]} – {value[1]}")
    else:
        words.append(str(value))
    return " ".join(words)


def _describe_options(value: Mapping[str, Any]) -> str:
    details = []
    if value.get("kind"):
        details.append(str(InteractionKind(value["kind"]).label))
    if value.get("category"):
        details.append(str(_("category %(category)s") % {"category": value["category"]}))
    if value.get("sku"):
        details.append(str(_("SKU %(sku)s") % {"sku": value["sku"]}))
    if value.get("min_amount") is not None:
        details.append(str(_("order of at least %(amount)s") % {"amount": value["min_amount"]}))
    if value.get("since"):
        details.append(str(_("since %(date)s") % {"date": value["since"]}))
    if value.get("until"):
        details.append(str(_("until %(date)s") % {"date": value["until"]}))
    return ", ".join(details)


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
        with translation.override("en"):
            name = str(label)  # stored in English; shown in the reader's language (shown_name)
        if Segment.objects.filter(name=name).exists():
            name = f"{name} ({key})"
        Segment.objects.create(key=key, name=name, rules=validate(rules), kind=SegmentKind.DYNAMIC)
