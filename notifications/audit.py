from django.db import models
from django.utils.translation import gettext_lazy as _


class NotificationAction(models.TextChoices):
    PREFERENCE = "notification.preference", _("Notification preference changed")


ACTIONS = (NotificationAction,)
