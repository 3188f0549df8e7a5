"""The audit log (who did what to which record, when and from where), the consent ledger
and the privacy policy versions."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditChannel(models.TextChoices):
    WEB = "web", _("Web app")
    ADMIN = "admin", _("Admin site")
    COMMAND = "command", _("Command line")
    TASK = "task", _("Background job")
    SYSTEM = "system", _("System")


class AuditEvent(models.Model):
    occurred_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The username at the time, so the trail survives renaming or deleting the account.
    actor_label = models.CharField(_("user name"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=60, db_index=True)
    target_type = models.CharField(_("object type"), max_length=60, blank=True)
    target_id = models.CharField(_("object id"), max_length=40, blank=True)
    # {"field": [old, new]} with sensitive values already masked, or extra facts for the action.
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=200, blank=True)
    via = models.CharField(_("channel"), max_length=20, choices=AuditChannel.choices, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [
            models.Index(fields=["target_type", "target_id"], name="audit_target_idx"),
            models.Index(fields=["actor", "-occurred_at"], name="audit_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"


class ConsentPurpose(models.TextChoices):
    """What a customer may consent to. The three marketing channels are also kept on the
    customer as current status (consent_email, ...), which lists and segments filter on."""

    EMAIL = "marketing_email", _("Marketing by email")
    SMS = "marketing_sms", _("Marketing by SMS")
    PHONE = "marketing_phone", _("Marketing by phone")
    PROFILING = "profiling", _("Profiling (analysis of purchases and behaviour)")
    THIRD_PARTIES = "third_parties", _("Sharing with third parties")
    SENSITIVE = "sensitive_data", _("Processing of sensitive data (identity number)")


class ConsentSource(models.TextChoices):
    FORM = "form", _("Web form")
    IMPORT = "import", _("Import")
    STAFF = "staff", _("Staff")
    API = "api", _("API")


class PrivacyPolicy(models.Model):
    """A version of the privacy policy customers agree to; the one in force on a day is the
    latest whose effective date has come."""

    version = models.CharField(_("version"), max_length=40, unique=True)
    effective_from = models.DateField(_("effective from"))
    summary = models.TextField(_("what changed"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-effective_from", "-pk"]
        verbose_name = _("privacy policy version")
        verbose_name_plural = _("privacy policy versions")

    def __str__(self) -> str:
        return self.version


class ConsentRecord(models.Model):
    """One entry of the consent ledger: a purpose granted or withdrawn, when, through what,
    with what evidence, under which policy version. Entries are only ever added; the
    customer's current status is the newest entry per purpose."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="consent_records",
    )
    purpose = models.CharField(_("purpose"), max_length=20, choices=ConsentPurpose.choices)
    granted = models.BooleanField(_("granted"))
    recorded_at = models.DateTimeField(_("when"), default=timezone.now)
    source = models.CharField(_("through"), max_length=10, choices=ConsentSource.choices)
    evidence = models.TextField(_("evidence"), blank=True)
    policy = models.ForeignKey(
        PrivacyPolicy,
        verbose_name=_("policy version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-recorded_at", "-pk"]
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        indexes = [
            models.Index(fields=["customer", "purpose", "-recorded_at"], name="consent_current_idx")
        ]

    def __str__(self) -> str:
        return f"{self.purpose} {'granted' if self.granted else 'withdrawn'}"
