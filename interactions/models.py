"""What customers bought and every contact with them: products, transactions, interactions,
follow-ups."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from customers.custom_fields.models import values_field
from customers.models import import_job_field
from kernel.free_text import NOTE_LENGTH, BoundedTextField, validate_readable_text
from kernel.models import SystemJob, Versioned


def default_currency() -> str:
    return settings.DEFAULT_CURRENCY


def source_system_field() -> models.CharField:
    """The system a record came from (a shop, a marketplace account, a POS, a service desk);
    with the record's id there, what a repeated import matches on."""
    return models.CharField(
        _("source system"),
        max_length=50,
        blank=True,
        default="",
        db_default="",
        validators=[validate_readable_text],
    )


class Product(Versioned):
    sku = models.CharField(
        _("SKU"), max_length=64, unique=True, validators=[validate_readable_text]
    )
    name = models.CharField(_("name"), max_length=200, validators=[validate_readable_text])
    category = models.CharField(
        _("category"), max_length=100, blank=True, validators=[validate_readable_text]
    )
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2, default=0)
    currency = models.CharField(
        _("currency"), max_length=3, default=default_currency, validators=[validate_readable_text]
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        indexes = [models.Index(fields=["category"], name="product_category_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"


class SalesChannel(models.TextChoices):
    STORE = "store", _("Store")
    ONLINE_SHOP = "online_shop", _("Online shop")
    MARKETPLACE = "marketplace", _("Marketplace")
    POS = "pos", _("POS")
    PHONE = "phone", _("Phone order")
    WHOLESALE = "wholesale", _("Wholesale")
    OTHER = "other", pgettext_lazy("sales channel", "Other")


class TransactionStatus(models.TextChoices):
    PAID = "paid", _("Paid")
    REFUNDED = "refunded", _("Refunded")
    CANCELLED = "cancelled", _("Cancelled")


class Transaction(models.Model):
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="transactions"
    )
    # The system the order came from (a shop, a marketplace account, a POS) and its order number
    # there: unique together, so re-importing an order export matches instead of duplicating.
    source_system = source_system_field()
    external_ref = models.CharField(
        _("order number"), max_length=100, blank=True, validators=[validate_readable_text]
    )
    occurred_at = models.DateTimeField(_("date"))
    channel = models.CharField(_("channel"), max_length=20, choices=SalesChannel.choices)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=TransactionStatus.choices,
        default=TransactionStatus.PAID,
    )
    # What the customer was charged, as the source system recorded it: its order total, else
    # the sum of the lines' totals less the order's discount. Every reader of money reads this.
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    discount = models.DecimalField(
        _("order discount"), max_digits=14, decimal_places=2, default=0, db_default=0
    )
    currency = models.CharField(
        _("currency"), max_length=3, default=default_currency, validators=[validate_readable_text]
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    import_job = import_job_field()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        verbose_name = _("transaction")
        verbose_name_plural = _("transactions")
        indexes = [
            models.Index(fields=["customer", "-occurred_at"], name="transaction_customer_idx"),
            models.Index(fields=["occurred_at"], name="transaction_occurred_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["source_system", "external_ref"],
                condition=~Q(external_ref=""),
                name="transaction_external_ref_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.external_ref or self.pk} {self.amount} {self.currency}"


class TransactionLine(models.Model):
    transaction = models.ForeignKey(Transaction, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.PROTECT, related_name="lines"
    )
    description = models.CharField(
        _("description"), max_length=200, blank=True, validators=[validate_readable_text]
    )
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3, default=1)
    # Four places: a price per gram or per unit of a bulk lot is often below a cent.
    unit_price = models.DecimalField(_("unit price"), max_digits=16, decimal_places=4)
    discount = models.DecimalField(
        _("discount"), max_digits=14, decimal_places=2, default=0, db_default=0
    )
    # The line's money as the source recorded it (after its discount), never recomputed from
    # quantity × unit price: a file's "3 for 29.33" is 29.33, not 3 × 9.78.
    line_total = models.DecimalField(_("line total"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("transaction line")
        verbose_name_plural = _("transaction lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="line_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product or self.description}"


class InteractionKind(models.TextChoices):
    VISIT = "visit", _("Store visit")
    BROWSE = "browse", _("Browse")
    ADD_TO_CART = "add_to_cart", _("Add to cart")
    PURCHASE = "purchase", _("Purchase")
    CONSULT = "consult", _("Consultation")
    COMPLAINT = "complaint", _("Complaint")
    CALL = "call", _("Call")
    EMAIL = "email", _("Email")
    MEETING = "meeting", _("Meeting")
    TICKET = "ticket", _("Service ticket")
    FEEDBACK = "feedback", _("Feedback")
    NOTE = "note", _("Note")


class InteractionChannel(models.TextChoices):
    IN_PERSON = "in_person", _("In person")
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("Email")
    WECHAT = "wechat", _("WeChat")
    SMS = "sms", _("SMS")
    WEBSITE = "website", _("Website")
    APP = "app", _("App")
    OTHER = "other", pgettext_lazy("interaction channel", "Other")


class InteractionDirection(models.TextChoices):
    """Who wrote to whom, where it matters (an email): the customer to staff, or staff to the
    customer."""

    UNSAID = "", _("Not said")
    INCOMING = "in", _("From the customer")
    OUTGOING = "out", _("To the customer")


def _customer_link(related_name: str) -> models.ForeignKey:
    return models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name=related_name
    )


def _contact_link(related_name: str) -> models.ForeignKey:
    return models.ForeignKey(
        "customers.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name=related_name,
    )


def _interaction_constraints(prefix: str) -> list[models.BaseConstraint]:
    return [
        models.CheckConstraint(
            condition=Q(satisfaction__isnull=True) | Q(satisfaction__range=(1, 5)),
            name=f"{prefix}_satisfaction_1_to_5",
        ),
        # Like orders: the system an interaction came from and its id there, unique together.
        models.UniqueConstraint(
            fields=["source_system", "external_ref"],
            condition=~Q(external_ref=""),
            name=f"{prefix}_external_ref_unique",
        ),
    ]


class InteractionRecord(models.Model):
    """The columns of an interaction, shared by the table staff work in (Interaction) and the
    archive its old rows move to (ArchivedInteraction), so that the two cannot drift apart."""

    kind = models.CharField(_("kind"), max_length=20, choices=InteractionKind.choices)
    channel = models.CharField(
        _("channel"), max_length=20, choices=InteractionChannel.choices, blank=True
    )
    occurred_at = models.DateTimeField(_("when"))
    direction = models.CharField(
        _("direction"),
        max_length=3,
        choices=InteractionDirection.choices,
        blank=True,
        default=InteractionDirection.UNSAID,
        db_default=InteractionDirection.UNSAID,
    )
    subject = models.CharField(
        _("subject"), max_length=200, blank=True, validators=[validate_readable_text]
    )
    body = BoundedTextField(
        _("details"), max_length=NOTE_LENGTH, blank=True, validators=[validate_readable_text]
    )
    satisfaction = models.PositiveSmallIntegerField(
        _("satisfaction (1–5)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff member"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    source_system = source_system_field()
    external_ref = models.CharField(
        _("external reference"), max_length=100, blank=True, validators=[validate_readable_text]
    )
    # The values of the custom fields defined for interactions (customers/custom_fields/).
    custom = values_field()
    import_job = import_job_field()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        abstract = True
        ordering = ["-occurred_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d}"


class Interaction(InteractionRecord):
    customer = _customer_link("interactions")
    contact = _contact_link("interactions")

    class Meta(InteractionRecord.Meta):
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        indexes = [
            models.Index(fields=["customer", "-occurred_at"], name="interaction_customer_idx"),
            models.Index(fields=["kind", "occurred_at"], name="interaction_kind_idx"),
        ]
        constraints = _interaction_constraints("interaction")


class ArchivedInteraction(InteractionRecord):
    """An interaction older than INTERACTION_ARCHIVE_AFTER_DAYS, moved here by
    interactions/archive.py so that the table staff work in stays small. It keeps the id it had
    there (links, audit targets and merge records still name it) and is read wherever
    interactions are: the customer page's timeline, metrics, segments, dashboards, imports,
    merges, the data-subject copy, erasure and retention. Rows enter it only through that
    module, whose runs' cutoffs bound how recent an archived row can be (see
    interactions.selectors.archive_may_hold)."""

    # Set from the hot table's sequence, never generated here.
    id = models.BigIntegerField(primary_key=True)
    customer = _customer_link("archived_interactions")
    contact = _contact_link("archived_interactions")
    archived_at = models.DateTimeField(_("archived"))

    # Rows of `archive_of` move here keeping their ids: code that is generic over the tables
    # pointing at a customer (customers/merge.py's undo) looks for a moved row in both.
    archive_of = Interaction

    class Meta(InteractionRecord.Meta):
        verbose_name = _("archived interaction")
        verbose_name_plural = _("archived interactions")
        indexes = [
            models.Index(fields=["customer", "-occurred_at"], name="archived_interaction_cust_idx"),
        ]
        constraints = _interaction_constraints("archived_interaction")


class ArchiveRun(SystemJob):
    """One run of interactions/archive.py: the cutoff it archived before, the rows due when it
    started (`rows_total`) and moved so far (`rows_done`, committed with each batch), status
    and failure. A dry run only counts."""

    cutoff = models.DateTimeField(_("archived interactions before"))
    dry_run = models.BooleanField(_("dry run"), default=False)

    class Meta(SystemJob.Meta):
        verbose_name = _("interaction archive run")
        verbose_name_plural = _("interaction archive runs")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M}{' (dry run)' if self.dry_run else ''}"


class FollowUp(Versioned):
    """A task on a customer: call back, send a quote, visit."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="follow_ups"
    )
    title = models.CharField(_("what to do"), max_length=200, validators=[validate_readable_text])
    notes = BoundedTextField(
        _("notes"), max_length=NOTE_LENGTH, blank=True, validators=[validate_readable_text]
    )
    due_at = models.DateTimeField(_("due date"))
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.PROTECT,
        related_name="follow_ups",
    )
    done_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("completed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["due_at", "pk"]
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        indexes = [
            models.Index(fields=["assignee", "done_at", "due_at"], name="followup_assignee_idx"),
            models.Index(fields=["customer", "due_at"], name="followup_customer_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_done(self) -> bool:
        return self.done_at is not None
