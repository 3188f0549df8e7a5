"""The audit log: who did what to which record, when and from where."""

from django.conf import settings
from django.db import models
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
