"""Shop connectors: a shop (Shopify, WooCommerce) that tells the CRM of its customers, orders,
refunds and privacy requests by signed webhooks, or another system (有赞, a POS, a form tool)
whose signed JSON a saved field mapping turns into import records (GenericFeed). Each
delivery is stored as received before it is acknowledged, then applied by the worker
(connectors/apply.py); what the shop last said about each of its objects (SourceRecord) keeps
a late or repeated delivery from undoing a newer one."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import ImportKind, SourceChannel, UpdatePolicy
from kernel.free_text import validate_readable_text
from kernel.models import BackgroundJob, Versioned


class Platform(models.TextChoices):
    SHOPIFY = "shopify", "Shopify"
    WOOCOMMERCE = "woocommerce", "WooCommerce"
    GENERIC = "generic", _("Generic webhook")


class Connector(models.Model):
    """One shop: where it is, the secret its webhooks are signed with (encrypted, never shown
    again), the public key in its intake address, and the service account as whom its
    deliveries are written and audited."""

    platform = models.CharField(_("platform"), max_length=20, choices=Platform.choices)
    name = models.CharField(_("name"), max_length=100, validators=[validate_readable_text])
    # A generic webhook has no address: the system calls the CRM.
    shop_url = models.CharField(
        _("shop address"), max_length=200, blank=True, validators=[validate_readable_text]
    )
    # "<platform>:<shop host>", or the name an administrator gives a generic webhook's system
    # ("youzan"): the source system of its customers' external ids and of its orders
    # (customers.ExternalId.system, interactions.Transaction.source_system). A system may
    # push customers and orders through two generic webhooks; a shop has one connector.
    system_name = models.CharField(_("source system"), max_length=50)
    secret_encrypted = models.TextField(editable=False)
    secret_changed_at = models.DateTimeField(_("secret entered"), default=timezone.now)
    # The unguessable part of the intake address (/inbound/<public_key>/): no secret, the
    # signature is what proves a delivery.
    public_key = models.CharField(max_length=40, unique=True, editable=False)
    service_account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("service account"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    paused_at = models.DateTimeField(_("paused"), null=True, blank=True)
    # Deliveries refused for a wrong signature: counted, never stored.
    refused_signatures = models.PositiveIntegerField(_("signatures refused"), default=0)
    last_refused_at = models.DateTimeField(_("last signature refused"), null=True, blank=True)
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
        verbose_name = _("shop connector")
        verbose_name_plural = _("shop connectors")
        ordering = ["name", "pk"]
        permissions = [("manage_connectors", _("Manage shop connectors"))]
        constraints = [
            models.UniqueConstraint(
                fields=["system_name"],
                condition=~models.Q(platform="generic"),
                name="connector_shop_once",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_paused(self) -> bool:
        return self.paused_at is not None


class DeliveryStatus(models.TextChoices):
    RECEIVED = "received", _("Waiting to be applied")
    APPLIED = "applied", _("Applied")
    SKIPPED = "skipped", _("Nothing to apply")
    FAILED = "failed", _("Failed")


class InboundDelivery(models.Model):
    """One webhook delivery as the shop sent it. The platform's delivery id is unique per
    connector, so a delivery sent again is stored once and applied once. The raw body holds
    personal data: it is cleared CONNECTORS_RAW_DAYS after it was applied, and at once when
    the person is erased."""

    connector = models.ForeignKey(
        Connector,
        verbose_name=_("connector"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    topic = models.CharField(_("topic"), max_length=60)
    delivery_id = models.CharField(_("delivery id"), max_length=100)
    body = models.TextField(_("body"), blank=True)
    body_cleared_at = models.DateTimeField(_("body cleared"), null=True, blank=True)
    # The headers that say what the delivery is (topic, shop, API version, when triggered).
    headers = models.JSONField(_("headers"), default=dict)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.RECEIVED
    )
    # Why it failed or was skipped, or what applying it did when that is not plain (a
    # request for a person the CRM does not know): in words, without personal data.
    note = models.TextField(_("note"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    applied_at = models.DateTimeField(_("applied"), null=True, blank=True)
    # The shop's id of the customer the delivery is about, and ours once applied: an erasure
    # clears the bodies of that person's deliveries, applied or not.
    subject_ref = models.CharField(max_length=100, blank=True)
    customer_id = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("inbound delivery")
        verbose_name_plural = _("inbound deliveries")
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["connector", "delivery_id"], name="connector_delivery_once"
            ),
        ]
        indexes = [
            models.Index(
                fields=["received_at"],
                condition=models.Q(status="received"),
                name="connector_delivery_backlog",
            ),
            models.Index(fields=["connector", "-id"], name="connector_delivery_log"),
            models.Index(fields=["received_at"], name="connector_delivery_age"),
            models.Index(fields=["customer_id"], name="connector_delivery_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.topic} {self.delivery_id}"


class SourceKind(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    ORDER = "order", _("Order")
    INTERACTION = "interaction", _("Interaction")


class SourceRecord(models.Model):
    """What a shop last said about one of its objects: its own updated time (a delivery that
    is older changes nothing), the local record it became, and for an order what its amount
    is made of (total, status, each refund), whatever order the deliveries came in."""

    system = models.CharField(max_length=50)
    kind = models.CharField(max_length=12, choices=SourceKind.choices)
    external_id = models.CharField(max_length=100)
    source_updated_at = models.DateTimeField(null=True, blank=True)
    local_id = models.PositiveBigIntegerField(null=True, blank=True)
    details = models.JSONField(default=dict)
    recorded_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("source record")
        verbose_name_plural = _("source records")
        constraints = [
            models.UniqueConstraint(
                fields=["system", "kind", "external_id"], name="source_record_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.system} {self.kind} {self.external_id}"


class SignatureScheme(models.TextChoices):
    # GitHub's, and many POS systems': X-Signature: sha256=<hex>, the header name configurable.
    HMAC_SHA256_HEX = "hmac_sha256_hex", _("HMAC-SHA256 of the body, hex (sha256=…)")
    # 有赞云's message push: Event-Sign: hex MD5 of client id + body + client secret.
    YOUZAN = "youzan", _("Youzan Cloud push (Event-Sign)")


class GenericFeed(Versioned):
    """What a generic webhook's deliveries hold and how to read them: the kind of import
    records, how they are signed, where the records, the delivery's id and the source's
    updated time are in the body, and the field mapping ({flattened key: import field}).
    Administrators change it through connectors/services.py, which audits each version."""

    connector = models.OneToOneField(
        Connector, verbose_name=_("connector"), on_delete=models.CASCADE, related_name="feed"
    )
    kind = models.CharField(_("deliveries hold"), max_length=20, choices=ImportKind.choices)
    signature_scheme = models.CharField(
        _("signature"),
        max_length=20,
        choices=SignatureScheme.choices,
        default=SignatureScheme.HMAC_SHA256_HEX,
    )
    signature_header = models.CharField(_("signature header"), max_length=60, default="X-Signature")
    # 有赞云's client id, part of what its Event-Sign digests (not a secret).
    client_id = models.CharField(_("client id"), max_length=100, blank=True)
    records_key = models.CharField(_("records under the key"), max_length=100, blank=True)
    delivery_id_key = models.CharField(_("delivery id key"), max_length=100, blank=True)
    delivery_id_header = models.CharField(_("delivery id header"), max_length=60, blank=True)
    updated_at_key = models.CharField(_("updated time key"), max_length=100, blank=True)
    policy = models.CharField(
        _("existing records"),
        max_length=10,
        choices=[
            (UpdatePolicy.OVERWRITE.value, UpdatePolicy.OVERWRITE.label),
            (UpdatePolicy.FILL.value, UpdatePolicy.FILL.label),
        ],
        default=UpdatePolicy.OVERWRITE,
    )
    source_channel = models.CharField(
        _("source channel of new customers"),
        max_length=20,
        choices=SourceChannel.choices,
        default=SourceChannel.OTHER,
    )
    mapping = models.JSONField(_("field mapping"), default=dict, blank=True)
    # The keys of the sample last read (names only, never values): the mapping page lists them.
    sample_keys = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("generic webhook settings")
        verbose_name_plural = _("generic webhook settings")

    def __str__(self) -> str:
        return str(self.connector)


class Backfill(BackgroundJob):
    """A shop's own bulk export (Shopify: a GraphQL bulk operation's JSONL; WooCommerce: the
    REST API's JSON array) applied through the same code as the webhooks, in batches, each
    committed with its progress: a job whose worker died goes on after its last batch."""

    connector = models.ForeignKey(
        Connector, verbose_name=_("connector"), on_delete=models.CASCADE, related_name="backfills"
    )
    file = models.FileField(upload_to="connectors/backfills/", blank=True)
    file_name = models.CharField(_("file"), max_length=255)
    file_size = models.PositiveBigIntegerField(default=0)
    # A file is loaded once per connector (unless its job failed or was cancelled).
    file_checksum = models.CharField(max_length=64)
    language = models.CharField(max_length=10, blank=True)
    resumable = models.BooleanField(default=False, editable=False)
    objects_applied = models.PositiveIntegerField(_("applied"), default=0)
    objects_skipped = models.PositiveIntegerField(_("unchanged"), default=0)
    objects_failed = models.PositiveIntegerField(_("failed"), default=0)
    # The first problems: the shop's object id and the reason (no personal data).
    problems = models.JSONField(default=list)

    class Meta(BackgroundJob.Meta):
        verbose_name = _("shop backfill")
        verbose_name_plural = _("shop backfills")
        indexes = [models.Index(fields=["connector", "file_checksum"], name="backfill_file")]

    def __str__(self) -> str:
        return self.file_name
