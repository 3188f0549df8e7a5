from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kernel.free_text import validate_readable_text


class PauseReason(models.TextChoices):
    BY_HAND = "by_hand", _("Paused by an administrator")
    FAILING = "failing", _("Every delivery failed for a day")
    GONE = "gone", _("The receiver answered 410 Gone: it wants no more deliveries")


class Subscription(models.Model):
    """Another system's URL, told of the events (kernel/outbox.py topics) it chose. What it is
    sent is masked with the permissions of its service account, as that account's API key
    would be answered."""

    name = models.CharField(_("name"), max_length=100, validators=[validate_readable_text])
    target_url = models.URLField(
        _("target URL"), max_length=500, validators=[validate_readable_text]
    )
    topics = models.JSONField(_("events"), default=list)
    service_account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("service account"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Payloads are masked and scoped with this account's permissions."),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Told by mail when the subscription is paused for failing."),
    )
    # Signing secrets (whsec_...), encrypted at rest (privacy/crypto.py). After a rotation the
    # previous one signs too until previous_secret_expires_at, so receivers can switch over.
    secret_encrypted = models.TextField(editable=False)
    previous_secret_encrypted = models.TextField(blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    paused_reason = models.CharField(
        _("why paused"), max_length=10, choices=PauseReason.choices, blank=True
    )
    paused_at = models.DateTimeField(_("paused"), null=True, blank=True)
    # The first failure since the last success: a day of failures pauses the subscription.
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["name", "pk"]
        permissions = [("manage_webhooks", _("Manage webhook subscriptions"))]

    def __str__(self) -> str:
        return self.name


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Given up")


class Delivery(models.Model):
    """One event for one subscription: the exact body sent (masked for the subscription when
    the event was relayed), and how its attempts went."""

    subscription = models.ForeignKey(
        Subscription,
        verbose_name=_("subscription"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    event = models.ForeignKey(
        "kernel.OutboxEvent", verbose_name=_("event"), on_delete=models.CASCADE, related_name="+"
    )
    topic = models.CharField(_("event"), max_length=60)
    body = models.TextField(_("body"))
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    last_duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    # The start of the receiver's answer (DELIVERY_RESPONSE_CHARS), or why there was none.
    last_response = models.TextField(_("response"), blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    # A replay: the delivery it sends again.
    replay_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-pk"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="webhook_delivery_due",
            ),
            models.Index(fields=["subscription", "-id"], name="webhook_delivery_log"),
            # The nightly retention's search for deliveries past WEBHOOKS_LOG_DAYS.
            models.Index(fields=["created_at"], name="webhook_delivery_age"),
        ]

    def __str__(self) -> str:
        return f"{self.topic} → {self.subscription_id}"

    @property
    def message_id(self) -> str:
        """The webhook-id header: the event's, the same on every retry and replay, so that a
        receiver can tell it has seen it."""
        return f"msg_{self.event_id}"
