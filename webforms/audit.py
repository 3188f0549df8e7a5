"""The audit actions the web forms app records (registered in webforms/apps.py; see
privacy/audit/actions.py). Never rename a code: events keep it. What a submission writes is
audited by the import's door (`import.bulk_upsert`) and the consent ledger (`consent.*`)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class WebFormAction(models.TextChoices):
    CREATE = "webform.create", _("Web form created")
    UPDATE = "webform.update", _("Web form changed")
    DEACTIVATE = "webform.deactivate", _("Web form switched off")
    ACTIVATE = "webform.activate", _("Web form switched on")
