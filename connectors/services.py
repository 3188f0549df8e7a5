"""Every write to connectors made by people (the pages): one transaction each, audited. The
secret a shop (or a system behind a generic webhook) signs with is entered here and never
shown again; a generic webhook's settings and field mapping are versioned. The worker's writes
are in connectors/deliveries.py and connectors/backfill.py."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.api_keys import create_service_account
from connectors.audit import ConnectorAction
from connectors.models import (
    Connector,
    DeliveryStatus,
    GenericFeed,
    InboundDelivery,
    Platform,
    SignatureScheme,
)
from connectors.platforms import adapter_for
from connectors.platforms.generic import clean_system_name
from connectors.secrets import seal
from customers.imports.jobs import known_fields, mapping_problems
from customers.models import ImportKind
from kernel.actors import Actor
from kernel.versioning import lock_version, next_version
from privacy import roles
from privacy.audit.recording import record_event

_MAX_SECRET = 500


def _clean_secret(secret: str) -> str:
    secret = secret.strip()
    if not secret:
        raise ValidationError({"secret": _("Enter the secret the shop signs its webhooks with.")})
    if len(secret) > _MAX_SECRET:
        raise ValidationError({"secret": _("This secret is too long.")})
    return secret


def _new_connector(
    *, actor: Actor, platform: str, name: str, shop_url: str, system_name: str, secret: str
) -> Connector:
    """A connector with its own service account (role "Shop connector") as whom its
    deliveries are written."""
    account = create_service_account(
        actor=actor,
        username=f"connector-{secrets.token_hex(5)}",
        groups=[Group.objects.get(name=roles.SHOP_CONNECTOR)],
    )
    connector = Connector(
        platform=platform,
        name=name.strip(),
        shop_url=shop_url,
        system_name=system_name,
        secret_encrypted=seal(_clean_secret(secret)),
        public_key=secrets.token_urlsafe(24),
        service_account=account,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    connector.full_clean()
    connector.save()
    return connector


@transaction.atomic
def create_connector(
    *, actor: Actor, platform: str, name: str, shop_url: str, secret: str
) -> Connector:
    """A connector for a shop, with its own service account (role "Shop connector") as whom
    its deliveries are written. Raises ValidationError (per field) for an address the
    platform does not use, a shop that has a connector already, or no secret. Audited
    (`connector.create`, without the secret)."""
    if platform not in Platform.values or platform == Platform.GENERIC:
        raise ValidationError({"platform": _("Choose a platform.")})
    adapter = adapter_for(platform)
    try:
        url = adapter.clean_shop_url(shop_url)
    except ValidationError as refused:
        raise ValidationError({"shop_url": refused.messages}) from refused
    system_name = adapter.system_name(url)
    if Connector.objects.filter(system_name=system_name).exists():
        raise ValidationError({"shop_url": _("This shop has a connector already.")})
    connector = _new_connector(
        actor=actor,
        platform=platform,
        name=name,
        shop_url=url,
        system_name=system_name,
        secret=secret,
    )
    record_event(
        actor=actor,
        action=ConnectorAction.CREATE,
        target=connector,
        changes={
            "platform": platform,
            "name": connector.name,
            "shop_url": url,
            "service_account": connector.service_account.get_username(),
        },
    )
    return connector


@transaction.atomic
def create_generic_connector(
    *,
    actor: Actor,
    name: str,
    system_name: str,
    kind: str,
    secret: str,
    signature_scheme: str = SignatureScheme.HMAC_SHA256_HEX,
    signature_header: str = "X-Signature",
    client_id: str = "",
) -> Connector:
    """A generic webhook for a system without a connector of its own: its deliveries hold
    records of `kind` (an ImportKind value), signed as `signature_scheme` says under `secret`;
    it applies nothing until its field mapping is saved (save_feed). Raises ValidationError
    (per field). Audited (`connector.create`, without the secret)."""
    try:
        system_name = clean_system_name(system_name)
    except ValidationError as refused:
        raise ValidationError({"system_name": refused.messages}) from refused
    if (
        Connector.objects.filter(system_name=system_name)
        .exclude(platform=Platform.GENERIC)
        .exists()
    ):
        raise ValidationError({"system_name": _("A shop's connector uses this name.")})
    connector = _new_connector(
        actor=actor,
        platform=Platform.GENERIC,
        name=name,
        shop_url="",
        system_name=system_name,
        secret=secret,
    )
    feed = GenericFeed(
        connector=connector,
        kind=ImportKind(kind),
        signature_scheme=SignatureScheme(signature_scheme),
        signature_header=signature_header.strip() or "X-Signature",
        client_id=client_id.strip(),
    )
    feed.full_clean()
    feed.save()
    record_event(
        actor=actor,
        action=ConnectorAction.CREATE,
        target=connector,
        changes={
            "platform": Platform.GENERIC.value,
            "name": connector.name,
            "system_name": system_name,
            "kind": feed.kind,
            "signature_scheme": feed.signature_scheme,
            "signature_header": feed.signature_header,
            "service_account": connector.service_account.get_username(),
        },
    )
    return connector


# What save_feed may change, besides the mapping.
FEED_SETTINGS = (
    "signature_scheme",
    "signature_header",
    "client_id",
    "records_key",
    "delivery_id_key",
    "delivery_id_header",
    "updated_at_key",
    "policy",
    "source_channel",
)


@transaction.atomic
def save_feed(
    *,
    actor: Actor,
    connector: Connector,
    keys: Sequence[str],
    mapping: Sequence[str],
    expected_version: int | None = None,
    **settings: Any,
) -> GenericFeed:
    """Save a generic webhook's field mapping — `mapping` has one import field (or IGNORE)
    per key of `keys`, the flattened keys of a sample — and its settings (FEED_SETTINGS).
    Deliveries applied from now on read it. Raises ValidationError with the import's own
    reasons (a field the kind needs that no key gives, a field given by two keys),
    kernel.versioning.EditConflictError when a colleague saved since `expected_version`.
    Audited (`connector.mapping`, old → new values: key names, never a payload's values)."""
    feed = GenericFeed.objects.get(connector=connector)
    lock_version(feed, expected_version=expected_version)
    fields = known_fields(feed.kind, mapping)
    errors = mapping_problems(feed.kind, fields, source_name=connector.system_name)
    if errors:
        raise ValidationError(errors)
    unknown = set(settings) - set(FEED_SETTINGS)
    if unknown:
        raise TypeError(f"not a generic webhook setting: {sorted(unknown)}")
    new_values: dict[str, Any] = {
        "mapping": {key: field for key, field in zip(keys, fields, strict=True) if field},
        "sample_keys": list(keys),
        **{name: str(value).strip() for name, value in settings.items()},
    }
    changes = _changed(feed, new_values)
    for name, value in new_values.items():
        setattr(feed, name, value)
    feed.full_clean(exclude=["connector"])
    changes.update(next_version(feed))
    feed.save()
    record_event(actor=actor, action=ConnectorAction.MAPPING, target=connector, changes=changes)
    return feed


def _changed(feed: GenericFeed, new_values: Mapping[str, Any]) -> dict[str, list[Any]]:
    changes = {}
    for name, value in new_values.items():
        if name != "sample_keys" and getattr(feed, name) != value:
            changes[name] = [getattr(feed, name), value]
    return changes


@transaction.atomic
def change_secret(*, actor: Actor, connector: Connector, secret: str) -> Connector:
    """Take the shop's new signing secret (after it was changed in the shop): deliveries
    signed with the old one are refused from now on. Audited (`connector.secret`, without
    either secret)."""
    connector = Connector.objects.select_for_update().get(pk=connector.pk)
    connector.secret_encrypted = seal(_clean_secret(secret))
    connector.secret_changed_at = timezone.now()
    connector.save(update_fields=["secret_encrypted", "secret_changed_at"])
    record_event(actor=actor, action=ConnectorAction.SECRET, target=connector)
    return connector


@transaction.atomic
def pause_connector(*, actor: Actor, connector: Connector) -> Connector:
    """Stop applying the shop's deliveries; they are still acknowledged and stored, and wait
    for the resume (a shop whose webhooks keep failing would stop sending them). Idempotent.
    Audited (`connector.pause`)."""
    connector = Connector.objects.select_for_update().get(pk=connector.pk)
    if not connector.is_paused:
        connector.paused_at = timezone.now()
        connector.save(update_fields=["paused_at"])
        record_event(actor=actor, action=ConnectorAction.PAUSE, target=connector)
    return connector


@transaction.atomic
def resume_connector(*, actor: Actor, connector: Connector) -> Connector:
    """Apply the shop's deliveries again, those that waited first. Idempotent. Audited
    (`connector.resume`)."""
    from connectors.deliveries import SWEEP_LIMIT
    from connectors.tasks import kick_delivery

    connector = Connector.objects.select_for_update().get(pk=connector.pk)
    if connector.is_paused:
        connector.paused_at = None
        connector.save(update_fields=["paused_at"])
        record_event(actor=actor, action=ConnectorAction.RESUME, target=connector)
        waiting = list(
            connector.deliveries.filter(status=DeliveryStatus.RECEIVED)
            .order_by("received_at", "pk")
            .values_list("pk", flat=True)[:SWEEP_LIMIT]
        )

        def kick_all() -> None:
            for delivery_id in waiting:
                kick_delivery(delivery_id)

        transaction.on_commit(kick_all)
    return connector


@transaction.atomic
def retry_delivery(*, actor: Actor, delivery: InboundDelivery) -> InboundDelivery:
    """Apply a failed delivery again (after its cause was fixed). Raises ValidationError when
    it did not fail, or when its body is no longer kept. Audited (`connector.retry`)."""
    from connectors.tasks import kick_delivery

    delivery = InboundDelivery.objects.select_for_update().get(pk=delivery.pk)
    if delivery.status != DeliveryStatus.FAILED:
        raise ValidationError(_("Only a failed delivery can be retried."))
    if delivery.body_cleared_at is not None:
        raise ValidationError(_("This delivery's content is no longer kept: it cannot be retried."))
    delivery.status = DeliveryStatus.RECEIVED
    delivery.attempts = 0
    delivery.note = ""
    delivery.save(update_fields=["status", "attempts", "note"])
    record_event(
        actor=actor,
        action=ConnectorAction.RETRY,
        target=delivery.connector,
        changes={"delivery": delivery.pk, "topic": delivery.topic},
    )
    delivery_id = delivery.pk
    transaction.on_commit(lambda: kick_delivery(delivery_id))
    return delivery
