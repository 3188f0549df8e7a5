"""Links that let a customer act on their own data without an account: their privacy page
(see what they agreed to, withdraw, ask for a copy or erasure) and one-click unsubscribe
(RFC 8058), carried by every confirmation and marketing message.

A link names the customer only encrypted (privacy/crypto.py, its own context) inside a
signed, dated token: the address shows no record number, a token for one customer cannot be
turned into another's, and it expires after PRIVACY_LINK_DAYS. A token is refused once the
record it names is merged away or erased; `subject_for` follows a merge to the survivor."""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.core import signing
from django.db.models import Model
from django.urls import reverse

from privacy.crypto import DecryptionError, decrypt, encrypt
from privacy.models import ConsentPurpose
from privacy.registry import data_subject

_CONTEXT = "privacy-page-link"
_SALT = "privacy.portal.links"


class InvalidLinkError(Exception):
    """The link was altered, has expired, or names no current customer."""


def subject_token(customer: Model, purpose: str = "") -> str:
    """A token for `customer`'s privacy page, or, with a marketing `purpose`, for
    unsubscribing from it."""
    if purpose:
        ConsentPurpose(purpose)
    sealed = encrypt(str(customer.pk), context=_CONTEXT)
    return signing.dumps({"s": sealed, "p": purpose}, salt=_SALT, compress=True)


def read_token(token: str, *, max_age: datetime.timedelta | None = None) -> tuple[Model, str]:
    """The current customer and purpose a token names. Raises InvalidLinkError."""
    age = max_age or datetime.timedelta(days=settings.PRIVACY_LINK_DAYS)
    try:
        payload: Any = signing.loads(token, salt=_SALT, max_age=age)
        pk = int(decrypt(payload["s"], context=_CONTEXT))
        purpose = str(payload.get("p", ""))
    except (signing.BadSignature, DecryptionError, KeyError, TypeError, ValueError):
        raise InvalidLinkError from None
    customer = data_subject().survivor(pk)
    if customer is None:
        raise InvalidLinkError
    return customer, purpose


def privacy_page_url(customer: Model) -> str:
    """The absolute address of `customer`'s privacy page, for a mail."""
    return settings.SITE_URL + reverse("privacy-page", args=[subject_token(customer)])


def unsubscribe_url(customer: Model, purpose: str = ConsentPurpose.EMAIL) -> str:
    """The absolute address that withdraws `purpose` for `customer` (a GET asks to confirm,
    a POST withdraws: RFC 8058's one click)."""
    return settings.SITE_URL + reverse(
        "privacy-unsubscribe", args=[subject_token(customer, purpose)]
    )


def marketing_headers(customer: Model, purpose: str = ConsentPurpose.EMAIL) -> dict[str, str]:
    """The headers of a marketing mail to `customer`: List-Unsubscribe with the one-click
    address and List-Unsubscribe-Post (RFC 8058), so mail programs offer unsubscribing."""
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(customer, purpose)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
