"""What a web form may ask: the customer fields a visitor can fill (the customer import's own
fields, so that the door cleans them as it cleans a file's cells) and the consents it may ask
for. Pure: no database."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils import translation

from customers.imports.mapping import CUSTOMER_FIELDS, ImportField
from privacy.consent import MARKETING_CHANNELS
from privacy.models import ConsentPurpose

# The form's two languages: its labels and texts are kept in each.
LANGUAGES = ("en", "zh-hans")
# Language code → the suffix of the form's text keys (label_en, text_zh, thank_you_zh).
SUFFIXES = {"en": "en", "zh-hans": "zh"}

# The import's fields a person fills in about themselves, in the order a form shows them.
# Not offered: ids of other systems, the identity number (sensitive data is not collected by
# a public form), and what staff decide (stage, grade, tags, owner, source, consents).
OFFERED_KEYS = (
    "name",
    "family_name",
    "given_name",
    "gender",
    "birth_date",
    "phone",
    "email",
    "company_name",
    "industry",
    "website",
    "country",
    "province",
    "city",
    "district",
    "street",
    "postcode",
    "notes",
)
_BY_KEY = {field.key: field for field in CUSTOMER_FIELDS}
OFFERED_FIELDS: tuple[ImportField, ...] = tuple(_BY_KEY[key] for key in OFFERED_KEYS)

# Consents a form may ask for. Sensitive data is never collected by a form, so not its consent.
OFFERED_PURPOSES = tuple(
    purpose for purpose in ConsentPurpose if purpose != ConsentPurpose.SENSITIVE
)


def needs_confirmation(purpose: str) -> bool:
    """Marketing consents count only once the person confirms them by the mailed link (double
    opt-in); the others are recorded with the submission."""
    return purpose in MARKETING_CHANNELS


def consent_field_name(purpose: str) -> str:
    return f"consent_{purpose}"


def default_label(key: str, language: str) -> str:
    with translation.override(language):
        return str(_BY_KEY[key].label)


def purpose_label(purpose: str, language: str) -> str:
    with translation.override(language):
        return str(ConsentPurpose(purpose).label)


def text_in(entry: dict[str, Any], prefix: str, language: str) -> str:
    """An entry's text in `language` (`prefix`_en / `prefix`_zh), the other language's when
    that one is empty."""
    own = entry.get(f"{prefix}_{SUFFIXES.get(language, 'en')}", "")
    if own:
        return own
    texts = (entry.get(f"{prefix}_{suffix}", "") for suffix in SUFFIXES.values())
    return next((text for text in texts if text), "")


@dataclass(frozen=True)
class ShownField:
    """A field as the visitor sees it, in one language."""

    key: str
    label: str
    required: bool


def shown_fields(entries: Iterable[dict[str, Any]], language: str) -> list[ShownField]:
    return [
        ShownField(
            entry["key"],
            text_in(entry, "label", language) or default_label(entry["key"], language),
            bool(entry.get("required")),
        )
        for entry in entries
        if entry.get("key") in _BY_KEY
    ]
