"""The audit actions customers records (registered in customers/apps.py; see
privacy/audit/actions.py). The codes are those stored since the first events: never rename
one."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CustomerAction(models.TextChoices):
    CREATE = "customer.create", _("Customer created")
    UPDATE = "customer.update", _("Customer changed")
    ARCHIVE = "customer.archive", _("Customer archived")
    RESTORE = "customer.restore", _("Customer restored from the archive")
    TAGS = "customer.tags", _("Customer's tags changed")
    EXTERNAL_ID = "customer.external_id", _("External id linked to a customer")
    REVEAL_ID = "customer.reveal_id", _("Identity number shown in full")
    REVEAL_CUSTOM = "customer.reveal_custom", _("Sensitive custom value shown in full")
    VIEW_PERSONAL = "customer.view_personal", _("Customer's personal data shown unmasked")
    MERGE = "customer.merge", _("Customers merged")
    MERGED_INTO = "customer.merged_into", _("Customer merged into another")
    UNMERGE = "customer.unmerge", _("Merge undone")
    # customers/resources.py: the model's name, then admin_export or admin_import.
    ADMIN_EXPORT = "customer.admin_export", _("Customers exported from admin")
    ADMIN_IMPORT = "customer.admin_import", _("Customers imported in admin")


class ContactAction(models.TextChoices):
    CREATE = "contact.create", _("Contact added")
    UPDATE = "contact.update", _("Contact changed")
    DELETE = "contact.delete", _("Contact removed")


class TagAction(models.TextChoices):
    # privacy.audit.recording.save_reference_record's codes: the model's name, then the step.
    CREATE = "tag.create", _("Tag created")
    UPDATE = "tag.update", _("Tag changed")


class SavedViewAction(models.TextChoices):
    SAVE = "saved_view.save", _("Saved view saved")
    DELETE = "saved_view.delete", _("Saved view deleted")


class DuplicatesAction(models.TextChoices):
    NOT_DUPLICATES = "duplicates.not_duplicates", _("Customers marked as not duplicates")
    BULK_MERGE = "duplicates.bulk_merge", _("Bulk merge of duplicates queued")


class ImportAction(models.TextChoices):
    UPLOAD = "import.upload", _("Import file uploaded")
    START = "import.start", _("Import started")
    REPORT = "import.report", _("Import report downloaded")
    BULK_UPSERT = "import.bulk_upsert", _("Records written in bulk through the API")


class CustomFieldAction(models.TextChoices):
    CREATE = "custom_field.create", _("Custom field defined")
    UPDATE = "custom_field.update", _("Custom field changed")
    ARCHIVE = "custom_field.archive", _("Custom field archived")
    RESTORE = "custom_field.restore", _("Custom field restored from the archive")


ACTIONS = (
    CustomerAction,
    CustomFieldAction,
    ContactAction,
    TagAction,
    SavedViewAction,
    DuplicatesAction,
    ImportAction,
)
