"""Customers as the linkage model sees them: one flat row of comparable values each.

The stored values are already normalised (phone in E.164, email lower case, ID number as a
blind index, name's pinyin and sound key); here they only lose what does not tell people apart:
case, spacing and punctuation in addresses, legal-form suffixes in company names, the 市 after a
city.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from customers.custom_fields.models import NOT_IDENTIFYING_TYPES, FieldDefinition, FieldTarget
from customers.custom_fields.records import is_sealed
from customers.custom_fields.selectors import defined_fields
from customers.dedup.linkage import Features
from customers.models import Customer, ExternalId
from customers.normalize import IdDocumentKind, name_sound

# Customer fields a feature row is made of.
SOURCE_FIELDS = (
    "id",
    "name",
    "name_pinyin",
    "name_key",
    "family_name",
    "given_name",
    "birth_date",
    "phone",
    "email",
    "id_number_blind_index",
    "id_document_kind",
    "street",
    "postcode",
    "city",
    "company_name",
    "custom",
)
_PUNCTUATION = re.compile(r"[\W_]+", re.UNICODE)
_COMPANY_FORMS = re.compile(
    r"(股份有限公司|有限责任公司|有限公司|集团|公司|\bco\b|\bltd\b|\binc\b|\bllc\b|\bgmbh\b"
    r"|\bcorp(oration)?\b|\blimited\b|\bcompany\b)",
)
_CITY_SUFFIX = re.compile(r"(市|地区|自治州)$")
# The house number: the first run of digits ("44 Forbes Street", "建国路88号"), with a letter
# suffix ("12a").
_HOUSE_NUMBER = re.compile(r"\d+[a-z]?\b|\d+")
CHUNK = 20_000
# Mailboxes of a role rather than a person (info@, sales@...): they do not tell who is who.
ROLE_MAILBOXES = frozenset(
    {
        "admin", "billing", "business", "contact", "customerservice", "enquiries", "enquiry",
        "hello", "help", "hr", "info", "mail", "marketing", "noreply", "no-reply", "office",
        "orders", "purchase", "purchasing", "sales", "service", "support", "team",
    }
)  # fmt: skip


def _plain(text: str) -> str | None:
    folded = _PUNCTUATION.sub("", unicodedata.normalize("NFKC", text).casefold())
    return folded or None


def _company(text: str) -> str | None:
    return _plain(_COMPANY_FORMS.sub(" ", unicodedata.normalize("NFKC", text).casefold()))


def _city(text: str) -> str | None:
    return _plain(_CITY_SUFFIX.sub("", text.strip()))


def _street_parts(text: str) -> tuple[str | None, str | None]:
    """The house number and the rest of the street (the street's name), each comparable on its
    own: a mistyped number or a misspelt street name is still the same address."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    number = _HOUSE_NUMBER.search(folded)
    if number is None:
        return None, _plain(folded)
    return number.group(), _plain(folded[: number.start()] + " " + folded[number.end() :])


def _name_only(user: str, name_key: str) -> bool:
    """An email user made of the name's letters alone (no digits or other letters)."""
    return (
        not any(char.isdigit() for char in user)
        and "".join(sorted(char for char in user if char.isalpha())) == name_key
    )


def feature_row(
    values: Mapping[str, Any], external_ids: Iterable[str] = (), *, changed: bool = False
) -> tuple:
    """The feature row (in linkage.FEATURE_COLUMNS order) of one customer's stored values."""
    name = values["name"] or ""
    if values.get("name_key") is None:
        pinyin, key = name_sound(name)
    else:
        pinyin, key = values["name_pinyin"], values["name_key"]
    email = values["email"] or ""
    user = email.split("@")[0]
    if user in ROLE_MAILBOXES:
        email = user = ""  # a company's shared mailbox: its branches and staff all write from it
    elif _name_only(user, key):
        user = ""  # zhang.wei@ at another provider says no more than the name does
    birth_date = values["birth_date"]
    street_number, street_name = _street_parts(values["street"] or "")
    return (
        values["id"],
        _plain(name),
        pinyin or None,
        key or None,
        _plain(values.get("family_name") or ""),
        _plain(values.get("given_name") or ""),
        birth_date.isoformat() if birth_date else None,
        values["phone"] or None,
        email or None,
        user or None,
        values["id_number_blind_index"] or None,
        values.get("id_document_kind") == IdDocumentKind.CN_RESIDENT,
        _plain(values["street"] or ""),
        street_number,
        street_name,
        values["postcode"] or None,
        _city(values["city"] or ""),
        _company(values["company_name"] or ""),
        sorted(set(external_ids)),
        changed,
    )


def identifying_fields() -> list[FieldDefinition]:
    """The custom fields an administrator marked as identifying a person (archived ones too:
    their values still tell people apart)."""
    return [
        field
        for field in defined_fields(FieldTarget.CUSTOMER, archived=True)
        if field.identifying and field.type not in NOT_IDENTIFYING_TYPES
    ]


def identifiers(fields: Iterable[FieldDefinition], custom: Mapping[str, Any]) -> list[str]:
    """A customer's identifying custom values as the linkage compares them: beside the ids in
    other systems (the "same id" comparison and its blocking), each tagged with its field so
    that equal text in two fields never matches; a sealed value by its blind index."""
    found = []
    for field in fields:
        entry = custom.get(field.key)
        if entry is None:
            continue
        if is_sealed(entry):
            found.append(f"{field.name}#{entry['index']}")
        else:
            found.append(f"{field.name}={json.dumps(entry, ensure_ascii=False)}")
    return found


def active_customers() -> QuerySet[Customer]:
    """Customers detection looks at: neither archived nor merged away, nor restricted (their
    processing is stopped, and a merge would be refused anyway)."""
    return Customer.objects.filter(
        merged_into__isnull=True, archived_at__isnull=True, restricted_at__isnull=True
    )


def load(
    features: Features,
    customers: QuerySet[Customer],
    *,
    changed_ids: set[int] | None = None,
    skip: set[int] | None = None,
) -> int:
    """Add `customers` to `features` in primary-key chunks (bounded memory). Customers in
    `changed_ids` are marked changed; those in `skip` are left out, and the added ones joined
    to it. Returns how many were added."""
    added = 0
    identifying = identifying_fields()
    for chunk in _chunks(customers):
        if skip is not None:
            chunk = [values for values in chunk if values["id"] not in skip]
            skip.update(values["id"] for values in chunk)
        ids = [values["id"] for values in chunk]
        external: dict[int, list[str]] = {}
        for customer_id, external_id in ExternalId.objects.filter(customer_id__in=ids).values_list(
            "customer_id", "external_id"
        ):
            external.setdefault(customer_id, []).append(external_id)
        for values in chunk:
            if identifying and values["custom"]:
                external.setdefault(values["id"], []).extend(
                    identifiers(identifying, values["custom"])
                )
        features.add(
            [
                feature_row(
                    values,
                    external.get(values["id"], ()),
                    changed=changed_ids is not None and values["id"] in changed_ids,
                )
                for values in chunk
            ]
        )
        added += len(chunk)
    return added


def _chunks(customers: QuerySet[Customer]) -> Iterator[list[dict[str, Any]]]:
    last = 0
    while True:
        chunk = list(customers.filter(pk__gt=last).order_by("pk").values(*SOURCE_FIELDS)[:CHUNK])
        if not chunk:
            return
        yield chunk
        last = chunk[-1]["id"]


def neighbours(changed: QuerySet[Customer]) -> Q:
    """Customers that share a blocking key with any of `changed` (linkage.BLOCKING_RULES):
    everything an incremental run must compare them against."""
    keys: dict[str, set] = {"phone": set(), "email": set(), "id_number_blind_index": set()}
    for values in changed.values(*keys):
        for key, value in values.items():
            if value:
                keys[key].add(value)
    external = ExternalId.objects.filter(
        external_id__in=ExternalId.objects.filter(customer__in=changed).values("external_id")
    ).values("customer_id")
    condition = Q(pk__in=external) | _sharing_identifiers(changed)
    for key, values in keys.items():
        if values:
            condition |= Q(**{f"{key}__in": sorted(values)})
    # Two-field blocks are looked up as pairs: a common name's key alone, or a birth date
    # alone, would take in a good part of all customers.
    for first, second in _PAIRED_BLOCKS:
        # Blank text never blocks (the features hold NULL for it); NULL dates never equal.
        same = changed.filter(**{first: OuterRef(first), second: OuterRef(second)})
        for field in (first, second):
            if field != "birth_date":
                same = same.exclude(**{field: ""})
        condition |= Q(Exists(same))
    return condition


def _sharing_identifiers(changed: QuerySet[Customer]) -> Q:
    """Customers holding an identifying custom value one of `changed` holds: one IN per field
    (a sealed value by its blind index)."""
    fields = identifying_fields()
    plain: dict[str, list[Any]] = {field.key: [] for field in fields}
    sealed: dict[str, list[str]] = {field.key: [] for field in fields}
    if fields:
        for custom in changed.exclude(custom={}).values_list("custom", flat=True):
            for key in plain:
                entry = custom.get(key)
                if is_sealed(entry):
                    sealed[key].append(entry["index"])
                elif entry is not None:
                    plain[key].append(entry)
    condition = Q(pk__in=[])
    for key in plain:
        if plain[key]:
            condition |= Q(**{f"custom__{key}__in": plain[key]})
        if sealed[key]:
            condition |= Q(**{f"custom__{key}__index__in": sealed[key]})
    return condition


# The blocking rules on two fields, by stored column (the city compared as stored).
_PAIRED_BLOCKS = (
    ("name_key", "birth_date"),
    ("name_key", "city"),
    ("name_key", "company_name"),
    ("birth_date", "city"),
    ("family_name", "birth_date"),
    ("given_name", "birth_date"),
    ("family_name", "postcode"),
    ("birth_date", "postcode"),
)
