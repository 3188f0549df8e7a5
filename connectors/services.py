"""Every write to connectors made by people (the pages): one transaction each, audited. The
secret a shop signs with is entered here and never shown again; the worker's writes are in
connectors/deliveries.py and connectors/backfill.py."""

from __future__ import annotations

import secrets

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.api_keys import create_service_account
from connectors.audit import ConnectorAction
from connectors.models import Connector, DeliveryStatus, InboundDelivery, Platform
from connectors.platforms import adapter_for
from connectors.secrets import seal
from kernel.actors import Actor
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


@transaction.atomic
def create_connector(
    *, actor: Actor, platform: str, name: str, shop_url: str, secret: str
) -> Connector:
    """A connector for a shop, with its own service account (role "Shop connector") as whom
    its deliveries are written. Raises ValidationError (per field) for an address the
    platform does not use, a shop that has a connector already, or no secret. Audited
    (`connector.create`, without the secret)."""
    if platform not in Platform.values:
        raise ValidationError({"platform": _("Choose a platform.")})
    adapter = adapter_for(platform)
    try:
        url = adapter.clean_shop_url(shop_url)
    except ValidationError as refused:
        raise ValidationError({"shop_url": refused.messages}) from refused
    system_name = adapter.system_name(url)
    if Connector.objects.filter(system_name=system_name).exists():
        raise ValidationError({"shop_url": _("This shop has a connector already.")})
    account = create_service_account(
        actor=actor,
        username=f"connector-{secrets.token_hex(5)}",
        groups=[Group.objects.get(name=roles.SHOP_CONNECTOR)],
    )
    connector = Connector(
        platform=platform,
        name=name.strip(),
        shop_url=url,
        system_name=system_name,
        secret_encrypted=seal(_clean_secret(secret)),
        public_key=secrets.token_urlsafe(24),
        service_account=account,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    connector.full_clean()
    connector.save()
    record_event(
        actor=actor,
        action=ConnectorAction.CREATE,
        target=connector,
        changes={
            "platform": platform,
            "name": connector.name,
            "shop_url": url,
            "service_account": account.get_username(),
        },
    )
    return connector


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
