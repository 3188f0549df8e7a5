"""The audit log (who did what to which record, when and from where), the consent ledger
and the privacy policy versions."""

import datetime
from typing import Any

from django.conf import settings
from django.db import connections, models, router, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kernel.free_text import (
    DOCUMENT_LENGTH,
    LETTER_LENGTH,
    STATEMENT_LENGTH,
    BoundedTextField,
    validate_readable_text,
)
from kernel.models import SystemJob, Versioned
from privacy.audit.actions import action_label
from privacy.audit.chain import (
    CHAINED_FIELDS,
    GENESIS_HASH,
    canonical_ip,
    event_hash,
    storable_changes,
)

# Key of the PostgreSQL advisory lock that serialises appends to the chain ("audit" in ASCII).
CHAIN_LOCK_KEY = 0x6175646974


class AuditChannel(models.TextChoices):
    WEB = "web", _("Web app")
    ADMIN = "admin", _("Admin site")
    API = "api", _("API")
    COMMAND = "command", _("Command line")
    TASK = "task", _("Background job")
    SYSTEM = "system", _("System")


class AppendOnlyError(Exception):
    """Raised on an attempt to change or delete audit events through the ORM."""


class AuditEventQuerySet(models.QuerySet):
    """Audit events are only ever added: the ORM refuses updates and deletes (PostgreSQL
    refuses them in the database too), and bulk inserts go through the chain one by one."""

    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("audit events cannot be changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit events cannot be deleted")

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        raise AppendOnlyError("audit events cannot be changed")

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list["AuditEvent"]:
        objs = list(objs)
        with transaction.atomic(using=self.db):
            for obj in objs:
                obj.save(using=self.db)
        return objs


class AuditEvent(models.Model):
    """One entry of the audit log. Rows are only ever added (on PostgreSQL a trigger refuses
    UPDATE and DELETE) and form a hash chain: each row's `event_hash` covers its fields and
    the previous row's hash, so `manage.py verify_audit` detects a changed or removed row.
    Rows hold no personal values (they are masked before recording), so erasure and
    retention never need to touch them."""

    # Position in the chain: 1, 2, 3, ... without gaps (the primary key may have gaps).
    sequence = models.PositiveBigIntegerField(_("sequence"), unique=True)
    # Set by record_event before hashing, in UTC with microseconds.
    occurred_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    # No database constraint and no cascade: deleting a user must not update audit rows
    # (which the database refuses); actor_label keeps the name.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    # The username at the time, so the trail survives renaming or deleting the account; for
    # a failed login, the user name that was tried.
    actor_label = models.CharField(_("user name"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=60, db_index=True)
    target_type = models.CharField(_("object type"), max_length=60, blank=True)
    target_id = models.CharField(_("object id"), max_length=40, blank=True)
    # {"field": [old, new]} with sensitive values already masked, or extra facts for the action.
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=200, blank=True)
    via = models.CharField(_("channel"), max_length=20, choices=AuditChannel.choices, blank=True)
    previous_hash = models.CharField(_("previous hash"), max_length=64)
    event_hash = models.CharField(_("hash"), max_length=64)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-sequence"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [
            models.Index(fields=["target_type", "target_id"], name="audit_target_idx"),
            models.Index(fields=["actor", "-occurred_at"], name="audit_actor_idx"),
            # Filters of the audit log pages and the windowed counts of the alerts.
            models.Index(fields=["actor_label", "-occurred_at"], name="audit_actor_label_idx"),
            models.Index(fields=["ip_address", "-occurred_at"], name="audit_ip_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"

    def save(self, *, using: str | None = None, **kwargs: Any) -> None:
        """Append the event to the chain (a new event only: saving an existing one raises
        AppendOnlyError). Appends are serialised: inside one transaction the chain's last
        event is read under a lock (PostgreSQL: an advisory lock held until the transaction
        ends; SQLite: the database's write lock, taken at BEGIN IMMEDIATE), so two events
        never link to the same predecessor. The time is set here, after the lock, so that
        times follow the chain's order."""
        if not self._state.adding:
            raise AppendOnlyError("audit events cannot be changed")
        using = using or router.db_for_write(type(self), instance=self)
        # No savepoint: a failed append must fail the caller's whole transaction anyway.
        with transaction.atomic(using=using, savepoint=False):
            connection = connections[using]
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
            last = (
                type(self)
                .objects.using(using)
                .order_by("-sequence")
                .values_list("sequence", "event_hash")
                .first()
            )
            self.sequence, self.previous_hash = (
                (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
            )
            self.occurred_at = timezone.now()
            self.changes = storable_changes(self.changes)
            self.ip_address = canonical_ip(self.ip_address)
            self.event_hash = event_hash({name: getattr(self, name) for name in CHAINED_FIELDS})
            super().save(using=using, force_insert=True)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError("audit events cannot be deleted")

    @property
    def action_label(self) -> str:
        """The action in words, in the current language (its code when no enum knows it)."""
        return action_label(self.action)


class AlertKind(models.TextChoices):
    FAILED_LOGINS = "failed_logins", _("Burst of failed logins")
    LARGE_EXPORT = "large_export", _("Large export")
    ID_REVEALS = "id_reveals", _("Many identity number reveals")
    AUDIT_CHAIN = "audit_chain", _("Audit log tampered with")
    BACKUP = "backup", _("Backup failed")
    RESTORE_DRILL = "restore_drill", _("Restore drill failed")


class SecurityAlert(models.Model):
    """Something administrators should look at, raised from the audit events as they are
    recorded (privacy/alerts.py). Holds staff user names, IP addresses and counts; never
    customer data."""

    kind = models.CharField(_("kind"), max_length=20, choices=AlertKind.choices)
    # Who or what the alert is about: a staff user name or an IP address ("" for none).
    subject = models.CharField(_("about"), max_length=150, blank=True)
    # Figures for the message: counts, thresholds, window, sequence numbers.
    params = models.JSONField(_("details"), default=dict, blank=True)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    # Set once the mail to administrators went out, so that a retried task does not repeat it.
    mailed_at = models.DateTimeField(_("mailed"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acknowledged by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        verbose_name = _("security alert")
        verbose_name_plural = _("security alerts")
        indexes = [
            models.Index(fields=["kind", "subject", "-occurred_at"], name="alert_dedupe_idx"),
            models.Index(
                fields=["-occurred_at"],
                name="alert_open_idx",
                condition=models.Q(acknowledged_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.kind} {self.subject}"


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
    # The person themself, on their privacy page (privacy/portal).
    PRIVACY_PAGE = "portal", _("The customer's privacy page")


class PrivacyPolicy(Versioned):
    """A version of the privacy policy customers agree to; the one in force on a day is the
    latest whose effective date has come. Published and corrected only through
    privacy/policies.py: once in force it is the evidence behind the consents recorded under
    it and never changes."""

    version = models.CharField(
        _("version"), max_length=40, unique=True, validators=[validate_readable_text]
    )
    effective_from = models.DateField(_("effective from"))
    # The row's version (kernel.models.Versioned): `version` is the policy's own label.
    edit_version = models.PositiveIntegerField(_("edit version"), default=1, editable=False)
    version_field = "edit_version"
    summary = BoundedTextField(
        _("what changed"),
        max_length=STATEMENT_LENGTH,
        blank=True,
        validators=[validate_readable_text],
    )
    # The wording customers were shown, so that a consent can be matched to what it agreed to;
    # empty only for versions recorded before the text was kept.
    text = BoundedTextField(
        _("text of the policy"),
        max_length=DOCUMENT_LENGTH,
        blank=True,
        validators=[validate_readable_text],
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-effective_from", "-pk"]
        verbose_name = _("privacy policy version")
        verbose_name_plural = _("privacy policy versions")

    def __str__(self) -> str:
        return self.version

    @property
    def has_taken_effect(self) -> bool:
        return self.effective_from <= timezone.localdate()


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
    evidence = BoundedTextField(
        _("evidence"), max_length=STATEMENT_LENGTH, blank=True, validators=[validate_readable_text]
    )
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


class RequestKind(models.TextChoices):
    """The rights of PIPL art. 44–47 and GDPR art. 15–18 and 21 a person may exercise."""

    ACCESS = "access", _("Access and copy")
    CORRECTION = "correction", _("Correction")
    ERASURE = "erasure", _("Erasure")
    WITHDRAW_CONSENT = "withdraw_consent", _("Withdrawal of consent")
    RESTRICTION = "restriction", _("Restriction of processing")


class RequestChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    LETTER = "letter", _("Letter")
    IN_PERSON = "in_person", _("In person")
    WEB_FORM = "web_form", _("Web form")
    # The customer's own privacy page (privacy/portal), reached through a signed link.
    PRIVACY_PAGE = "portal", _("The customer's privacy page")
    # A connected system passing on what the person asked it (a shop's redaction request).
    CONNECTED_SYSTEM = "connected", _("A connected system (shop, POS)")


class RequestStatus(models.TextChoices):
    RECEIVED = "received", _("Received: identity not yet verified")
    VERIFIED = "verified", _("Identity verified: in progress")
    COMPLETED = "completed", _("Completed")
    REJECTED = "rejected", _("Rejected")


class VerificationMethod(models.TextChoices):
    DOCUMENT = "document", _("Identity document checked in person")
    PHONE_CODE = "phone_code", _("Code sent to the phone number on record")
    EMAIL_CODE = "email_code", _("Code sent to the email address on record")
    CALL_BACK = "call_back", _("Called back on the number on record")
    SIGNED_LETTER = "signed_letter", _("Signed letter with a copy of an identity document")
    SIGNED_LINK = "signed_link", _("Link sent to the address on record")


# A copy holds one customer's records: it is written in seconds. One still waiting for a
# worker after this long is given up, so that it may be asked for again.
COPY_LOST_AFTER = datetime.timedelta(minutes=10)
# The reason a restriction of processing is recorded with: stored on the data subject's row
# (customers.Customer.restriction_reason), asked for by privacy/subjects/forms.py.
RESTRICTION_REASON_LENGTH = 300


class DataSubjectRequest(models.Model):
    """A person asking to exercise a right over their data, from receipt to answer.

    Nothing is done for the person before their identity is verified; the answer is due by
    `due_on` (received + DATA_REQUEST_DUE_DAYS)."""

    OPEN = (RequestStatus.RECEIVED, RequestStatus.VERIFIED)

    kind = models.CharField(_("request"), max_length=20, choices=RequestKind.choices)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="subject_requests",
    )
    channel = models.CharField(_("received by"), max_length=10, choices=RequestChannel.choices)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    due_on = models.DateField(_("answer due"))
    # What the person asked for, in their words; scrubbed when the person is erased.
    details = BoundedTextField(
        _("what was asked"),
        max_length=LETTER_LENGTH,
        blank=True,
        validators=[validate_readable_text],
    )
    status = models.CharField(
        _("status"), max_length=10, choices=RequestStatus.choices, default=RequestStatus.RECEIVED
    )
    verification_method = models.CharField(
        _("identity verified by"), max_length=20, choices=VerificationMethod.choices, blank=True
    )
    # How the check went ("code confirmed", "passport seen"), never the document's number.
    verification_note = models.CharField(
        _("verification note"), max_length=300, blank=True, validators=[validate_readable_text]
    )
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("verified by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # What was done, or why the request was refused: the answer given to the person.
    resolution = BoundedTextField(
        _("answer"), max_length=LETTER_LENGTH, blank=True, validators=[validate_readable_text]
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("logged by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["due_on", "pk"]
        verbose_name = _("data-subject request")
        verbose_name_plural = _("data-subject requests")
        indexes = [models.Index(fields=["status", "due_on"], name="subject_request_queue_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    @property
    def is_verified(self) -> bool:
        return self.status == RequestStatus.VERIFIED

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.due_on < timezone.localdate()

    @property
    def days_left(self) -> int:
        return (self.due_on - timezone.localdate()).days


class SubjectCopy(SystemJob):
    """The copy of everything held about the person of an access request: a ZIP written by the
    worker (privacy/subjects/copy.py), in the language of the officer who asked. Asking again
    makes a new one; a finished copy replaces the older one's file."""

    request = models.ForeignKey(
        DataSubjectRequest,
        verbose_name=_("data-subject request"),
        on_delete=models.CASCADE,
        related_name="copies",
    )
    file = models.FileField(upload_to="subject-copies/", max_length=300, blank=True)
    language = models.CharField(max_length=10, default="en", editable=False)
    # Rows written per section of the copy (no personal data).
    counts = models.JSONField(default=dict, editable=False)

    class Meta(SystemJob.Meta):
        verbose_name = _("copy of a person's data")
        verbose_name_plural = _("copies of people's data")

    def __str__(self) -> str:
        return f"#{self.request_id}"


class RetentionKind(models.TextChoices):
    """What a retention policy applies to; each has one fixed action (privacy/retention.py)."""

    STALE_LEADS = "stale_leads", _("Leads with no activity: anonymised")
    INACTIVE_CUSTOMERS = "inactive_customers", _("Customers with no activity: anonymised")
    OLD_INTERACTIONS = (
        "old_interactions",
        _("Text and custom values of old interactions: removed"),
    )
    IMPORT_REPORTS = "import_reports", _("Error reports of old imports: deleted")


class RetentionPolicy(Versioned):
    """How long one kind of data is kept. Customers whose processing is restricted are never
    touched: a restriction is how a legal obligation to keep data is recorded."""

    kind = models.CharField(_("data"), max_length=20, choices=RetentionKind.choices, unique=True)
    keep_days = models.PositiveIntegerField(_("kept for (days)"))
    enabled = models.BooleanField(_("applied every night"), default=False)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["kind"]
        verbose_name = _("retention policy")
        verbose_name_plural = _("retention policies")

    def __str__(self) -> str:
        return self.get_kind_display()


class RetentionRun(SystemJob):
    """One pass of the retention policies (privacy/retention.py): a dry run reports what would
    change, a real run what did; both list the same counts per policy for the same data.
    `rows_total` is every due row, `rows_done` those changed so far."""

    dry_run = models.BooleanField(_("dry run"))
    # The moment the policies are measured from (None: when the run starts).
    as_of = models.DateTimeField(_("as of"), null=True, blank=True)
    # {kind: {"keep_days": n, "cutoff": iso, "rows": n}} for each enabled policy.
    results = models.JSONField(_("results"), default=dict)

    class Meta(SystemJob.Meta):
        verbose_name = _("retention run")
        verbose_name_plural = _("retention runs")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M}{' (dry run)' if self.dry_run else ''}"
