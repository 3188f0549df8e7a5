"""Re-encrypting stored values under the newest field-encryption key.

Domain apps register their encrypted columns here (privacy imports no domain app); rotation then
walks each column in primary-key batches, each batch in its own transaction, so an interrupted
run keeps what it finished and a second run picks up the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import transaction

from privacy import crypto
from privacy.actions import KeyAction
from privacy.audit.recording import record_event


@dataclass(frozen=True)
class EncryptedColumn:
    model_label: str
    field: str
    context: str


ENCRYPTED_COLUMNS: list[EncryptedColumn] = []


def register_encrypted_column(model_label: str, field: str, context: str) -> None:
    """Declare a text column holding privacy.crypto tokens (called from AppConfig.ready)."""
    column = EncryptedColumn(model_label, field, context)
    if column not in ENCRYPTED_COLUMNS:
        ENCRYPTED_COLUMNS.append(column)


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
    record_event(actor=actor, action=KeyAction.ROTATE, changes=report)
    return report
