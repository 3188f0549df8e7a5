"""Custom values in the data-subject copy, for every record kind holding them: a section's
columns are the record's own, then one per field of the kind, archived fields included (their
values are still held), each value whole and sealed ones decrypted (the copy is the person's
own data)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from accounts.users import staff_accounts
from customers.custom_fields.models import FieldDefinition
from customers.custom_fields.records import portable_writer
from customers.custom_fields.selectors import defined_fields
from privacy.registry import Column


def copy_columns(target: str, leading: Sequence[Column]) -> Callable[[], list[Column]]:
    """The columns of a copy section of `target` records (read when the copy is written, so a
    field defined since is in it): `leading`, then a column per custom field, keyed
    "custom.<key>" (a key is made from a label, and "Subject" must not take the place of the
    interaction's own subject in the JSON files)."""

    def columns() -> list[Column]:
        usernames = dict(staff_accounts().values_list("pk", "username"))
        return [
            *leading,
            *(
                Column(field.name, field.label, _value_of(field, usernames))
                for field in defined_fields(target, archived=True)
            ),
        ]

    return columns


def _value_of(field: FieldDefinition, usernames: dict[int, str]) -> Callable[[Any], str]:
    write = portable_writer(field, unmasked=True, usernames=usernames, decrypting=True)

    def value(record: Any) -> str:
        return write((record.custom or {}).get(field.key))

    return value
