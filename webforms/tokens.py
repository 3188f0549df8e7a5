"""The two tokens of a web form.

The form token replaces the session's CSRF token, which a page on another site cannot carry:
a TimestampSigner value binding the form's public key and version to the moment it was issued.
It proves that the submission comes from the form as it stands (an edit makes older pages
fetch a fresh one) and gives the minimum time to fill it in.

The confirmation token is random (256 bits) and mailed once; only its SHA-256 is stored, so
the table cannot be read for working links."""

from __future__ import annotations

import datetime
import hashlib
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.utils import timezone

_SALT = "webforms.form-token"


@dataclass(frozen=True)
class FormToken:
    key: str
    version: int
    issued_at: datetime.datetime


def issue_form_token(key: str, version: int) -> str:
    return signing.TimestampSigner(salt=_SALT).sign_object({"k": key, "v": version})


def read_form_token(token: str, *, key: str, version: int) -> FormToken | None:
    """The token's form and moment when it is genuine, younger than WEBFORMS_TOKEN_HOURS and
    for this form's current version; None otherwise (the visitor is shown a fresh page)."""
    signer = signing.TimestampSigner(salt=_SALT)
    max_age = datetime.timedelta(hours=settings.WEBFORMS_TOKEN_HOURS)
    try:
        payload = signer.unsign_object(token, max_age=max_age)
        # Genuine, so its middle part is the moment the signer wrote.
        issued = signing.b62_decode(token.rsplit(signer.sep, 2)[1])
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(payload, dict) or payload.get("k") != key or payload.get("v") != version:
        return None
    return FormToken(key, version, datetime.datetime.fromtimestamp(issued, tz=datetime.UTC))


def seconds_since(token: FormToken) -> float:
    return (timezone.now() - token.issued_at).total_seconds()


def new_confirmation_token() -> str:
    return secrets.token_urlsafe(32)


def digest_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
