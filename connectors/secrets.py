"""A connector's signing secret: what the shop signs its webhooks with, entered once by an
administrator and stored only encrypted (privacy/crypto.py), under a context of its own."""

from __future__ import annotations

from connectors.models import Connector
from privacy import crypto

# privacy/crypto.py's context of the stored secrets (a label, not a secret).
SECRET_CONTEXT = "connectors.connector.secret"  # noqa: S105


def seal(secret: str) -> str:
    return crypto.encrypt(secret, context=SECRET_CONTEXT)


def signing_secret(connector: Connector) -> str:
    return crypto.decrypt(connector.secret_encrypted, context=SECRET_CONTEXT)
