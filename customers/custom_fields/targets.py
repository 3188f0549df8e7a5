"""The record kinds custom fields can be defined for, each registered by the app that owns the
records (customers/apps.py registers customers) with the JSON field holding their values."""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import models

from customers.custom_fields.models import FieldTarget
from customers.custom_fields.records import sealed_contexts
from privacy.rotation import register_sealed_json


@dataclass(frozen=True)
class Target:
    kind: FieldTarget
    model_label: str  # "customers.Customer"
    values_field: str = "custom"

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.model_label)


_TARGETS: dict[str, Target] = {}


def register_target(target: Target) -> None:
    """Let `target` records hold custom values; their sealed ones rotate with the keys."""
    _TARGETS[target.kind] = target
    register_sealed_json(
        target.model_label, target.values_field, lambda: sealed_contexts(target.kind)
    )


def target_for(kind: str) -> Target:
    return _TARGETS[kind]


def registered_kinds() -> list[tuple[str, str]]:
    """(kind, label) of the record kinds that can have custom fields, in FieldTarget's order."""
    return [(kind.value, kind.label) for kind in FieldTarget if kind in _TARGETS]
