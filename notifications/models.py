"""What the bell in the top bar lists: one row per thing a person should know of."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class NotificationKind(models.TextChoices):
    """Why a person is told. Stored as text without database choices, so that a new kind needs
    no migration."""

    FOLLOW_UP_ASSIGNED = "follow_up.assigned", _("Follow-up assigned to you")
    FOLLOW_UP_DUE = "follow_up.due", _("Follow-up due")
    CUSTOMER_MERGED = "customer.merged", _("Customer you own merged")
    MENTIONED = "mention", _("You were mentioned")
    POOL_RELEASE_WARNING = "pool.warning", _("Customer about to return to the pool")
    POOL_RELEASED = "pool.released", _("Customer returned to the pool")


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(_("kind"), max_length=40)
    message = models.CharField(_("message"), max_length=300)
    # A path inside the product (never an outside address): where the notification leads.
    url = models.CharField(_("link"), max_length=300, blank=True)
    # The customer it is about, if any: erasing or deleting the customer removes it.
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    # Makes a notification that must be sent once (a follow-up falling due) idempotent: a
    # retried task finds the row and sends nothing more.
    once_key = models.CharField(max_length=100, null=True, blank=True, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    # When the daily digest mail carried it (null: not yet, or the person takes no digest).
    digested_at = models.DateTimeField(_("sent in a digest"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["recipient", "read_at", "-created_at"], name="notification_inbox_idx"
            )
        ]

    def __str__(self) -> str:
        return self.message


class NotificationPreference(models.Model):
    """How a person wants to be told besides the bell. No row: the defaults (no digest)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notification_preference",
    )
    daily_digest = models.BooleanField(
        _("daily digest mail"),
        default=False,
        help_text=_("Every morning, a mail with your unread notifications and the follow-ups due."),
    )
    # The local day the last digest went out: a retried digest task sends nothing twice.
    last_digest_on = models.DateField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self) -> str:
        return str(self.user)
