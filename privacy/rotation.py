"""Re-encrypting stored values under the newest field-encryption key.

Domain apps register their encrypted columns here (privacy imports no domain app); rotation then
walks each column in primary-key batches, each batch in its own transaction, so an interrupted
run keeps what it finished and a second run picks up the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import transaction
from django.db.models import Q

from privacy import crypto
from privacy.actions import KeyAction
from privacy.audit.recording import record_event


@dataclass(frozen=True)
class EncryptedColumn:
    model_label: str
    field: str
    context: str


ENCRYPTED_COLUMNS: list[EncryptedColumn] = []


@dataclass(frozen=True)
class SealedJsonValues:
    """A JSON column whose entries may be sealed: {"sealed": token, ...} under a key, the
    token's context depending on the key. `contexts()` gives, when rotation runs, every key
    that may hold a sealed entry and its context."""

    model_label: str
    field: str
    contexts: Callable[[], dict[str, str]]


SEALED_JSON: list[SealedJsonValues] = []


def register_encrypted_column(model_label: str, field: str, context: str) -> None:
    """Declare a text column holding privacy.crypto tokens (called from AppConfig.ready)."""
    column = EncryptedColumn(model_label, field, context)
    if column not in ENCRYPTED_COLUMNS:
        ENCRYPTED_COLUMNS.append(column)


def register_sealed_json(
    model_label: str, field: str, contexts: Callable[[], dict[str, str]]
) -> None:
    """Declare a JSON column holding sealed entries (called from AppConfig.ready)."""
    if not any(
        (values.model_label, values.field) == (model_label, field) for values in SEALED_JSON
    ):
        SEALED_JSON.append(SealedJsonValues(model_label, field, contexts))


def rotate_encrypted_columns(*, actor=None, batch_size: int = 1000) -> dict[str, dict[str, int]]:
    """Re-encrypt every registered value not yet under the current key.

    Returns {"app.Model.field": {"checked": n, "rotated": m}}; records one `keys.rotate` audit
    event with those counts. Raises DecryptionError if a stored value cannot be decrypted with
    any configured key (nothing in that batch is written)."""
    report: dict[str, dict[str, int]] = {}
    for column in ENCRYPTED_COLUMNS:
        model = apps.get_model(column.model_label)
        rows = model._base_manager.exclude(**{column.field: ""}).order_by("pk")
        checked = rotated = 0
        last_pk = None
        while True:
            page = rows if last_pk is None else rows.filter(pk__gt=last_pk)
            batch = list(page.only("pk", column.field)[:batch_size])
            if not batch:
                break
            last_pk = batch[-1].pk
            stale = [row for row in batch if crypto.needs_rotation(getattr(row, column.field))]
            for row in stale:
                token = getattr(row, column.field)
                setattr(row, column.field, crypto.reencrypt(token, context=column.context))
            with transaction.atomic():
                model._base_manager.bulk_update(stale, [column.field])
            checked += len(batch)
            rotated += len(stale)
        report[f"{column.model_label}.{column.field}"] = {"checked": checked, "rotated": rotated}
    for values in SEALED_JSON:
        report[f"{values.model_label}.{values.field}"] = _rotate_sealed_json(values, batch_size)
    record_event(actor=actor, action=KeyAction.ROTATE, changes=report)
    return report


def _rotate_sealed_json(values: SealedJsonValues, batch_size: int) -> dict[str, int]:
    """rotate_encrypted_columns for one JSON column: the rows holding any key that may be
    sealed, each sealed entry re-encrypted; "checked" counts the sealed entries."""
    contexts = values.contexts()
    model = apps.get_model(values.model_label)
    checked = rotated = 0
    if not contexts:
        return {"checked": 0, "rotated": 0}
    holding = Q()
    for key in contexts:
        holding |= Q(**{f"{values.field}__has_key": key})
    rows = model._base_manager.filter(holding).order_by("pk")
    last_pk = None
    while True:
        page = rows if last_pk is None else rows.filter(pk__gt=last_pk)
        ids = list(page.values_list("pk", flat=True)[:batch_size])
        if not ids:
            break
        last_pk = ids[-1]
        # Read again under lock: the JSON holds every other value of the record too, which an
        # edit or an import may change meanwhile and a stale copy would write back.
        with transaction.atomic():
            locked = rows.filter(pk__in=ids).select_for_update().only("pk", values.field)
            stale: list[Any] = []
            for row in locked:
                entries = getattr(row, values.field)
                changed = False
                for key, context in contexts.items():
                    entry = entries.get(key)
                    if not (isinstance(entry, dict) and "sealed" in entry):
                        continue
                    checked += 1
                    if crypto.needs_rotation(entry["sealed"]):
                        entries[key] = {
                            **entry,
                            "sealed": crypto.reencrypt(entry["sealed"], context=context),
                        }
                        rotated += 1
                        changed = True
                if changed:
                    stale.append(row)
            model._base_manager.bulk_update(stale, [values.field])
    return {"checked": checked, "rotated": rotated}
