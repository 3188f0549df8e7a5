"""The record kinds custom fields can be defined for, each registered by the app that owns the
records (customers/apps.py registers customers, sales/apps.py deals, interactions/apps.py
interactions and their archive) with the JSON field holding their values."""

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
    # Models whose rows hold the same values besides the records: an archive the old records
    # move to (interactions'), kept in step when a field converts or keys rotate.
    archive_labels: tuple[str, ...] = ()
    # Whether its list filters ranges or sorts by a custom value (an order index per field,
    # customers/custom_fields/indexes.py): a kind without a list by value gets none, which
    # would only slow its writes.
    ordered_by_value: bool = True
    # The URL name of a record's page, taking its id ("customers:detail"); None where records
    # have no page of their own (interactions are read in their customer's timeline).
    record_url: str | None = None

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.model_label)

    @property
    def holders(self) -> list[type[models.Model]]:
        """Every model whose rows may hold values of this kind's fields."""
        return [apps.get_model(label) for label in (self.model_label, *self.archive_labels)]


_TARGETS: dict[str, Target] = {}


def register_target(target: Target) -> None:
    """Let `target` records hold custom values; their sealed ones rotate with the keys."""
    _TARGETS[target.kind] = target
    for label in (target.model_label, *target.archive_labels):
        register_sealed_json(label, target.values_field, lambda: sealed_contexts(target.kind))


def target_for(kind: str) -> Target:
    return _TARGETS[kind]


def registered_kinds() -> list[tuple[str, str]]:
    """(kind, label) of the record kinds that can have custom fields, in FieldTarget's order."""
    return [(kind.value, kind.label) for kind in FieldTarget if kind in _TARGETS]
