"""Public web forms (README "Web forms"): a form staff build, embedded on other websites, whose
submissions go through the customer import's door; the submissions' log; and the count of the
submissions refused as abuse, which are counted and never stored."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import SourceChannel
from kernel.free_text import BoundedTextField, validate_readable_text
from kernel.models import Versioned

# A thank-you text or a consent's wording: a few sentences.
FORM_TEXT_LENGTH = 1000


class WebForm(Versioned):
    """A form on another website. Its version moves on with every edit, and each submission
    keeps the version it was made under, so that the audit trail (`webform.update`, old → new)
    tells what the person was shown. Its writes act as its own service account, which holds
    the customer import's permission and nothing a person could sign in with."""

    name = models.CharField(_("name"), max_length=100, validators=[validate_readable_text])
    # In the form's public address: random and unguessable, never the primary key.
    public_key = models.CharField(_("public key"), max_length=40, unique=True, editable=False)
    # [{"key": an import field, "required": bool, "label_en": str, "label_zh": str}], in order.
    fields = models.JSONField(_("fields"), default=list)
    # [{"purpose": a ConsentPurpose, "text_en": str, "text_zh": str, "policy": the version
    # label in force when the wording was saved}]: the consents the form asks for.
    consents = models.JSONField(_("consents"), default=list)
    thank_you_en = BoundedTextField(
        _("thank-you message (English)"),
        max_length=FORM_TEXT_LENGTH,
        blank=True,
        validators=[validate_readable_text],
    )
    thank_you_zh = BoundedTextField(
        _("thank-you message (Chinese)"),
        max_length=FORM_TEXT_LENGTH,
        blank=True,
        validators=[validate_readable_text],
    )
    redirect_url = models.URLField(
        _("thank-you page address"),
        max_length=500,
        blank=True,
        validators=[validate_readable_text],
        help_text=_("Instead of the thank-you message, send the visitor to this page."),
    )
    # Origins ("https://www.example.com") whose pages may embed the form and call it.
    allowed_origins = models.JSONField(_("allowed origins"), default=list)
    min_seconds = models.PositiveSmallIntegerField(
        _("minimum seconds to fill in"),
        default=3,
        help_text=_("Submissions sent sooner after the form was shown are refused as robots'."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    service_account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("service account"),
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("web form")
        verbose_name_plural = _("web forms")
        ordering = ["name", "pk"]
        permissions = [("manage_forms", _("Manage web forms and see their submissions"))]

    def __str__(self) -> str:
        return self.name


class SubmissionOutcome(models.TextChoices):
    CREATED = "created", _("New customer")
    UPDATED = "updated", _("Known customer, completed")
    UNCHANGED = "unchanged", _("Known customer, nothing new")
    FAILED = "failed", _("Refused: invalid values")


class FormSubmission(models.Model):
    """One submission that reached the door, and its double opt-in: the marketing consents it
    asked for wait here (`pending_purposes`) until the person follows the mailed link. Holds
    no submitted value: those went to the customer (a failed one's values went nowhere; only
    the fields at fault are kept)."""

    form = models.ForeignKey(
        WebForm, verbose_name=_("form"), on_delete=models.CASCADE, related_name="submissions"
    )
    form_version = models.PositiveIntegerField(_("form version"))
    received_at = models.DateTimeField(_("received"), default=timezone.now, editable=False)
    language = models.CharField(_("language"), max_length=10, editable=False)
    outcome = models.CharField(_("outcome"), max_length=10, choices=SubmissionOutcome.choices)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        # Not hidden: a merge moves a customer's submissions to the survivor (customers/merge.py
        # follows every relation), and the data-subject copy finds them.
        related_name="form_submissions",
    )
    failed_fields = models.JSONField(_("fields at fault"), default=list)
    source_channel = models.CharField(
        _("source channel"), max_length=20, choices=SourceChannel.choices, blank=True
    )
    source_detail = models.CharField(_("source detail"), max_length=200, editable=False)
    policy = models.ForeignKey(
        "privacy.PrivacyPolicy",
        verbose_name=_("privacy policy version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Consents recorded at once (not marketing), and marketing ones waiting for confirmation.
    recorded_purposes = models.JSONField(_("consents recorded"), default=list)
    pending_purposes = models.JSONField(_("consents to confirm"), default=list)
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=200, editable=False)
    # The confirmation link's token is mailed once and kept only as its SHA-256.
    token_digest = models.CharField(max_length=64, blank=True, editable=False)
    mailed_at = models.DateTimeField(_("confirmation mailed"), null=True, blank=True)
    confirmation_expires_at = models.DateTimeField(
        _("confirmation link expires"), null=True, blank=True
    )
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    confirmed_ip_address = models.GenericIPAddressField(
        _("address when confirmed"), null=True, blank=True
    )
    confirmed_user_agent = models.CharField(
        _("browser when confirmed"), max_length=200, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("form submission")
        verbose_name_plural = _("form submissions")
        ordering = ["-pk"]
        indexes = [
            models.Index(fields=["form", "-id"], name="webform_submission_log"),
            models.Index(
                fields=["token_digest"],
                condition=~models.Q(token_digest=""),
                name="webform_submission_token",
            ),
            # The retention's search for submissions past WEBFORMS_SUBMISSION_DAYS.
            models.Index(fields=["received_at"], name="webform_submission_age"),
        ]

    def __str__(self) -> str:
        return f"{self.form_id}: {self.outcome}"

    def confirmation_state(self, now) -> str:
        """ "" (nothing to confirm), "waiting", "confirmed" or "expired"."""
        if not self.pending_purposes:
            return ""
        if self.confirmed_at is not None:
            return "confirmed"
        if self.confirmation_expires_at is not None and self.confirmation_expires_at < now:
            return "expired"
        return "waiting"


class RejectionReason(models.TextChoices):
    HONEYPOT = "honeypot", _("A field only robots fill was filled")
    TOO_FAST = "too_fast", _("Sent sooner than a person could fill it in")
    ADDRESS_LIMIT = "address_limit", _("Too many from one address")
    FORM_LIMIT = "form_limit", _("Too many for this form")
    TOO_LARGE = "too_large", _("Too large")
    ORIGIN = "origin", _("Sent from a site the form does not allow")


class FormRejection(models.Model):
    """How many submissions a form refused for a reason on a day: refused submissions are
    counted here, never stored."""

    form = models.ForeignKey(WebForm, on_delete=models.CASCADE, related_name="rejections")
    day = models.DateField()
    reason = models.CharField(max_length=20, choices=RejectionReason.choices)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["form", "day", "reason"], name="webform_rejection_day")
        ]

    def __str__(self) -> str:
        return f"{self.form_id} {self.day} {self.reason}: {self.count}"
