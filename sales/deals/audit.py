"""The audit actions deals record (registered in sales/apps.py; see privacy/audit/actions.py).
The codes are stored in events: never rename one."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class DealAction(models.TextChoices):
    CREATED = "deal.create", _("Deal created")
    UPDATED = "deal.update", _("Deal updated")
    STAGE_CHANGED = "deal.stage", _("Deal moved to another stage")
    WON = "deal.won", _("Deal won")
    LOST = "deal.lost", _("Deal lost")
    REOPENED = "deal.reopen", _("Deal reopened")
    EXPORTED = "deal.export", _("Deals exported")
    REVEAL_CUSTOM = "deal.reveal_custom", _("Sensitive custom value of a deal revealed")
    PIPELINE_SAVED = "pipeline.save", _("Pipeline saved")
    STAGE_SAVED = "pipeline.stage_save", _("Pipeline stage saved")
