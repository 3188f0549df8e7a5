"""An export's rows: the customers as the cells of its columns, read in primary-key chunks
(bounded memory), personal data masked unless the file may hold it unmasked."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from django.db import models
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.users import staff_accounts
from analytics.exports.columns import ExportColumn, columns_by_key
from customers.custom_fields.records import portable_writer
from customers.models import (
    Customer,
    CustomerKind,
    ExternalId,
    Gender,
    LifecycleStage,
    SourceChannel,
    ValueGrade,
)
from privacy.masking import mask_email, mask_phone, mask_postcode, mask_street

CHUNK = 5000
_MASKERS: dict[str, Callable[[str], str]] = {
    "phone": mask_phone,
    "email": mask_email,
    "street": mask_street,
    "postcode": mask_postcode,
}
_CHOICES = {
    "kind": CustomerKind,
    "gender": Gender,
    "lifecycle_stage": LifecycleStage,
    "value_grade": ValueGrade,
    "source_channel": SourceChannel,
}


def export_rows(
    customers: QuerySet[Customer], columns: Sequence[str], *, unmasked: bool
) -> Iterator[list[str]]:
    """The export's rows in primary-key order, read in chunks (bounded memory)."""
    known = columns_by_key(archived=True)
    reads = list(dict.fromkeys(["pk", *(r for key in columns for r in known[key].reads)]))
    position = {name: index for index, name in enumerate(reads)}
    usernames = (
        dict(staff_accounts().values_list("pk", "username"))
        if any(known[key].field is not None for key in columns)
        else {}
    )
    render = [
        _renderer(known[key], position, unmasked=unmasked, usernames=usernames) for key in columns
    ]
    wants_tags, wants_ids = "tags" in columns, "external_ids" in columns
    last = 0
    while True:
        chunk = list(customers.filter(pk__gt=last).order_by("pk").values_list(*reads)[:CHUNK])
        if not chunk:
            return
        # The chunk's id range, not its id list: a range is one cheap condition, and links of
        # customers filtered out in between are simply not looked up.
        first, last = chunk[0][0], chunk[-1][0]
        extras = {
            "tags": _tags(first, last) if wants_tags else {},
            "external_ids": _external_ids(first, last) if wants_ids else {},
        }
        for row in chunk:
            yield [cell(row, extras) for cell in render]


def _renderer(
    column: ExportColumn,
    position: Mapping[str, int],
    *,
    unmasked: bool,
    usernames: Mapping[int, str],
):
    key = column.key
    if key in ("tags", "external_ids"):
        return lambda row, extras: extras[key].get(row[0], "")
    index = position[column.reads[0]]
    if column.field is not None:
        return _custom_renderer(column.field, index, unmasked=unmasked, usernames=usernames)
    if key in _CHOICES:
        # An empty choice ("Unknown", "Ungraded") stays an empty cell.
        labels = {value: str(label) for value, label in _CHOICES[key].choices if value}
        labels[""] = ""
        return lambda row, extras: labels.get(row[index], row[index])
    if key in _MASKERS and not unmasked:
        masker = _MASKERS[key]
        return lambda row, extras: masker(row[index])
    if key.startswith("consent_"):
        yes, no = str(_("yes")), str(_("no"))
        return lambda row, extras: yes if row[index] else no
    if key in ("created_at", "last_activity_at"):
        return lambda row, extras: _local(row[index])
    field = Customer._meta.get_field(key) if key != "owner" else None
    if isinstance(field, models.CharField | models.TextField):
        return lambda row, extras: row[index]  # text and never NULL
    return lambda row, extras: _text(row[index])


def _custom_renderer(field: Any, index: int, *, unmasked: bool, usernames: Mapping[int, str]):
    """A custom value as an import takes it back; personal values masked unless the file may
    hold them, sealed ones always (they are revealed one at a time, audited)."""

    write = portable_writer(field, unmasked=unmasked, usernames=usernames)
    key = field.key

    def render(row: Sequence[Any], extras: Any) -> str:
        return write((row[index] or {}).get(key))

    return render


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def _local(moment: datetime.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _tags(first: int, last: int) -> dict[int, str]:
    names: dict[int, list[str]] = {}
    for customer_id, name in (
        Customer.tags.through.objects.filter(customer_id__gte=first, customer_id__lte=last)
        .order_by("tag__name")
        .values_list("customer_id", "tag__name")
    ):
        names.setdefault(customer_id, []).append(name)
    return {customer_id: ", ".join(values) for customer_id, values in names.items()}


def _external_ids(first: int, last: int) -> dict[int, str]:
    links: dict[int, list[str]] = {}
    for customer_id, system, value in (
        ExternalId.objects.filter(customer_id__gte=first, customer_id__lte=last)
        .order_by("system", "external_id")
        .values_list("customer_id", "system", "external_id")
    ):
        links.setdefault(customer_id, []).append(f"{system}:{value}")
    return {customer_id: ", ".join(values) for customer_id, values in links.items()}
