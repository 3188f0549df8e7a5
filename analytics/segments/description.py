"""Valid rules in words, in the reader's language."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from analytics.models import Segment, SegmentKind
from analytics.segments.validation import condition_value, validate
from analytics.segments.vocabulary import (
    OPERATOR_LABELS,
    Field,
    deal_stage_names,
    segment_fields,
)
from customers.models import Tag
from interactions.models import InteractionKind


def describe_rules(
    rules: Mapping[str, Any],
    *,
    tag_names: Mapping[int, str] | None = None,
    stage_names: Mapping[int, str] | None = None,
    fields: Mapping[str, Field] | None = None,
) -> str:
    """Valid rules in words, in the reader's language ("lifecycle stage is At risk and ...")."""
    if tag_names is None:
        tag_names = dict(Tag.objects.values_list("pk", "name"))
    if stage_names is None:
        stage_names = deal_stage_names() if _names_a_stage(rules) else {}
    if fields is None:
        fields = segment_fields()
    return _describe_group(rules, _Names(tag_names, stage_names, fields), top=True)


def rules_in_words(
    segment: Segment,
    tag_names: Mapping[int, str] | None = None,
    stage_names: Mapping[int, str] | None = None,
    fields: Mapping[str, Field] | None = None,
) -> str:
    """A segment's rules in words as its pages and the API show them: empty for a static
    list, a plea to edit them when they are no longer valid. Pass `tag_names`, `stage_names`
    (vocabulary.deal_stage_names()) and `fields` (vocabulary.segment_fields()) to describe
    many segments with one lookup of each."""
    if segment.kind == SegmentKind.STATIC:
        return ""
    if tag_names is None:
        tag_names = dict(Tag.objects.values_list("pk", "name"))
    if fields is None:
        fields = segment_fields()
    try:
        rules = validate(segment.rules, tag_names=tag_names, stage_names=stage_names, fields=fields)
    except ValidationError:
        return gettext("These rules are no longer valid; edit them.")
    return describe_rules(rules, tag_names=tag_names, stage_names=stage_names, fields=fields)


class _Names(NamedTuple):
    tags: Mapping[int, str]
    stages: Mapping[int, str]
    fields: Mapping[str, Field]


def _names_a_stage(group: Mapping[str, Any]) -> bool:
    return any(
        _names_a_stage(rule)
        if "rules" in rule
        else rule["field"] == "open_deal" and (rule.get("value") or {}).get("stage")
        for rule in group["rules"]
    )


def _describe_group(group: Mapping[str, Any], names: _Names, *, top: bool) -> str:
    parts = [
        _describe_group(rule, names, top=False) if "rules" in rule else _describe(rule, names)
        for rule in group["rules"]
    ]
    joiner = str(_(" and ") if group["match"] == "all" else _(" or "))
    text = joiner.join(parts)
    return text if top or len(parts) == 1 else f"({text})"


def _describe(rule: Mapping[str, Any], names: _Names) -> str:
    field = names.fields[rule["field"]]
    operator = rule["operator"]
    value = condition_value(field, operator, rule.get("value"))
    if field.kind == "open_deal":
        # "has an open deal (in stage Sales › Proposal)"
        words = [str(OPERATOR_LABELS[operator]), str(field.label)]
        if value["stage"] is not None:
            stage = names.stages.get(value["stage"], "?")
            in_stage = _("in stage %(stage)s") % {"stage": stage}
            words.append(f"({in_stage})")
        return " ".join(words)
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
    elif field.kind in ("consent", "choices"):
        words.append(str(labels[value]))
    elif field.kind == "boolean":
        words[-1] = str(_("is yes") if value else _("is no"))
    elif field.kind == "tag":
        words.append(names.tags.get(value, "?"))
    elif field.kind in ("purchase", "interaction", "closed_deal"):
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
    if value.get("days") is not None:
        details.append(str(_("in the last %(days)d days") % {"days": value["days"]}))
    return ", ".join(details)
