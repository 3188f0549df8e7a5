"""The 360° summary of a customer as the API shows it (analytics/summary.py): the profile
masked as the customer page masks it, and the records through their own resources'
serializers."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from analytics.models import CustomerMetrics, Segment
from customers.api.serializers import CustomerSerializer
from customers.models import LifecycleStage
from interactions.api.serializers import (
    FollowUpSerializer,
    InteractionSerializer,
    TransactionSerializer,
)


class MetricsSerializer(serializers.ModelSerializer):
    rfm = serializers.CharField(
        read_only=True,
        help_text=_("R, F and M scores, each 1 (lowest fifth of buyers) to 5; empty: no purchase."),
    )
    churn_risk = serializers.FloatField(
        read_only=True,
        allow_null=True,
        help_text=_("Probability (0–1) of no purchase within churn_horizon_days."),
    )
    churn_risk_level = serializers.CharField(
        read_only=True, help_text=_("low, medium or high; empty without a score.")
    )
    churn_horizon_days = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = CustomerMetrics
        fields = (
            "orders",
            "revenue",
            "average_order_value",
            "first_purchase_at",
            "last_purchase_at",
            "recency_days",
            "repeat_buyer",
            "rfm",
            "recency_score",
            "frequency_score",
            "monetary_score",
            "interactions",
            "interactions_by_kind",
            "complaints",
            "average_satisfaction",
            "churn_risk",
            "churn_risk_level",
            "churn_horizon_days",
            "refreshed_at",
        )
        read_only_fields = fields


class CategorySpendSerializer(serializers.Serializer):
    category = serializers.CharField()
    spend = serializers.DecimalField(max_digits=16, decimal_places=2)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        category, spend = instance
        return super().to_representation({"category": category, "spend": spend})


class PurchaseTotalsSerializer(serializers.Serializer):
    """Paid purchases, as of now (the metrics are as of the nightly refresh)."""

    orders = serializers.IntegerField()
    revenue = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    average_order = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    last_purchase = serializers.DateTimeField(allow_null=True)


class RecordCountsSerializer(serializers.Serializer):
    contacts = serializers.IntegerField()
    interactions = serializers.IntegerField(help_text=_("Archived ones included."))
    open_follow_ups = serializers.IntegerField()


class SegmentMembershipSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="shown_name", read_only=True)

    class Meta:
        model = Segment
        fields = ("id", "name", "kind")
        read_only_fields = fields


class CustomerSummarySerializer(serializers.Serializer):
    customer = CustomerSerializer()
    lifecycle_stage = serializers.ChoiceField(
        choices=LifecycleStage.choices, source="customer.lifecycle_stage"
    )
    metrics = MetricsSerializer(
        allow_null=True, help_text=_("The nightly figures; null before the first refresh.")
    )
    buys_most = CategorySpendSerializer(
        many=True, help_text=_("The product categories the customer spent most on.")
    )
    purchase_totals = PurchaseTotalsSerializer()
    counts = RecordCountsSerializer()
    latest_purchases = TransactionSerializer(many=True)
    latest_interactions = InteractionSerializer(many=True)
    open_follow_ups = FollowUpSerializer(many=True)
    segments = SegmentMembershipSerializer(
        many=True,
        allow_null=True,
        help_text=_("The segments and lists the customer is in; null without segment rights."),
    )
