"""What each domain app contributes to the privacy workflows, registered from its
AppConfig.ready(), so that privacy imports no domain app (as privacy/rotation.py does for
encrypted columns):

- the data subject: the model whose rows are people (customers.Customer) and how to find,
  correct and follow one across merged records;
- the sections of the data-subject copy (privacy/subjects/copy.py), in the order of their
  `order` key, and the tables that point at a person but are left out of it, with the reason;
- the erasure scrubbers (privacy/subjects/erasure.py): what anonymising a person does to each
  app's rows, run in the order of their `order` key;
- the retention targets (privacy/retention.py): for each kind of retention policy, the rows
  past their time and what is done to them.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model, QuerySet


@dataclass(frozen=True)
class DataSubject:
    """How the privacy workflows reach the person a request or an erasure is about."""

    model: type[Model]
    # The records and every record merged into them, however many merges deep.
    same_person: Callable[[Iterable[int]], list[int]]
    # Records a new request may be logged against (not merged away, not erased).
    current: Callable[[], QuerySet]
    # (user, search text, limit) -> the newest matching current records the user may see.
    find: Callable[[Any, str, int], QuerySet]
    # The profile form a correction is made in (takes `instance` and `viewer`), and the write
    # it goes through: correct(actor=, customer=, expected_version=, **changes).
    correction_form: type
    correct: Callable[..., Model]
    # (user, record) -> the personal fields a form must mask for this user.
    personal_masks: Callable[[Any, Model], dict[str, str]]
    # (user, bound form) -> audits the form when it shows personal data unmasked.
    audit_form_view: Callable[[Any, Any], None]
    # record id -> the current record it was merged into (itself if current), or None: a link
    # mailed before a merge still reaches the person (privacy/portal/links.py).
    survivor: Callable[[int], Model | None]


@dataclass(frozen=True)
class Column:
    key: str
    label: Any
    get: Callable[[Any], Any]


def field_column(name: str, label: Any = None) -> Column:
    return Column(name, label or name, lambda row: getattr(row, name))


def display_column(name: str, label: Any) -> Column:
    return Column(name, label, lambda row: getattr(row, f"get_{name}_display")())


def user_column(name: str, label: Any) -> Column:
    return Column(name, label, lambda row: getattr(getattr(row, name), "username", ""))


@dataclass(frozen=True)
class CopySection:
    """One kind of record in the copy: json/<name>.json and csv/<name>.csv."""

    name: str
    title: Any
    order: int
    model: type[Model]
    # The data subject's ids (same_person) -> the rows, in the order they are written.
    rows: Callable[[list[int]], QuerySet]
    # Or a callable giving them when the copy is written (columns that change: custom fields).
    columns: Sequence[Column] | Callable[[], Sequence[Column]]

    def current_columns(self) -> Sequence[Column]:
        return self.columns() if callable(self.columns) else self.columns


@dataclass(frozen=True)
class Erasure:
    """One anonymisation: the data subject's ids (merged records included, none erased yet),
    its moment, and the consent ledger's note for the consents it withdraws."""

    ids: list[int]
    now: datetime.datetime
    evidence: str


@dataclass(frozen=True)
class Scrubber:
    # `name` keys the count of rows changed in anonymise_customers' answer.
    name: str
    order: int
    scrub: Callable[[Erasure], int]
    # The data subject's ids -> how many rows an erasure would touch, for the officer to see
    # before confirming (privacy/subjects/views.py); None when not shown.
    reach: Callable[[list[int]], int] | None = None


@dataclass(frozen=True)
class RetentionTarget:
    kind: str  # a privacy.models.RetentionKind
    # The cutoff -> the rows past their time (a queryset of primary keys or of rows).
    rows: Callable[[datetime.datetime], QuerySet]
    # (ids of those rows, actor) -> anonymise or delete them.
    apply: Callable[[list[int], Any], None]


_SUBJECTS: list[DataSubject] = []
COPY_SECTIONS: list[CopySection] = []
NOT_COPIED: dict[str, str] = {}
SCRUBBERS: list[Scrubber] = []
RETENTION_TARGETS: dict[str, RetentionTarget] = {}


def _add_in_order(items: list, item: Any) -> None:
    if item in items:
        return
    if any(other.name == item.name for other in items):
        raise ImproperlyConfigured(f"{item.name!r} is registered twice.")
    items.append(item)
    items.sort(key=lambda each: each.order)


def register_data_subject(subject: DataSubject) -> None:
    if _SUBJECTS and _SUBJECTS[0] != subject:
        raise ImproperlyConfigured("Only one data subject can be registered.")
    _SUBJECTS[:] = [subject]


def data_subject() -> DataSubject:
    if not _SUBJECTS:
        raise ImproperlyConfigured("No app registered the data subject (register_data_subject).")
    return _SUBJECTS[0]


def register_copy_section(section: CopySection) -> None:
    _add_in_order(COPY_SECTIONS, section)


def register_not_copied(model_label: str, reason: str) -> None:
    """Name a table pointing at a person that the copy leaves out, and why."""
    NOT_COPIED[model_label] = reason


def register_scrubber(scrubber: Scrubber) -> None:
    _add_in_order(SCRUBBERS, scrubber)


def register_retention_target(target: RetentionTarget) -> None:
    if RETENTION_TARGETS.get(target.kind, target) != target:
        raise ImproperlyConfigured(f"Retention of {target.kind!r} is registered twice.")
    RETENTION_TARGETS[target.kind] = target
