"""The audit actions sales records (registered in sales/apps.py; see privacy/audit/actions.py).
The codes are stored with the events: never rename one."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PoolAction(models.TextChoices):
    RULES = "pool.rules", _("Shared pool's rules changed")
    CLAIM = "pool.claim", _("Customer claimed from the shared pool")
    RELEASE = "pool.release", _("Customer returned to the shared pool")
    AUTO_RELEASE = "pool.auto_release", _("Idle customers returned to the shared pool")


ACTIONS = (PoolAction,)
