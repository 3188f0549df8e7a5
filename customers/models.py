"""Customers, the people at company customers, tags and the ids other systems know them by."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from customers.custom_fields.models import values_field
from customers.normalize import IdDocumentKind as IdKind
from kernel.free_text import NOTE_LENGTH, BoundedTextField, validate_readable_text
from kernel.models import BackgroundJob, SystemJob, Versioned
from privacy.models import RESTRICTION_REASON_LENGTH


def default_country() -> str:
    return settings.DEFAULT_COUNTRY


def import_job_field() -> models.ForeignKey:
    """The import that created a record or last changed it (its report tells what came in)."""
    return models.ForeignKey(
        "customers.ImportJob",
        verbose_name=_("import"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )


class CustomerKind(models.TextChoices):
    PERSON = "person", _("Person")
    COMPANY = "company", _("Company")


class Gender(models.TextChoices):
    UNKNOWN = "", _("Unknown")
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    OTHER = "other", pgettext_lazy("gender", "Other")


class IdDocumentKind(models.TextChoices):
    NONE = "", _("None")
    CN_RESIDENT = IdKind.CN_RESIDENT, _("Chinese resident ID card")
    PASSPORT = IdKind.PASSPORT, _("Passport")
    OTHER = IdKind.OTHER, pgettext_lazy("id document", "Other")


class LifecycleStage(models.TextChoices):
    LEAD = "lead", _("Lead")
    PROSPECT = "prospect", _("Prospect")
    CUSTOMER = "customer", pgettext_lazy("lifecycle stage", "Customer")
    REPEAT = "repeat", _("Repeat customer")
    AT_RISK = "at_risk", _("At risk")
    CHURNED = "churned", _("Churned")


class ValueGrade(models.TextChoices):
    UNGRADED = "", _("Ungraded")
    A = "A", _("A – key account")
    B = "B", _("B – high value")
    C = "C", _("C – regular")
    D = "D", _("D – low value")


class SourceChannel(models.TextChoices):
    STORE = "store", _("Store")
    ONLINE_SHOP = "online_shop", _("Online shop")
    MARKETPLACE = "marketplace", _("Marketplace (Tmall, JD...)")
    POS = "pos", _("POS")
    WEB_FORM = "web_form", _("Web form")
    WECHAT = "wechat", _("WeChat")
    PHONE = "phone", _("Phone")
    REFERRAL = "referral", _("Referral")
    TRADE_FAIR = "trade_fair", _("Trade fair")
    IMPORT = "import", _("Import")
    OTHER = "other", pgettext_lazy("source channel", "Other")


class CompanySize(models.TextChoices):
    UNKNOWN = "", _("Unknown")
    MICRO = "1-9", _("1–9 employees")
    SMALL = "10-49", _("10–49 employees")
    MEDIUM = "50-249", _("50–249 employees")
    LARGE = "250-999", _("250–999 employees")
    ENTERPRISE = "1000+", _("1,000+ employees")


class Tag(Versioned):
    name = models.CharField(
        _("name"), max_length=50, unique=True, validators=[validate_readable_text]
    )
    colour = models.CharField(
        _("colour"), max_length=7, default="#6c757d", validators=[validate_readable_text]
    )
    group = models.CharField(
        _("group"), max_length=50, blank=True, validators=[validate_readable_text]
    )

    class Meta:
        ordering = ["group", "name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class Customer(Versioned):
    kind = models.CharField(
        _("kind"), max_length=10, choices=CustomerKind.choices, default=CustomerKind.PERSON
    )
    name = models.CharField(_("name"), max_length=200, validators=[validate_readable_text])
    family_name = models.CharField(
        _("family name"), max_length=100, blank=True, validators=[validate_readable_text]
    )
    given_name = models.CharField(
        _("given name"), max_length=100, blank=True, validators=[validate_readable_text]
    )
    # How the name sounds (customers.normalize.name_sound), kept with the name by every write so
    # that duplicate checks can look up 章伟 for 张伟 or "Wei Zhang" through an index.
    # Text: a 200-character Chinese company name spells out to well over 1,000 letters.
    name_pinyin = models.TextField(blank=True, editable=False)
    name_key = models.TextField(blank=True, editable=False)
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)

    # The normalised value is what search, dedup and uniqueness use; the raw value is kept
    # because staff need to see what the customer actually wrote.
    phone = models.CharField(
        _("mobile phone"), max_length=20, blank=True, validators=[validate_readable_text]
    )
    phone_raw = models.CharField(
        _("mobile phone as entered"), max_length=64, blank=True, validators=[validate_readable_text]
    )
    email = models.CharField(
        _("email"), max_length=254, blank=True, validators=[validate_readable_text]
    )
    email_raw = models.CharField(
        _("email as entered"), max_length=320, blank=True, validators=[validate_readable_text]
    )
    # Confirmed with the customer (a call back, a reply): a merge keeps a confirmed value over
    # a newer unconfirmed one. A changed value is unconfirmed until confirmed again.
    phone_verified = models.BooleanField(_("phone confirmed with the customer"), default=False)
    email_verified = models.BooleanField(_("email confirmed with the customer"), default=False)

    id_document_kind = models.CharField(
        _("identity document"), max_length=20, choices=IdDocumentKind.choices, blank=True
    )
    # Encrypted at rest (privacy.crypto: AES-GCM token with its key id). The blind index allows
    # exact lookup without decrypting; the masked form lets pages show "110***...1234" cheaply.
    id_number_encrypted = models.TextField(_("identity number (encrypted)"), blank=True)
    id_number_blind_index = models.CharField(max_length=64, blank=True, editable=False)
    id_number_masked = models.CharField(max_length=40, blank=True, editable=False)

    country = models.CharField(
        _("country"), max_length=2, default=default_country, validators=[validate_readable_text]
    )
    province = models.CharField(
        _("province"), max_length=50, blank=True, validators=[validate_readable_text]
    )
    city = models.CharField(
        _("city"), max_length=50, blank=True, validators=[validate_readable_text]
    )
    # How a Chinese city is spelt in Latin letters (customers.normalize.place_pinyin), kept
    # with the city by every write, so that "Shanghai" or "kunshan" finds 上海市 or 昆山市.
    city_pinyin = models.TextField(blank=True, editable=False)
    district = models.CharField(
        _("district"), max_length=50, blank=True, validators=[validate_readable_text]
    )
    street = models.CharField(
        _("street address"), max_length=200, blank=True, validators=[validate_readable_text]
    )
    postcode = models.CharField(
        _("postcode"), max_length=12, blank=True, validators=[validate_readable_text]
    )

    company_name = models.CharField(
        _("company"), max_length=200, blank=True, validators=[validate_readable_text]
    )
    industry = models.CharField(
        _("industry"), max_length=100, blank=True, validators=[validate_readable_text]
    )
    company_size = models.CharField(
        _("company size"), max_length=10, choices=CompanySize.choices, blank=True
    )
    website = models.URLField(_("website"), blank=True, validators=[validate_readable_text])

    lifecycle_stage = models.CharField(
        _("lifecycle stage"),
        max_length=20,
        choices=LifecycleStage.choices,
        default=LifecycleStage.LEAD,
    )
    value_grade = models.CharField(
        _("value grade"), max_length=1, choices=ValueGrade.choices, blank=True
    )
    source_channel = models.CharField(
        _("source channel"), max_length=20, choices=SourceChannel.choices, blank=True
    )
    source_detail = models.CharField(
        _("source detail"), max_length=200, blank=True, validators=[validate_readable_text]
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_customers",
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="customers")
    notes = BoundedTextField(
        _("notes"), max_length=NOTE_LENGTH, blank=True, validators=[validate_readable_text]
    )
    # The values of the custom fields defined for customers (customers/custom_fields/).
    custom = values_field()

    consent_email = models.BooleanField(_("email marketing consent"), default=False)
    consent_sms = models.BooleanField(_("SMS marketing consent"), default=False)
    consent_phone = models.BooleanField(_("phone marketing consent"), default=False)
    # Current status of the other purposes of the consent ledger (privacy.ConsentRecord).
    consent_profiling = models.BooleanField(_("profiling consent"), default=False)
    consent_third_parties = models.BooleanField(
        _("consent to sharing with third parties"), default=False
    )
    consent_sensitive = models.BooleanField(
        _("consent to processing sensitive data"), default=False
    )

    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    last_activity_at = models.DateTimeField(_("last activity"), null=True, blank=True)
    # When the owner last worked on the customer (took it, edited it, logged an interaction or
    # a purchase, completed a follow-up): the shared pool (sales/pool) takes back customers
    # whose owner has been idle too long. Kept by customers.services (record_activity,
    # update_customer, change_owner); empty while the customer has no owner.
    owner_active_at = models.DateTimeField(
        _("owner last active"), null=True, blank=True, editable=False
    )
    archived_at = models.DateTimeField(_("archived"), null=True, blank=True)
    # Set by a data-subject erasure (privacy/subjects): the row stays, for the aggregates, with
    # nothing left that identifies the person.
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True, editable=False)
    # Restriction of processing (PIPL art. 44, GDPR art. 18): kept, but no longer edited,
    # merged, exported or marketed to until the privacy officer lifts it.
    restricted_at = models.DateTimeField(
        _("processing restricted"), null=True, blank=True, editable=False
    )
    restriction_reason = models.CharField(
        _("reason for the restriction"),
        max_length=RESTRICTION_REASON_LENGTH,
        blank=True,
        editable=False,
        validators=[validate_readable_text],
    )
    import_job = import_job_field()
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_duplicates",
    )

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            # Partial: most customers lack one of these, and empty strings are never looked up.
            models.Index(fields=["phone"], condition=~Q(phone=""), name="customer_phone_idx"),
            models.Index(fields=["email"], condition=~Q(email=""), name="customer_email_idx"),
            models.Index(
                fields=["id_number_blind_index"],
                condition=~Q(id_number_blind_index=""),
                name="customer_id_blind_idx",
            ),
            models.Index(fields=["owner", "lifecycle_stage"], name="customer_owner_stage_idx"),
            # The pool's nightly release reads owned customers whose owner has been idle.
            models.Index(
                fields=["owner_active_at"],
                condition=Q(owner__isnull=False),
                name="customer_owner_active_idx",
            ),
            models.Index(fields=["lifecycle_stage"], name="customer_stage_idx"),
            # Serves the list's "last activity" order (never-active customers last) on SQLite,
            # where NULLs sort last in descending order; PostgreSQL gets its own in 0003.
            models.Index(fields=["-last_activity_at"], name="customer_last_activity_idx"),
            models.Index(fields=["name"], name="customer_name_idx"),
            models.Index(
                fields=["name_key"], condition=~Q(name_key=""), name="customer_name_key_idx"
            ),
            # Filters, segment rules and the builder's suggestions of places.
            models.Index(fields=["city"], condition=~Q(city=""), name="customer_city_idx"),
            models.Index(
                fields=["city_pinyin"],
                condition=~Q(city_pinyin=""),
                name="customer_city_pinyin_idx",
            ),
            models.Index(
                fields=["province"], condition=~Q(province=""), name="customer_province_idx"
            ),
            # "丽娟" finds 王丽娟: short given-name searches match this exactly.
            models.Index(
                fields=["given_name"], condition=~Q(given_name=""), name="customer_given_name_idx"
            ),
        ]
        permissions = [
            ("view_all_customers", _("Can view and work on customers of every owner")),
            ("view_personal_data", _("Can see unmasked phone, email and address")),
            ("reveal_national_id", _("Can reveal identity numbers (audited)")),
            ("import_customers", _("Can import customers")),
            ("export_customers", _("Can export customer lists")),
            ("export_personal_data", _("Can export unmasked phone, email and address")),
            ("merge_customers", _("Can review and merge duplicate customers")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(merged_into=models.F("pk")), name="customer_not_merged_into_self"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None

    @property
    def is_restricted(self) -> bool:
        return self.restricted_at is not None

    @property
    def is_merged(self) -> bool:
        return self.merged_into_id is not None

    @property
    def has_id_number(self) -> bool:
        return bool(self.id_number_encrypted)


class ExternalId(models.Model):
    """The id another system (shop, POS, ERP) uses for this customer."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="external_ids")
    system = models.CharField(_("system"), max_length=50, validators=[validate_readable_text])
    external_id = models.CharField(
        _("external id"), max_length=100, validators=[validate_readable_text]
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("external id")
        verbose_name_plural = _("external ids")
        indexes = [models.Index(fields=["external_id"], name="external_id_lookup_idx")]
        constraints = [
            models.UniqueConstraint(fields=["system", "external_id"], name="external_id_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.system}:{self.external_id}"


class DecisionRole(models.TextChoices):
    UNKNOWN = "", _("Unknown")
    DECISION_MAKER = "decision_maker", _("Decision maker")
    INFLUENCER = "influencer", _("Influencer")
    BUYER = "buyer", _("Buyer")
    USER = "user", _("User")
    GATEKEEPER = "gatekeeper", _("Gatekeeper")


class Contact(Versioned):
    """A person at a company customer."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=200, validators=[validate_readable_text])
    title = models.CharField(
        _("job title"), max_length=100, blank=True, validators=[validate_readable_text]
    )
    decision_role = models.CharField(
        _("role in the buying decision"), max_length=20, choices=DecisionRole.choices, blank=True
    )
    phone = models.CharField(
        _("phone"), max_length=20, blank=True, validators=[validate_readable_text]
    )
    phone_raw = models.CharField(
        _("phone as entered"), max_length=64, blank=True, validators=[validate_readable_text]
    )
    email = models.CharField(
        _("email"), max_length=254, blank=True, validators=[validate_readable_text]
    )
    email_raw = models.CharField(
        _("email as entered"), max_length=320, blank=True, validators=[validate_readable_text]
    )
    is_primary = models.BooleanField(_("primary contact"), default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_primary", "name"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [
            models.Index(fields=["phone"], condition=~Q(phone=""), name="contact_phone_idx"),
            models.Index(fields=["email"], condition=~Q(email=""), name="contact_email_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=Q(is_primary=True), name="one_primary_contact"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class LifecycleStageChange(models.Model):
    """One move of a customer between lifecycle stages: the stage history on the 360° page."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.CharField(max_length=20, choices=LifecycleStage.choices, blank=True)
    to_stage = models.CharField(max_length=20, choices=LifecycleStage.choices)
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-changed_at", "-pk"]
        verbose_name = _("lifecycle stage change")
        verbose_name_plural = _("lifecycle stage changes")
        indexes = [
            models.Index(fields=["customer", "-changed_at"], name="stage_change_customer_idx")
        ]

    def __str__(self) -> str:
        return f"{self.from_stage or '-'} → {self.to_stage}"


class SavedView(models.Model):
    """A named set of list filters and sort order, kept per user and optionally shared."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_customer_views"
    )
    name = models.CharField(_("name"), max_length=100, validators=[validate_readable_text])
    # The list's filter and sort parameters as a query string (never a search text).
    query = models.CharField(max_length=1000, blank=True, validators=[validate_readable_text])
    is_shared = models.BooleanField(_("share with colleagues"), default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="saved_view_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class ImportKind(models.TextChoices):
    CUSTOMERS = "customers", _("Customers")
    TRANSACTIONS = "transactions", _("Orders")
    INTERACTIONS = "interactions", _("Interactions")


class UpdatePolicy(models.TextChoices):
    FILL = "fill", _("Fill empty fields only")
    OVERWRITE = "overwrite", _("Overwrite with the file's values")
    SKIP = "skip", _("Leave existing customers unchanged")


class InvalidValues(models.TextChoices):
    REJECT_ROW = "reject", _("Reject the whole row")
    DROP_VALUE = "drop", _("Import the row without the invalid optional value (warning)")


class DateOrder(models.TextChoices):
    """How a file writes dates whose first two numbers could each be the day (07/04/1980);
    unsaid, such dates are refused."""

    UNSAID = "", _("Refuse them: they could be either")
    DAY_FIRST = "day_first", _("Day first: 07/04/1980 is 7 April 1980")
    MONTH_FIRST = "month_first", _("Month first: 07/04/1980 is July 4, 1980")


class ImportPhase(models.TextChoices):
    CHECKING = "checking", _("Checking the file")
    VALIDATING = "validating", _("Validating every row")
    IMPORTING = "importing", _("Importing")


class ImportJob(BackgroundJob):
    """One uploaded file going in: how to read it, what goes where, and what came of it."""

    kind = models.CharField(_("what"), max_length=20, choices=ImportKind.choices)
    # Kept outside any public URL; only the job's pages read it.
    file = models.FileField(upload_to="imports/%Y/%m/", max_length=300)
    file_name = models.CharField(_("file"), max_length=255)
    file_size = models.PositiveBigIntegerField(_("size"), default=0)
    file_checksum = models.CharField(_("SHA-256"), max_length=64)
    table_format = models.JSONField(default=dict, editable=False)
    # One field key per column ("" ignores the column), in the file's column order.
    mapping = models.JSONField(default=list)
    source_name = models.CharField(
        _("source system"),
        max_length=50,
        blank=True,
        help_text=_("The shop or system the file comes from, e.g. “shopify” or “tmall”."),
        validators=[validate_readable_text],
    )
    source_channel = models.CharField(
        _("source channel"),
        max_length=20,
        choices=SourceChannel.choices,
        default=SourceChannel.IMPORT,
    )
    policy = models.CharField(
        _("existing customers"),
        max_length=10,
        choices=UpdatePolicy.choices,
        default=UpdatePolicy.FILL,
    )
    invalid_values = models.CharField(
        _("invalid optional values"),
        max_length=10,
        choices=InvalidValues.choices,
        default=InvalidValues.REJECT_ROW,
    )
    all_or_nothing = models.BooleanField(
        _("all or nothing"),
        default=False,
        help_text=_("Import nothing if any row has an error."),
    )
    date_order = models.CharField(
        _("dates such as 07/04/1980"),
        max_length=12,
        choices=DateOrder.choices,
        blank=True,
        default=DateOrder.UNSAID,
        db_default=DateOrder.UNSAID,
    )
    dry_run = models.BooleanField(_("dry run"), default=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner of new customers"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    language = models.CharField(max_length=10, default="en", editable=False)
    phase = models.CharField(
        max_length=12, choices=ImportPhase.choices, default=ImportPhase.CHECKING, editable=False
    )
    # Set when the job stopped for a reason a retry can overcome (a lost worker, a crash); it
    # then resumes after `checkpoint_row`, the spreadsheet row number of the last committed row.
    resumable = models.BooleanField(default=False, editable=False)
    checkpoint_row = models.PositiveIntegerField(default=0, editable=False)
    rows_created = models.PositiveIntegerField(_("created"), default=0)
    rows_updated = models.PositiveIntegerField(_("updated"), default=0)
    rows_unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    rows_failed = models.PositiveIntegerField(_("failed"), default=0)
    warnings = models.PositiveIntegerField(_("warnings"), default=0)
    # Pairs of the imported customers put in the duplicate review queue (None: not checked).
    possible_duplicates = models.PositiveIntegerField(
        _("possible duplicates"), null=True, blank=True
    )

    class Meta(BackgroundJob.Meta):
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        indexes = [models.Index(fields=["created_by", "-created_at"], name="import_job_user_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class IssueSeverity(models.TextChoices):
    ERROR = "error", _("Error")
    WARNING = "warning", _("Warning")


class ImportIssue(models.Model):
    """One problem in one cell (or row) of an import: the error report's lines."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="issues")
    row = models.PositiveIntegerField(_("row"))
    column = models.CharField(_("column"), max_length=200, blank=True)
    # The cell as written in the user's own file, so that the report can be acted on.
    value = models.CharField(_("value"), max_length=200, blank=True)
    message = models.CharField(_("message"), max_length=500)
    severity = models.CharField(_("severity"), max_length=10, choices=IssueSeverity.choices)

    class Meta:
        ordering = ["row", "pk"]
        verbose_name = _("import issue")
        verbose_name_plural = _("import issues")
        indexes = [models.Index(fields=["job", "row"], name="import_issue_job_row_idx")]

    def __str__(self) -> str:
        return f"{self.row} {self.column}: {self.message}"


class ImportTemplate(models.Model):
    """A saved column mapping (by header name) and options, to import the same layout again."""

    kind = models.CharField(_("what"), max_length=20, choices=ImportKind.choices)
    name = models.CharField(_("name"), max_length=100, validators=[validate_readable_text])
    columns = models.JSONField(default=dict)
    options = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="import_templates"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("import template")
        verbose_name_plural = _("import templates")
        constraints = [
            models.UniqueConstraint(fields=["kind", "name"], name="import_template_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class CustomerMerge(models.Model):
    """One merge of duplicate customers into a survivor, with what is needed to undo it: the
    survivor's values before, and which rows moved from which customer."""

    survivor = models.ForeignKey(
        Customer, verbose_name=_("survivor"), on_delete=models.PROTECT, related_name="merges"
    )
    merged = models.ManyToManyField(
        Customer, verbose_name=_("merged customers"), related_name="merged_by"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    merged_at = models.DateTimeField(_("merged"), default=timezone.now)
    # The survivor's profile before the merge (raw stored values, encrypted ones still
    # encrypted), its tags, and {model label: {customer id: [moved row ids]}}.
    survivor_before = models.JSONField(default=dict, editable=False)
    survivor_tags_before = models.JSONField(default=list, editable=False)
    moved = models.JSONField(default=dict, editable=False)
    undone_at = models.DateTimeField(_("undone"), null=True, blank=True)

    class Meta:
        ordering = ["-merged_at", "-pk"]
        verbose_name = _("customer merge")
        verbose_name_plural = _("customer merges")

    def __str__(self) -> str:
        return f"→ {self.survivor_id}"


class ScanMode(models.TextChoices):
    FULL = "full", _("all customers")
    INCREMENTAL = "incremental", _("new and changed customers")


class DuplicateScan(SystemJob):
    """One run of duplicate detection, and the linkage model it used (the next incremental run
    scores with the model of the last full run)."""

    mode = models.CharField(_("mode"), max_length=12, choices=ScanMode.choices)
    min_probability = models.FloatField(_("minimum probability"))
    customers_compared = models.PositiveIntegerField(_("customers compared"), default=0)
    pairs_found = models.PositiveIntegerField(_("pairs found"), default=0)
    groups_found = models.PositiveIntegerField(_("groups found"), default=0)
    auto_merged = models.PositiveIntegerField(_("merged automatically"), default=0)
    # True when the model was estimated from this data (EM), False when the priors were used.
    trained = models.BooleanField(_("trained on this data"), default=False)
    model = models.JSONField(default=dict, editable=False)
    seconds = models.FloatField(null=True, blank=True, editable=False)

    class Meta(SystemJob.Meta):
        verbose_name = _("duplicate scan")
        verbose_name_plural = _("duplicate scans")

    def __str__(self) -> str:
        return f"{self.get_mode_display()} {self.created_at:%Y-%m-%d %H:%M}"


class CandidateStatus(models.TextChoices):
    OPEN = "open", _("to review")
    MERGED = "merged", _("merged")
    NOT_DUPLICATES = "not_duplicates", _("not duplicates")


class DuplicateCandidate(models.Model):
    """Two customers that may be one person: the smaller id first, the probability the model
    gave, and the reasons a person can read. A pair marked "not duplicates" stays, so that no
    later scan proposes it again."""

    customer_a = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    customer_b = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    probability = models.FloatField(_("probability"))
    # [[reason code, weight in bits], ...] strongest first; see customers/dedup/reasons.py.
    reasons = models.JSONField(_("reasons"), default=list)
    # Pairs that chain (A~B, B~C) share a group, named by its smallest customer id.
    group = models.BigIntegerField(_("group"), db_index=True)
    status = models.CharField(
        _("status"), max_length=16, choices=CandidateStatus.choices, default=CandidateStatus.OPEN
    )
    scan = models.ForeignKey(
        DuplicateScan, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    found_at = models.DateTimeField(_("found"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        verbose_name = _("possible duplicate")
        verbose_name_plural = _("possible duplicates")
        constraints = [
            models.UniqueConstraint(
                fields=["customer_a", "customer_b"], name="duplicate_candidate_pair_unique"
            ),
            models.CheckConstraint(
                condition=Q(customer_a__lt=models.F("customer_b")),
                name="duplicate_candidate_ordered",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-probability"], name="duplicate_candidate_queue_idx"),
            models.Index(fields=["customer_b"], name="duplicate_candidate_b_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_a_id} ~ {self.customer_b_id}"


class BulkMerge(BackgroundJob):
    """Merging every reviewed-as-likely group above a probability in one go, in the worker."""

    min_probability = models.FloatField(_("minimum probability"))
    groups_merged = models.PositiveIntegerField(_("groups merged"), default=0)
    groups_skipped = models.PositiveIntegerField(_("groups skipped"), default=0)

    class Meta(BackgroundJob.Meta):
        verbose_name = _("bulk merge")
        verbose_name_plural = _("bulk merges")

    def __str__(self) -> str:
        return f"≥ {self.min_probability:.0%}"


# Custom fields' definitions (customers/custom_fields/): models of this app, in their own module.
from customers.custom_fields.models import FieldChoice, FieldDefinition  # noqa: E402, F401
