"""Telling a subscription's owner that it was paused (as privacy/alerts.py mails security
alerts: by the worker once the pause is committed, directly when no broker answers)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from webhooks.models import PauseReason, Subscription

logger = logging.getLogger(__name__)


def queue_pause_notice(subscription_id: int) -> None:
    from kombu.exceptions import OperationalError

    from webhooks.tasks import mail_pause_notice

    try:
        mail_pause_notice.delay(subscription_id)
    except OperationalError:
        logger.warning(
            "broker unreachable, mailing webhook pause notice %s directly", subscription_id
        )
        mail_pause_notice(subscription_id)


def mail_pause_notice(subscription: Subscription) -> bool:
    """Mail the owner that the subscription is paused and why; False when they have no
    address (the subscriptions page shows the pause either way)."""
    address = subscription.owner.email
    if not address:
        logger.warning(
            "webhook subscription %s paused: its owner has no e-mail address", subscription.pk
        )
        return False
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Webhook paused: %(name)s") % {"name": subscription.name}
        body = "\n\n".join(
            [
                _("Deliveries to the webhook subscription “%(name)s” stopped: %(reason)s.")
                % {
                    "name": subscription.name,
                    "reason": PauseReason(subscription.paused_reason).label,
                },
                _("Its undelivered events are kept. Fix the receiver, then resume it on %(page)s")
                % {"page": reverse("webhooks:detail", args=[subscription.pk])},
            ]
        )
    send_mail(f"{settings.EMAIL_SUBJECT_PREFIX}{subject}", body, settings.SERVER_EMAIL, [address])
    return True
