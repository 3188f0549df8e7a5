"""/api/v1/customers/{id}/summary/: the 360° summary of a customer with the nightly metrics
(analytics/summary.py). The profile is masked as the customer page masks it, and the records go
through their own resources' serializers. It reads analytics, so it lives here and is wired only
by crm/api.py (nothing else imports analytics)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from analytics.models import CustomerMetrics, Segment
from analytics.summary import customer_summary
from customers import services
from customers.api.serializers import CustomerSerializer
from customers.models import Customer, LifecycleStage
from customers.selectors import can_view_personal_data, get_customer_for
from interactions.api.serializers import (
    FollowUpSerializer,
    InteractionSerializer,
    TransactionSerializer,
)
from kernel.api.views import ApiViewSet


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


class CustomerSummaryViewSet(ApiViewSet):
    # For the schema only (the id's type): the customer is read through get_customer_for.
    queryset = Customer.objects.none()
    serializer_class = CustomerSummarySerializer
    lookup_value_regex = "[0-9]+"
    action_permissions = {"summary": ("customers.view_customer",)}

    @extend_schema(responses={200: CustomerSummarySerializer})
    @action(detail=True, methods=["get"], url_path="summary", url_name="summary")
    def summary(self, request: Request, pk: int, **kwargs: Any) -> Response:
        """What the customer page shows, in one read: the profile (masked as on the page),
        lifecycle stage, the nightly metrics (RFM, lifetime value, churn risk), purchase totals,
        counts, the latest purchases and interactions, open follow-ups and segments. Reading
        unmasked personal data is audited, as opening the customer page is."""
        customer = get_customer_for(request.user, pk)
        if can_view_personal_data(request.user, customer):
            services.record_personal_data_view(actor=request.user, customer=customer)
        summary = customer_summary(user=request.user, customer=customer)
        data = CustomerSummarySerializer(summary, context=self.get_serializer_context()).data
        return self.versioned_response(customer, data)
