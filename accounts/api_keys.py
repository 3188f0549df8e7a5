"""API keys: made by an administrator, shown once, stored as a digest, bound to a service
account whose groups decide what the key may do; expiry, last use, revocation; creating,
revoking and the first use from a new address are audited. A key never reaches a log: it
travels only in the Authorization header, which no log here records (crm/log_filters.py).

A key reads `crm_<prefix>_<secret>`: the prefix finds the row, the digest of the whole key
proves it. The secret has 256 bits, so a plain SHA-256 digest cannot be searched backwards
the way a password's could; a slow hash would only slow every request."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import (
    BaseAuthentication,
    SessionAuthentication,
    get_authorization_header,
)
from rest_framework.request import Request

from accounts import two_factor
from accounts.audit import AccountAction
from accounts.models import ApiKey
from kernel.actors import Actor
from privacy.audit.recording import record_event

KEY_PREFIX = "crm_"
# Last use is written at most this often: not one UPDATE per request.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)
KNOWN_ADDRESSES_KEPT = 50

INVALID_KEY = _("The API key is unknown, revoked or expired.")


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    # The key itself, to show once: nowhere else holds it.
    secret: str


def digest_of(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def create_service_account(*, actor: Actor, username: str, groups: Iterable[Group]) -> Any:
    """A user for an integration: no password (it cannot sign in to the pages), in `groups`
    (its role). Audited."""
    account = get_user_model()(username=username, is_active=True)
    account.set_unusable_password()
    account.full_clean(exclude=["password"])
    account.save()
    account.groups.set(groups)
    record_event(
        actor=actor,
        action=AccountAction.SERVICE_ACCOUNT_CREATED,
        target=account,
        changes={"groups": sorted(group.name for group in groups)},
    )
    return account


@transaction.atomic
def create_api_key(
    *, actor: Actor, account: Any, name: str, expires_at: datetime.datetime | None = None
) -> NewKey:
    """A new key for `account`; the returned secret is the only copy. Audited."""
    prefix = secrets.token_hex(4)
    secret = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        account=account,
        name=name,
        prefix=prefix,
        digest=digest_of(secret),
        created_by=actor,
        expires_at=expires_at,
    )
    record_event(
        actor=actor,
        action=AccountAction.API_KEY_CREATED,
        target=key,
        changes={
            "account": account.get_username(),
            "name": name,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return NewKey(key=key, secret=secret)


@transaction.atomic
def revoke_api_key(*, actor: Actor, key: ApiKey) -> ApiKey:
    """Stop `key` from working, at once. Idempotent; audited the first time."""
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        record_event(actor=actor, action=AccountAction.API_KEY_REVOKED, target=key)
    return key


def api_keys() -> QuerySet[ApiKey]:
    """Every key, newest first, with its account's roles and its maker loaded (the keys
    page)."""
    return ApiKey.objects.select_related("account", "created_by").prefetch_related(
        "account__groups"
    )


def service_accounts() -> QuerySet[Any]:
    """The accounts that hold a key: those made for an integration on the keys page."""
    return (
        get_user_model()
        .objects.filter(api_keys__isnull=False)
        .prefetch_related("groups")
        .distinct()
        .order_by("username")
    )


def key_for(secret: str) -> ApiKey | None:
    """The usable key `secret` is, or None (unknown, revoked, expired, inactive account)."""
    if not secret.startswith(KEY_PREFIX) or secret.count("_") < 2:
        return None
    prefix = secret[len(KEY_PREFIX) :].split("_", 1)[0]
    key = ApiKey.objects.select_related("account").filter(prefix=prefix).first()
    if key is None or not hmac.compare_digest(key.digest, digest_of(secret)):
        return None
    if not key.is_usable or not key.account.is_active:
        return None
    return key


def note_use(key: ApiKey, *, address: str | None) -> None:
    """Record that `key` was used now from `address`; the first use from an address is
    audited (a key used from somewhere new may have leaked)."""
    now = timezone.now()
    new_address = bool(address) and address not in key.known_addresses
    if not new_address and key.last_used_at and now - key.last_used_at < LAST_USED_RESOLUTION:
        return
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().get(pk=key.pk)
        key.last_used_at = now
        fields = ["last_used_at"]
        if address and address not in key.known_addresses:
            key.known_addresses = [*key.known_addresses, address][-KNOWN_ADDRESSES_KEPT:]
            fields.append("known_addresses")
            record_event(
                actor=key.account,
                action=AccountAction.API_KEY_NEW_ADDRESS,
                target=key,
                changes={"address": address},
            )
        key.save(update_fields=fields)


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer crm_…`: the request acts as the key's service account, and
    `request.auth` is the key."""

    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[Any, ApiKey] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(INVALID_KEY)
        try:
            secret = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(INVALID_KEY) from None
        key = key_for(secret)
        if key is None:
            raise exceptions.AuthenticationFailed(INVALID_KEY)
        note_use(key, address=request.META.get("REMOTE_ADDR"))
        return key.account, key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class VerifiedSessionAuthentication(SessionAuthentication):
    """The pages' own session, with CSRF, once it passed two-factor authentication where the
    user needs it (the API answers outside accounts' two-factor middleware)."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        user = result[0]
        if not user.is_verified() and (
            request._request.session.get(two_factor.HAS_AUTHENTICATOR)
            or two_factor.two_factor_required(user)
        ):
            return None
        return result


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """The schema's description of ApiKeyAuthentication (drf-spectacular)."""

    target_class = "accounts.api_keys.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key made on the API keys page: `Bearer crm_…`.",
        }


class VerifiedSessionScheme(SessionScheme):
    target_class = "accounts.api_keys.VerifiedSessionAuthentication"
