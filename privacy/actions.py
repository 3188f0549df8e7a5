"""The audit actions privacy records itself (registered in privacy/apps.py; see
privacy/audit/actions.py). The codes are those stored since the first events: never rename
one."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class SignInAction(models.TextChoices):
    LOGIN = "auth.login", _("Signed in")
    LOGOUT = "auth.logout", _("Signed out")
    LOGIN_FAILED = "auth.login_failed", _("Sign-in failed")


class UserAction(models.TextChoices):
    CREATE = "user.create", _("User account created")
    UPDATE = "user.update", _("User account's access changed")
    DELETE = "user.delete", _("User account deleted")
    GROUPS = "user.groups", _("User account's roles changed")
    PERMISSIONS = "user.permissions", _("User account's permissions changed")
    GROUP_PERMISSIONS = "group.permissions", _("Role's permissions changed")


class AuditLogAction(models.TextChoices):
    EXPORT_START = "audit.export_start", _("Audit log export started")
    EXPORT = "audit.export", _("Audit log exported")


class AlertAction(models.TextChoices):
    ACKNOWLEDGE = "alert.acknowledge", _("Security alert acknowledged")


class KeyAction(models.TextChoices):
    ROTATE = "keys.rotate", _("Encryption keys rotated")


class ConsentAction(models.TextChoices):
    GRANT = "consent.grant", _("Consent given")
    WITHDRAW = "consent.withdraw", _("Consent withdrawn")


class SubjectRequestAction(models.TextChoices):
    CREATE = "subject_request.create", _("Data-subject request logged")
    VERIFY = "subject_request.verify", _("Data-subject request: identity verified")
    COPY_REQUEST = "subject_request.copy_request", _("Data-subject request: copy asked for")
    # Recorded before copies were jobs of their own (subject_copy.done since): older events.
    COPY_PREPARED = "subject_request.copy_prepared", _("Data-subject request: copy prepared")
    COPY_DOWNLOAD = "subject_request.copy_download", _("Data-subject request: copy downloaded")
    CORRECT = "subject_request.correct", _("Data-subject request: profile corrected")
    COMPLETE = "subject_request.complete", _("Data-subject request completed")
    REJECT = "subject_request.reject", _("Data-subject request rejected")


class DataSubjectAction(models.TextChoices):
    """What privacy does to the data subject's record (customers.Customer, hence the code)."""

    ERASE_ON_REQUEST = "customer.erase.request", _("Customer anonymised on request")
    ERASE_AFTER_RETENTION = (
        "customer.erase.retention",
        _("Customer anonymised at the end of the retention period"),
    )
    RESTRICT = "customer.restrict", _("Processing of the customer's data restricted")
    LIFT_RESTRICTION = "customer.restriction_lifted", _("Restriction of processing lifted")


class PrivacyPolicyAction(models.TextChoices):
    # save_reference_record's codes: the model's name, then create or update.
    CREATE = "privacypolicy.create", _("Privacy policy version published")
    UPDATE = "privacypolicy.update", _("Privacy policy version corrected")


class RetentionPolicyAction(models.TextChoices):
    # Retention policies are created with the database (privacy.retention.ensure_policies),
    # only ever changed by people.
    UPDATE = "retentionpolicy.update", _("Retention policy changed")


ACTIONS = (
    SignInAction,
    UserAction,
    AuditLogAction,
    AlertAction,
    KeyAction,
    ConsentAction,
    SubjectRequestAction,
    DataSubjectAction,
    PrivacyPolicyAction,
    RetentionPolicyAction,
)
