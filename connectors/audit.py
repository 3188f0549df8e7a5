"""The audit actions the connectors app records (registered in connectors/apps.py; see
privacy/audit/actions.py). Never rename a code: events keep it."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ConnectorAction(models.TextChoices):
    CREATE = "connector.create", _("Shop connector created")
    MAPPING = "connector.mapping", _("Generic webhook's settings and field mapping saved")
    SECRET = "connector.secret", _("Shop connector's signing secret changed")
    PAUSE = "connector.pause", _("Shop connector paused")
    RESUME = "connector.resume", _("Shop connector resumed")
    RETRY = "connector.retry", _("Shop delivery applied again")
    BACKFILL = "connector.backfill", _("Shop export loaded")
