from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from connectors.models import DeliveryStatus, Platform

_SECRET_HELP = _(
    "Shopify: the key under Settings › Notifications › Webhooks (“Your webhooks will be signed "
    "with …”), or your app's client secret. WooCommerce: the secret you enter with each webhook. "
    "It is stored encrypted and never shown again."
)


class SecretField(forms.CharField):
    def __init__(self, **kwargs) -> None:
        super().__init__(
            label=_("Signing secret"),
            max_length=500,
            strip=True,
            widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
            help_text=_SECRET_HELP,
            **kwargs,
        )


class ConnectorForm(forms.Form):
    """A new connector; the service (connectors/services.py) checks the address for the
    platform and saves it."""

    platform = forms.ChoiceField(label=_("Platform"), choices=Platform.choices)
    name = forms.CharField(label=_("Name"), max_length=100)
    shop_url = forms.CharField(
        label=_("Shop address"),
        max_length=200,
        help_text=_("Shopify: example.myshopify.com. WooCommerce: the shop's address."),
    )
    secret = SecretField()


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
