"""The audit actions interactions records (registered in interactions/apps.py; see
privacy/audit/actions.py). The codes are those stored since the first events: never rename
one."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TransactionAction(models.TextChoices):
    CREATE = "transaction.create", _("Order recorded")
    # The source system reported a refund or cancellation of an order recorded before.
    REVISE = "transaction.revise", _("Order's status or amount changed by its source")


class InteractionAction(models.TextChoices):
    CREATE = "interaction.create", _("Interaction logged")
    REVEAL_CUSTOM = (
        "interaction.reveal_custom",
        _("Sensitive custom value of an interaction revealed"),
    )


class FollowUpAction(models.TextChoices):
    CREATE = "follow_up.create", _("Follow-up scheduled")
    UPDATE = "follow_up.update", _("Follow-up changed")
    DONE = "follow_up.done", _("Follow-up done")


class ProductAction(models.TextChoices):
    # privacy.audit.recording.save_reference_record's codes, and customers/resources.py's.
    CREATE = "product.create", _("Product created")
    UPDATE = "product.update", _("Product changed")
    ADMIN_EXPORT = "product.admin_export", _("Products exported from admin")
    ADMIN_IMPORT = "product.admin_import", _("Products imported in admin")


ACTIONS = (TransactionAction, InteractionAction, FollowUpAction, ProductAction)
