from __future__ import annotations

import json

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from connectors.models import DeliveryStatus, GenericFeed, Platform, SignatureScheme
from customers.imports.forms import ColumnMappingForm
from customers.imports.jobs import importable_kinds
from kernel.version_forms import VERSION_FIELD

_SECRET_HELP = _(
    "Shopify: the key under Settings › Notifications › Webhooks (“Your webhooks will be signed "
    "with …”), or your app's client secret. WooCommerce: the secret you enter with each webhook. "
    "It is stored encrypted and never shown again."
)


_GENERIC_SECRET_HELP = _(
    "A long random secret you also give the sending system; it signs each body with it. "
    "Stored encrypted and never shown again."
)
# The most keys a sample may have: a payload with more is not one record's.
MAX_KEYS = 500


class SecretField(forms.CharField):
    def __init__(self, help_text=_SECRET_HELP, **kwargs) -> None:
        super().__init__(
            label=_("Signing secret"),
            max_length=500,
            strip=True,
            widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
            help_text=help_text,
            **kwargs,
        )


class ConnectorForm(forms.Form):
    """A new connector; the service (connectors/services.py) checks the address for the
    platform and saves it."""

    platform = forms.ChoiceField(
        label=_("Platform"),
        choices=[choice for choice in Platform.choices if choice[0] != Platform.GENERIC],
    )
    name = forms.CharField(label=_("Name"), max_length=100)
    shop_url = forms.CharField(
        label=_("Shop address"),
        max_length=200,
        help_text=_("Shopify: example.myshopify.com. WooCommerce: the shop's address."),
    )
    secret = SecretField()


class _SignatureFields(forms.Form):
    signature_scheme = forms.ChoiceField(
        label=_("How deliveries are signed"), choices=SignatureScheme.choices
    )
    signature_header = forms.CharField(
        label=_("Signature header"),
        max_length=60,
        required=False,
        initial="X-Signature",
        help_text=_("For HMAC-SHA256: the header holding sha256=<hex>."),
    )
    client_id = forms.CharField(
        label=_("Client id"),
        max_length=100,
        required=False,
        help_text=_("For Youzan Cloud: the app's client_id, part of what Event-Sign digests."),
    )


class GenericConnectorForm(_SignatureFields):
    """A new generic webhook; the service (connectors/services.py) checks the name."""

    name = forms.CharField(label=_("Name"), max_length=100)
    system_name = forms.CharField(
        label=_("Source system"),
        max_length=50,
        help_text=_(
            "The system's name as the CRM records it beside its ids, e.g. youzan or pos-store-1."
        ),
    )
    kind = forms.ChoiceField(label=_("What its deliveries hold"), choices=importable_kinds)
    secret = SecretField(help_text=_GENERIC_SECRET_HELP)

    field_order = ["name", "system_name", "kind"]


class SampleForm(forms.Form):
    """A sample payload pasted on the mapping page: read for its keys, never stored."""

    sample = forms.CharField(
        label=_("Sample payload (JSON)"),
        widget=forms.Textarea(attrs={"rows": 8, "class": "font-monospace"}),
        max_length=settings.CONNECTORS_MAX_BODY_BYTES,
    )
    records_key = forms.CharField(
        label=_("Records under the key"),
        max_length=100,
        required=False,
        help_text=_("When the body wraps its records, e.g. data or msg; else leave empty."),
    )


class FeedForm(_SignatureFields, ColumnMappingForm):
    """A generic webhook's settings and its mapping: one select per key of the sample."""

    keys = forms.CharField(widget=forms.HiddenInput)
    records_key = forms.CharField(label=_("Records under the key"), max_length=100, required=False)
    delivery_id_key = forms.CharField(
        label=_("Delivery id key"),
        max_length=100,
        required=False,
        help_text=_("A key of the body naming the delivery, e.g. id or msg_id."),
    )
    delivery_id_header = forms.CharField(
        label=_("Delivery id header"),
        max_length=60,
        required=False,
        help_text=_("Or a header naming it, e.g. X-Request-Id. Without either: the body's digest."),
    )
    updated_at_key = forms.CharField(
        label=_("Updated time key"),
        max_length=100,
        required=False,
        help_text=_("A key with the record's last change in the source; an older one is ignored."),
    )
    policy = forms.ChoiceField(
        label=_("Existing records"), choices=GenericFeed._meta.get_field("policy").choices
    )
    source_channel = forms.ChoiceField(
        label=_("Source channel of new customers"),
        choices=GenericFeed._meta.get_field("source_channel").choices,
    )

    def __init__(self, *args, keys, fields, **kwargs) -> None:
        super().__init__(*args, headers=keys, fields=fields, **kwargs)
        self.fields[VERSION_FIELD] = forms.IntegerField(
            required=False, min_value=1, widget=forms.HiddenInput
        )

    def option_fields(self):
        hidden = {"keys", VERSION_FIELD}
        return [field for field in super().option_fields() if field.name not in hidden]


def keys_of(data) -> list[str]:
    """The sample's keys a submitted FeedForm carries (hidden, as JSON); none when unreadable."""
    try:
        keys = json.loads(data.get("keys") or "[]")
    except ValueError:
        return []
    if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
        return []
    return [key[:100] for key in keys[:MAX_KEYS]]


class SecretForm(forms.Form):
    secret = SecretField()


class BackfillForm(forms.Form):
    file = forms.FileField(
        label=_("Export file"),
        help_text=_(
            "Shopify: the JSONL file of a bulk operation. WooCommerce: the JSON the REST API "
            "answers for customers or orders."
        ),
    )


class DeliveryFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Every status")), *DeliveryStatus.choices],
    )
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
