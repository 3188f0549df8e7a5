"""Signatures per the Standard Webhooks specification (standardwebhooks.com): the signed
content is "{webhook-id}.{webhook-timestamp}.{body}", signed with HMAC-SHA256 under the secret's
bytes (the base64 after "whsec_"), sent as "v1,<base64 signature>"; while a rotated-out secret
is still valid the header holds both signatures, space-separated."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"  # noqa: S105 (the specification's prefix, not a secret)
# The specification asks for 24 to 64 random bytes.
_SECRET_BYTES = 32
# privacy/crypto.py's context of the stored secrets.
SECRET_CONTEXT = "webhooks.subscription.secret"  # noqa: S105 (a label)


def new_secret() -> str:
    """A fresh signing secret, in the form receivers' libraries expect: whsec_ + base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode()


def signature(secret: str, *, message_id: str, timestamp: int, body: str) -> str:
    """One "v1,<base64>" signature of a message under one secret."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    content = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(
    secrets_in_use: Sequence[str], *, message_id: str, timestamp: int, body: str
) -> str:
    """The webhook-signature header: one signature per live secret, newest first."""
    return " ".join(
        signature(secret, message_id=message_id, timestamp=timestamp, body=body)
        for secret in secrets_in_use
    )
