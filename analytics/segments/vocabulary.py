"""The rule vocabulary: the only fields and operators a segment's rules may use.

A rule set is a group: {"match": "all" | "any", "rules": [condition or group, ...]}. A condition
is {"field": name, "operator": op, "value": ...}. Only the fields and operators in FIELDS, and the
ordinary custom fields (segment_fields), exist; anything else is refused (validation.py) with a
message saying what and where, so no user input ever reaches SQL as text (compilation.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from customers.custom_fields.models import FieldTarget, FieldType, Sensitivity
from customers.custom_fields.selectors import defined_fields
from customers.custom_fields.values import staff_choices
from customers.models import (
    CustomerKind,
    Gender,
    LifecycleStage,
    SourceChannel,
    Tag,
    ValueGrade,
)
from customers.selectors import common_places
from interactions.models import InteractionKind, Product
from sales.models import Stage, StageKind

MAX_DEPTH = 4
MAX_CONDITIONS = 50


@dataclass(frozen=True)
class Field:
    label: Any
    # text, choice, number, date, boolean, tag, purchase, interaction, consent, open_deal,
    # closed_deal
    kind: str
    lookup: str = ""
    choices: tuple[tuple[str, Any], ...] = ()  # (value, label)
    integer: bool = False  # a number stored as an integer: only whole values make sense
    # A custom field's definition (customers/custom_fields/): its rules read Customer.custom.
    definition: Any = None

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(value for value, _label in self.choices)

    @property
    def group(self) -> str:
        if self.definition is not None:
            return "custom"
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
    "open_deal": Field(_("an open deal"), "open_deal"),
    "deal_won": Field(_("won a deal"), "closed_deal", "won_at"),
    "deal_lost": Field(_("lost a deal"), "closed_deal", "lost_at"),
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
    "choices": ("has", "has_not", "is_empty"),
    "open_deal": ("has", "has_not"),
    "closed_deal": ("yes", "no"),
}
# How the builder groups the fields in its menu.
FIELD_GROUPS: dict[str, Any] = {
    "profile": _("Profile"),
    "metrics": _("Purchases and scores"),
    "activity": _("Activity"),
    "deals": _("Deals"),
    "consent": _("Consent"),
    "custom": _("Custom fields"),
}
_GROUP_OF_KIND = {
    "purchase": "activity",
    "interaction": "activity",
    "consent": "consent",
    "open_deal": "deals",
    "closed_deal": "deals",
}
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

# A custom field's type -> the kind of rule it takes (customers/custom_fields/models.py).
_CUSTOM_KINDS = {
    FieldType.CHOICE: "choice",
    FieldType.USER: "choice",
    FieldType.CHOICES: "choices",
    FieldType.YES_NO: "boolean",
    FieldType.NUMBER: "number",
    FieldType.MONEY: "number",
    FieldType.DATE: "date",
}


def segment_fields(*, archived: bool = True) -> dict[str, Field]:
    """FIELDS and the customers' ordinary custom fields (`custom.<key>`). A personal or
    sensitive value is never a rule's subject: counting who matches would tell it. With
    `archived`, the archived fields too: rules made before still read their values."""
    fields = dict(FIELDS)
    for definition in defined_fields(FieldTarget.CUSTOMER, archived=archived):
        if definition.sensitivity != Sensitivity.ORDINARY:
            continue
        kind = _CUSTOM_KINDS.get(definition.type, "text")
        if definition.type == FieldType.USER:
            choices = tuple(staff_choices())
        else:
            choices = tuple((choice.key, choice.label) for choice in definition.choices.all())
        fields[definition.name] = Field(
            definition.label,
            kind,
            choices=choices,
            integer=definition.type == FieldType.NUMBER and definition.decimals == 0,
            definition=definition,
        )
    return fields


# Text fields holding a place: a rule's value names the place however it is written.
PLACE_FIELDS = ("province", "city")


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
            for name, field in segment_fields(archived=False).items()
        ],
        "operators": {
            kind: [[operator, str(OPERATOR_LABELS[operator])] for operator in operators]
            for kind, operators in OPERATORS.items()
        },
        "tags": [[tag.pk, tag.name] for tag in Tag.objects.order_by("name")],
        "open_stages": [
            [stage_id, name] for stage_id, name in deal_stage_names(open_only=True).items()
        ],
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


def deal_stage_names(*, open_only: bool = False) -> dict[int, str]:
    """Pipeline stages by id as rules name them ("Sales › Proposal"), in the reader's language,
    in the pipelines' order (one query: pipelines and stages are a handful of rows)."""
    stages = Stage.objects.select_related("pipeline").order_by(
        "pipeline__ordering", "pipeline_id", "order", "pk"
    )
    if open_only:
        stages = stages.filter(kind=StageKind.OPEN, pipeline__active=True)
    return {stage.pk: f"{stage.pipeline.display_name} › {stage.display_name}" for stage in stages}
