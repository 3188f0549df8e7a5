"""The audit action of the demo data (registered in demo/apps.py; see
privacy/audit/actions.py)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class DemoAction(models.TextChoices):
    SEED = "demo.seed", _("Demo data loaded")
