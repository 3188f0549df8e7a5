"""Exports, and per-customer metrics computed nightly (segments and dashboards build on them)."""

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kernel.free_text import STATEMENT_LENGTH, BoundedTextField, validate_readable_text
from kernel.models import BackgroundJob, SystemJob, Versioned
from privacy.consent import MARKETING_CHANNELS

# What a list of customers may be used for: a marketing channel holds only customers who
# consented to it (privacy.consent.usable_for_list).
MARKETING_CHANNEL_CHOICES = [(channel.value, channel.label) for channel in MARKETING_CHANNELS]


class ExportFormat(models.TextChoices):
    CSV = "csv", _("CSV (Excel opens it with Chinese intact)")
    XLSX = "xlsx", _("Excel workbook (.xlsx)")


class ExportJob(BackgroundJob):
    """One list written to a file by the worker, for the person who asked for it only."""

    format = models.CharField(_("format"), max_length=5, choices=ExportFormat.choices)
    # The list's filter parameters, the search text if the list was a search, the saved view's
    # name if it came from one; the worker reads the same customers the list showed.
    filters = models.JSONField(default=dict, editable=False)
    search = models.CharField(max_length=200, blank=True, editable=False)
    view_name = models.CharField(
        _("saved view"), max_length=100, blank=True, validators=[validate_readable_text]
    )
    columns = models.JSONField(default=list)
    # Personal data left unmasked: only for users holding export_personal_data.
    unmasked = models.BooleanField(_("unmasked"), default=False)
    file = models.FileField(upload_to="exports/%Y/%m/", max_length=300, blank=True)
    language = models.CharField(max_length=10, default="en", editable=False)
    # A marketing channel (privacy.ConsentPurpose): then only customers who consented to it.
    marketing_channel = models.CharField(
        _("used for"),
        max_length=20,
        blank=True,
        choices=MARKETING_CHANNEL_CHOICES,
    )

    class Meta(BackgroundJob.Meta):
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        indexes = [models.Index(fields=["created_by", "-created_at"], name="export_job_user_idx")]

    def __str__(self) -> str:
        return f"{self.get_format_display()} #{self.pk}"


class CustomerMetrics(models.Model):
    """What a customer's history adds up to, recomputed for everyone by one set-based refresh
    (analytics/metrics.py). Purchases are paid transactions; refunded and cancelled ones do not
    count. Scores are quintiles among customers who bought (5 = most recent, most frequent,
    highest spend); customers who never bought have none."""

    # No database constraint: the table is derived, rebuilt whole every night, and Django
    # deletes a customer's row with the customer (CASCADE is done by the ORM). Checking a
    # million deferred foreign keys at the refresh's commit cost a quarter of its time.
    customer = models.OneToOneField(
        "customers.Customer",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="metrics",
        verbose_name=_("customer"),
        db_constraint=False,
    )
    orders = models.PositiveIntegerField(_("orders"), default=0)
    revenue = models.DecimalField(_("lifetime value"), max_digits=16, decimal_places=2, default=0)
    average_order_value = models.DecimalField(
        _("average order value"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    first_purchase_at = models.DateTimeField(_("first purchase"), null=True, blank=True)
    last_purchase_at = models.DateTimeField(_("last purchase"), null=True, blank=True)
    recency_days = models.PositiveIntegerField(_("days since last purchase"), null=True, blank=True)
    repeat_buyer = models.BooleanField(_("bought again"), default=False)
    recency_score = models.PositiveSmallIntegerField(_("R"), null=True, blank=True)
    frequency_score = models.PositiveSmallIntegerField(_("F"), null=True, blank=True)
    monetary_score = models.PositiveSmallIntegerField(_("M"), null=True, blank=True)
    interactions = models.PositiveIntegerField(_("interactions"), default=0)
    # {interaction kind: count}, kinds without any left out.
    interactions_by_kind = models.JSONField(_("interactions by kind"), default=dict)
    complaints = models.PositiveIntegerField(_("complaints"), default=0)
    average_satisfaction = models.FloatField(_("average satisfaction"), null=True, blank=True)
    refreshed_at = models.DateTimeField(_("refreshed"))
    # Probability (0–1) of no paid purchase within CHURN_HORIZON_DAYS, written by the churn
    # model (analytics/churn.py); a metrics refresh carries it over. None: never bought, not
    # scored yet, or the model had too little data (its ChurnModel row says which).
    churn_risk = models.FloatField(_("churn risk"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer metrics")
        verbose_name_plural = _("customer metrics")
        permissions = [
            ("view_dashboards", _("Can read the dashboards")),
            ("refresh_metrics", _("Can recompute metrics and segments on demand")),
        ]
        indexes = [
            models.Index(fields=["-revenue"], name="metrics_revenue_idx"),
            models.Index(fields=["last_purchase_at"], name="metrics_last_purchase_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.rfm}"

    @property
    def rfm(self) -> str:
        """ "545": R, F and M scores; "" for a customer who never bought."""
        scores = (self.recency_score, self.frequency_score, self.monetary_score)
        return "".join(str(score) for score in scores) if all(scores) else ""

    @property
    def churn_risk_level(self) -> str:
        """ "low" (under 30 %), "medium" (under 60 %) or "high"; "" without a score."""
        if self.churn_risk is None:
            return ""
        if self.churn_risk < 0.3:
            return "low"
        return "medium" if self.churn_risk < 0.6 else "high"


class MetricsRun(SystemJob):
    """One run of the nightly analytics (analytics/nightly.py): every customer's metrics and
    lifecycle stage, then the churn model, the segments and the dashboards' figures; or, for
    the refresh_metrics command, the metrics and stages alone."""

    # None until the run starts: then the time it starts, unless its caller chose one.
    as_of = models.DateTimeField(_("as of"), null=True, blank=True)
    metrics_only = models.BooleanField(_("metrics and stages only"), default=False)
    # When its metrics and stages were committed, ahead of the rest of the run: the figures
    # the dashboards read from then on (analytics/dashboards/cache.py).
    computed_at = models.DateTimeField(_("metrics computed"), null=True, blank=True)
    customers = models.PositiveIntegerField(_("customers"), default=0)
    stage_changes = models.PositiveIntegerField(_("stage changes"), default=0)
    seconds = models.FloatField(null=True, blank=True, editable=False)

    class Meta(SystemJob.Meta):
        verbose_name = _("metrics refresh")
        verbose_name_plural = _("metrics refreshes")

    def __str__(self) -> str:
        return f"{self.as_of or self.created_at:%Y-%m-%d %H:%M}"


class ChurnOutcome(models.TextChoices):
    SCORED = "scored", _("Scored")
    TOO_LITTLE_DATA = "too_little_data", _("Too little data")


class ChurnModel(SystemJob):
    """One training of the churn model (analytics/churn.py): trained on the buyers as of one
    cutoff, its quality measured on the next, later period, then refitted on that period and
    used to score every active buyer. Without enough data there is no model and no scores, and
    `reason` with `reason_values` says why (shown translated, see `reason_text`). The job
    runner writes its status; a training that ended says in `outcome` what came of it."""

    as_of = models.DateTimeField(_("as of"))
    horizon_days = models.PositiveIntegerField(_("horizon (days)"))
    outcome = models.CharField(
        _("outcome"), max_length=20, choices=ChurnOutcome.choices, blank=True, editable=False
    )
    # Why there are no scores: a key that analytics.churn.reason_text knows and the figures
    # its message names, so that each reader sees it in their own language.
    reason = models.CharField(max_length=30, blank=True, editable=False)
    reason_values = models.JSONField(default=dict, blank=True, editable=False)
    training_customers = models.PositiveIntegerField(_("training customers"), default=0)
    training_churn_rate = models.FloatField(_("training churn rate"), null=True, blank=True)
    held_out_customers = models.PositiveIntegerField(_("held-out customers"), default=0)
    held_out_churn_rate = models.FloatField(_("held-out churn rate"), null=True, blank=True)
    # Area under the ROC curve on the held-out period, of the model and, for comparison, of
    # ranking by days since the last purchase alone.
    auc = models.FloatField(_("AUC (held out)"), null=True, blank=True)
    recency_auc = models.FloatField(_("AUC of days since last purchase"), null=True, blank=True)
    scored_customers = models.PositiveIntegerField(_("customers scored"), default=0)
    seconds = models.FloatField(null=True, blank=True, editable=False)

    class Meta(SystemJob.Meta):
        verbose_name = _("churn model")
        verbose_name_plural = _("churn models")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.outcome or self.status}"

    @property
    def training_cutoff(self) -> datetime.datetime:
        """Trained on the customers who had bought before this, labelled by the next horizon."""
        return self.as_of - 2 * datetime.timedelta(days=self.horizon_days)

    @property
    def held_out_cutoff(self) -> datetime.datetime:
        """Measured (AUC) on the customers who had bought before this, up to `as_of`."""
        return self.as_of - datetime.timedelta(days=self.horizon_days)

    @property
    def reason_text(self) -> str:
        from analytics.churn import reason_text

        return reason_text(self)


class SegmentKind(models.TextChoices):
    DYNAMIC = "dynamic", _("dynamic (rules)")
    STATIC = "static", _("static list")


class Segment(Versioned):
    """A group of customers: by rules (analytics/segments/), refreshed by a job, or a list
    filled by hand."""

    name = models.CharField(
        _("name"), max_length=100, unique=True, validators=[validate_readable_text]
    )
    # Ready-made segments have a key (their name is shown translated); others have none.
    key = models.CharField(max_length=40, blank=True, editable=False)
    description = BoundedTextField(
        _("description"),
        max_length=STATEMENT_LENGTH,
        blank=True,
        validators=[validate_readable_text],
    )
    kind = models.CharField(
        _("kind"), max_length=10, choices=SegmentKind.choices, default=SegmentKind.DYNAMIC
    )
    rules = models.JSONField(_("rules"), default=dict, blank=True)
    marketing_channel = models.CharField(
        _("used for"),
        max_length=20,
        blank=True,
        choices=MARKETING_CHANNEL_CHOICES,
        help_text=_("For marketing, only the customers who consented to that channel are in it."),
    )
    members = models.ManyToManyField(
        "customers.Customer", through="SegmentMember", related_name="segments"
    )
    size = models.PositiveIntegerField(_("size"), default=0)
    refreshed_at = models.DateTimeField(_("refreshed"), null=True, blank=True)
    refresh_seconds = models.FloatField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=~models.Q(key=""), name="segment_key_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.shown_name

    @property
    def shown_name(self) -> str:
        """The name in the reader's language for a ready-made segment not renamed."""
        from analytics.segments.selectors import shown_name

        return shown_name(self)


class SegmentMember(models.Model):
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships")
    # No reverse name, so a merge's generic move of related rows skips memberships: dynamic
    # segments are recomputed, and static lists are carried over by analytics/segments/merges.py.
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["segment", "customer"], name="segment_member_unique"),
        ]
        indexes = [models.Index(fields=["customer"], name="segment_member_customer_idx")]

    def __str__(self) -> str:
        return f"{self.segment_id}: {self.customer_id}"


class SegmentSize(models.Model):
    """A segment's size after each refresh: its history."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="sizes")
    at = models.DateTimeField()
    size = models.PositiveIntegerField()

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["segment", "-at"], name="segment_size_idx")]

    def __str__(self) -> str:
        return f"{self.segment_id}: {self.size}"


class SegmentRefresh(SystemJob):
    """One refresh of a dynamic segment's members on the worker, after the segment was saved
    or someone asked for it (analytics/segments/refresh.py): what its page shows while it is
    queued or running, and why it failed. The nightly run refreshes segments in its own run."""

    segment = models.ForeignKey(
        Segment, on_delete=models.CASCADE, related_name="refreshes", verbose_name=_("segment")
    )
    size_before = models.PositiveIntegerField(_("size before"), null=True, blank=True)
    size_after = models.PositiveIntegerField(_("size after"), null=True, blank=True)
    language = models.CharField(max_length=10, default="en", editable=False)

    class Meta(SystemJob.Meta):
        verbose_name = _("segment refresh")
        verbose_name_plural = _("segment refreshes")

    def __str__(self) -> str:
        return f"{self.segment_id} #{self.pk}"
