"""Edits that cannot undo a colleague's: every row with an edit form carries a version.

A form (or, later, the API's If-Match) remembers the version it started from; the service
that writes the row locks it, compares, and refuses the write with `EditConflictError` when
someone else saved in between, instead of silently putting the older values back. The row's
model inherits kernel.models.Versioned; every write of it advances its version and records the
new one in its audit event, so that the refusal can say who changed the row, when, and which
fields.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext

from kernel.models import Versioned
from privacy.models import AuditEvent

# Audit events read to find who changed a row since a version; a conflict is about the last
# few saves, never about a long history.
_EVENTS_READ = 50


@dataclass(frozen=True)
class AuditTrail:
    """Where a row's writes are audited: on the row itself, or (contact people, follow-ups) on
    their customer, with the row's id under `key` in each event's changes."""

    target: Versioned
    key: str = ""

    @property
    def version_key(self) -> str:
        # Events about a customer's contact also target the customer: the contact's version
        # has a name of its own so that it is never read as the customer's.
        return f"{self.key}_version" if self.key else self.target.version_field


class EditConflictError(ValidationError):
    """A save started from an older version of a row than the one now stored. Carries the row
    as it is now (`current`), who last changed it and when (from the audit log; empty when the
    writer recorded no event, as a bulk import does) and the fields changed since the version
    the save started from (`changed_fields`, field names)."""

    def __init__(
        self,
        *,
        current: models.Model,
        changed_by: str,
        changed_at: datetime.datetime | None,
        changed_fields: list[str],
    ) -> None:
        self.current = current
        self.changed_by = changed_by
        self.changed_at = changed_at
        self.changed_fields = changed_fields
        when = date_format(timezone.localtime(changed_at), "DATETIME_FORMAT") if changed_at else ""
        if changed_by and when:
            message = gettext(
                "%(user)s changed this record on %(when)s, after you opened it. Nothing was "
                "saved: compare their changes with yours and save again."
            ) % {"user": changed_by, "when": when}
        else:
            message = gettext(
                "Someone else changed this record after you opened it. Nothing was saved: "
                "compare their changes with yours and save again."
            )
        super().__init__(message, code="edit_conflict")


def lock_version(
    instance: Versioned, *, expected_version: int | None, trail: AuditTrail | None = None
) -> None:
    """Inside the writing service's transaction: lock the row until the transaction ends (a
    row lock on PostgreSQL; SQLite's write lock, taken when the transaction began) and set
    `instance.row_version` to the stored one. Raises EditConflictError when
    `expected_version` is given and differs, ValidationError when the row was deleted
    meanwhile. `expected_version=None` checks nothing (imports, merges and tasks apply their
    own rules)."""
    model = type(instance)
    stored = (
        model._base_manager.select_for_update()
        .filter(pk=instance.pk)
        .values_list(model.version_field, flat=True)
        .first()
    )
    if stored is None:
        raise ValidationError(gettext("This record was deleted by someone else meanwhile."))
    if expected_version is not None and stored != expected_version:
        raise _conflict(instance, expected_version, trail or AuditTrail(instance))
    instance.row_version = stored


def next_version(instance: Versioned, trail: AuditTrail | None = None) -> dict[str, list[int]]:
    """Advance a row locked by lock_version for the write about to be saved (save it with
    its version field among the fields). Returns the entry for the write's audit event, which is how
    a later conflict finds who made this version."""
    instance.row_version += 1
    key = (trail or AuditTrail(instance)).version_key
    return {key: [instance.row_version - 1, instance.row_version]}


def _conflict(instance: Versioned, expected_version: int, trail: AuditTrail) -> EditConflictError:
    events = AuditEvent.objects.filter(
        target_type=f"{trail.target._meta.app_label}.{trail.target._meta.model_name}",
        target_id=str(trail.target.pk),
        changes__has_key=trail.version_key,
    )
    if trail.key:
        events = events.filter(**{f"changes__{trail.key}": instance.pk})
    newer = [
        event
        for event in events.order_by("-sequence")[:_EVENTS_READ]
        if _new_version(event.changes.get(trail.version_key)) > expected_version
    ]
    changed_fields: list[str] = []
    for event in reversed(newer):
        for field in event.changes:
            if field not in (trail.key, trail.version_key) and field not in changed_fields:
                changed_fields.append(field)
    last = newer[0] if newer else None
    return EditConflictError(
        current=type(instance)._base_manager.get(pk=instance.pk),
        changed_by=last.actor_label if last else "",
        changed_at=last.occurred_at if last else None,
        changed_fields=changed_fields,
    )


def _new_version(entry: Any) -> int:
    return entry[1] if isinstance(entry, list) and len(entry) == 2 else 0
