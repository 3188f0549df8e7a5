"""The shared pool (公海): its rules and the history of who held each customer."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def default_claim_quota() -> int:
    return settings.POOL_CLAIM_QUOTA


def default_release_days() -> int:
    return settings.POOL_RELEASE_DAYS


def default_warning_days() -> int:
    return settings.POOL_WARNING_DAYS


class PoolRules(models.Model):
    """The pool's rules, one row (pk 1), created with the settings' defaults on first read and
    changed by administrators on /pool/rules/.

    The quota caps the live customers a person owns, however they got them (claimed, assigned,
    created): a salesperson at the cap releases one before claiming another, as in the usual
    CRM pools. Assignment by an administrator is not refused by it."""

    claim_quota = models.PositiveIntegerField(
        _("customers one person may own"),
        default=default_claim_quota,
        validators=[MinValueValidator(1), MaxValueValidator(100_000)],
    )
    release_days = models.PositiveIntegerField(
        _("days without the owner's activity before the customer returns to the pool"),
        default=default_release_days,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
    )
    warning_days = models.PositiveIntegerField(
        _("days of warning before the return"),
        default=default_warning_days,
        validators=[MinValueValidator(0), MaxValueValidator(3650)],
    )
    auto_release = models.BooleanField(_("return idle customers to the pool"), default=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("pool rules")
        verbose_name_plural = _("pool rules")
        permissions = [
            ("claim_from_pool", _("Can claim customers from the shared pool")),
            ("manage_pool", _("Can set the shared pool's rules and release anyone's customers")),
        ]

    def __str__(self) -> str:
        return str(_("Pool rules"))


class OwnershipChangeKind(models.TextChoices):
    CLAIM = "claim", _("Claimed from the pool")
    RELEASE = "release", _("Returned to the pool")
    AUTO_RELEASE = "auto_release", _("Returned to the pool automatically")


class OwnershipChange(models.Model):
    """One change of a customer's owner through the pool: shown beside the stage history on
    the customer's page."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="ownership_changes"
    )
    from_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(_("change"), max_length=20, choices=OwnershipChangeKind.choices)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    at = models.DateTimeField(default=timezone.now)
    # Nobody for the nightly release.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("ownership change")
        verbose_name_plural = _("ownership changes")
        indexes = [models.Index(fields=["customer", "-at"], name="ownership_change_customer_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.customer_id}"
