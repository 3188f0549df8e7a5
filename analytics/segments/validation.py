"""Checking a rule set against the vocabulary, and converting each condition's value as the
compiler and the description use it."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_date
from django.utils.translation import gettext_lazy as _

from analytics.segments.vocabulary import (
    MAX_CONDITIONS,
    MAX_DEPTH,
    OPERATORS,
    Field,
    segment_fields,
)
from customers.models import Tag
from interactions.models import InteractionKind
from sales.models import Stage

MAX_LIST = 1_000
MAX_NUMBER = Decimal(10) ** 12
# What converting a value that does not fit may raise.
_UNFIT = (ValueError, TypeError, ArithmeticError, AttributeError, KeyError)


def validate(
    rules: Any,
    *,
    tag_names: Mapping[int, str] | None = None,
    stage_names: Mapping[int, str] | None = None,
    fields: Mapping[str, Field] | None = None,
) -> dict:
    """The rule set, checked; ValidationError listing every problem (translated, with where
    it is) otherwise. Every value is converted as the compiler will convert it, so rules that
    pass never fail later. Tags (and deal stages, and the custom fields) are looked up in one
    query each, or in ``tag_names`` (``stage_names``, ``fields``: segment_fields()) when the
    caller checks many rule sets."""
    check = _Check(fields=segment_fields() if fields is None else fields)
    _check_group(rules, "", 1, check)
    if check.conditions > MAX_CONDITIONS:
        check.problems.append(str(_("At most %(max)d conditions.") % {"max": MAX_CONDITIONS}))
    check.problems.extend(
        _gone(check.tags, tag_names, Tag, _("%(where)s: that tag no longer exists."))
    )
    # Any stage may be asked for (a pipeline's "won" stage too): deals in it are never open,
    # so such a rule simply matches nobody; a stage that no longer exists is refused.
    check.problems.extend(
        _gone(
            check.stages, stage_names, Stage, _("%(where)s: that pipeline stage no longer exists.")
        )
    )
    if check.problems:
        raise ValidationError(check.problems)
    return rules


def _gone(used: Mapping[int, str], names: Mapping[int, str] | None, model, message) -> list[str]:
    """The problems of the rows `used` (id -> where) that no longer exist: looked up in
    `names` when given, else in one query (none when nothing is used)."""
    if not used:
        return []
    known = (
        set(names)
        if names is not None
        else set(model.objects.filter(pk__in=used).values_list("pk", flat=True))
    )
    return [str(message % {"where": where}) for pk, where in used.items() if pk not in known]


@dataclass
class _Check:
    fields: Mapping[str, Field]
    problems: list[str] = dataclasses.field(default_factory=list)
    conditions: int = 0
    tags: dict[int, str] = dataclasses.field(default_factory=dict)  # tag id -> where it is used
    stages: dict[int, str] = dataclasses.field(default_factory=dict)  # stage id -> where


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
    field = check.fields.get(name) if isinstance(name, str) else None
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
        value = condition_value(field, operator, rule.get("value"))
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
    if field.kind == "open_deal" and value["stage"] is not None:
        check.stages.setdefault(value["stage"], where)


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


def condition_value(field: Field, operator: str, raw: Any) -> Any:
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
    if kind == "open_deal":
        options = _options(raw, {"stage"})
        stage = options.get("stage")
        # Whether the stage exists is checked once per rule set, in validate().
        return {"stage": _whole(stage, low=1, high=2**63 - 1) if stage not in (None, "") else None}
    if kind == "closed_deal":
        options = _options(raw, {"since", "until", "days"})
        days = options.get("days")
        return {
            **_period(options),
            "days": _whole(days, low=0, high=36_500) if days not in (None, "") else None,
        }
    if kind in ("consent", "choices"):
        if raw not in field.values:
            raise ValueError(raw)
        return raw
    raise ValueError(kind)
