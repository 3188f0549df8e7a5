"""The audit actions the webhooks app records (registered in webhooks/apps.py; see
privacy/audit/actions.py). Never rename a code: events keep it."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class WebhookAction(models.TextChoices):
    CREATE = "webhook.create", _("Webhook subscription created")
    UPDATE = "webhook.update", _("Webhook subscription changed")
    ROTATE = "webhook.rotate", _("Webhook signing secret rotated")
    PAUSE = "webhook.pause", _("Webhook subscription paused")
    RESUME = "webhook.resume", _("Webhook subscription resumed")
    DELETE = "webhook.delete", _("Webhook subscription deleted")
    REPLAY = "webhook.replay", _("Webhook delivery sent again")
