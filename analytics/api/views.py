"""/api/v1/customers/{id}/summary/: the 360° summary with the nightly metrics. It reads
analytics, so it lives here and is wired only by crm/api.py (nothing else imports analytics)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from analytics.api.serializers import CustomerSummarySerializer
from analytics.summary import customer_summary
from customers import services
from customers.models import Customer
from customers.selectors import can_view_personal_data, get_customer_for
from kernel.api.views import ApiViewSet


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
