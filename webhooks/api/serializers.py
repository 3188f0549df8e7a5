"""Webhook subscriptions and their delivery log as the API shows and takes them: the fields of
the subscription form (webhooks/forms.py) and of the log on the subscription's page."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from kernel import outbox
from webhooks import selectors
from webhooks.models import Delivery, DeliveryStatus, Subscription


class SubscriptionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Subscription
        fields = (
            "id",
            "name",
            "target_url",
            "topics",
            "service_account",
            "owner",
            "is_active",
            "paused_reason",
            "paused_at",
            "failing_since",
            "last_success_at",
            "created_at",
        )
        read_only_fields = fields


class NewSecretSerializer(SubscriptionSerializer):
    """A subscription with its signing secret: this answer is the only time it is shown."""

    secret = serializers.CharField(
        read_only=True,
        help_text=_("The signing secret (whsec_...): shown in this answer only, never again."),
    )

    class Meta(SubscriptionSerializer.Meta):
        fields = (*SubscriptionSerializer.Meta.fields, "secret")
        read_only_fields = fields


class SubscriptionWriteSerializer(serializers.Serializer):
    """The subscription form's fields; the service checks the address and the events."""

    name = serializers.CharField(max_length=100)
    target_url = serializers.URLField(
        max_length=500,
        help_text=_("Where events are POSTed, signed per the Standard Webhooks specification."),
    )
    topics = serializers.ListField(
        child=serializers.ChoiceField(choices=()),
        allow_empty=False,
        help_text=_("The events to be told of."),
    )
    service_account = serializers.PrimaryKeyRelatedField(
        queryset=selectors.service_accounts(),
        help_text=_("Payloads are masked and scoped with this account's permissions."),
    )
    owner = serializers.PrimaryKeyRelatedField(
        queryset=selectors.owners(),
        help_text=_("Told by mail when the subscription is paused for failing."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The topics the apps registered (kernel/outbox.py), known once they are all ready.
        self.fields["topics"].child.choices = [topic.name for topic in outbox.topics()]


class DeliverySerializer(serializers.ModelSerializer):
    message_id = serializers.CharField(
        read_only=True, help_text=_("The webhook-id header, the same on every retry and replay.")
    )
    status = serializers.ChoiceField(choices=DeliveryStatus.choices, read_only=True)

    class Meta:
        model = Delivery
        fields = (
            "id",
            "event",
            "message_id",
            "topic",
            "status",
            "attempts",
            "next_attempt_at",
            "last_attempt_at",
            "last_status_code",
            "last_duration_ms",
            "last_response",
            "delivered_at",
            "replay_of",
            "created_at",
        )
        read_only_fields = fields
