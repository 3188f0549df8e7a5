"""/api/v1/webhook-subscriptions/: the administrators' webhook pages (webhooks/views.py) as a
resource — the subscriptions, their settings, secret rotation, pause and resume, the delivery
log and replays — with the pages' permission (`webhooks.manage_webhooks`), every write through
webhooks/services.py. A new or rotated secret is in that one answer only."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from kernel.api.views import ApiViewSet
from webhooks import selectors, services
from webhooks.api.serializers import (
    DeliverySerializer,
    NewSecretSerializer,
    SubscriptionSerializer,
    SubscriptionWriteSerializer,
)
from webhooks.forms import DeliveryFilterForm
from webhooks.models import DeliveryStatus, Subscription
from webhooks.views import MANAGE

_MANAGE = (MANAGE,)


def _with_secret(new: services.NewSecret) -> dict[str, Any]:
    return {**SubscriptionSerializer(new.subscription).data, "secret": new.secret}


class SubscriptionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, ApiViewSet
):
    queryset = Subscription.objects.none()
    serializer_class = SubscriptionSerializer
    lookup_value_regex = "[0-9]+"
    action_permissions = dict.fromkeys(
        (
            "list",
            "retrieve",
            "create",
            "partial_update",
            "destroy",
            "rotate",
            "pause",
            "resume",
            "deliveries",
            "replay",
        ),
        _MANAGE,
    )
    # The signing secret is not kept with a create's or rotation's stored answer: a retry
    # with the same Idempotency-Key gets the subscription without it (rotate again to get one).
    idempotency_omitted_fields = {"create": ("secret",), "rotate": ("secret",)}

    def visible_queryset(self) -> QuerySet[Subscription]:
        return selectors.subscriptions()

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Webhook subscriptions with their health (active, why paused, failing since, last
        success), a cursor page at a time."""
        return super().list(request, *args, **kwargs)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """One subscription: its settings and health; never its secret."""
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(request=SubscriptionWriteSerializer, responses={201: NewSecretSerializer})
    def create(self, request: Request) -> Response:
        """Subscribe a URL to events. The answer holds the signing secret, the only time it is
        shown. An address deliveries may not go to (private network, unresolvable) is 400."""
        incoming = SubscriptionWriteSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        new = services.create_subscription(actor=request.user, **incoming.validated_data)
        return Response(
            _with_secret(new),
            status=status.HTTP_201_CREATED,
            headers={
                "Location": reverse("api:webhook-subscription-detail", args=[new.subscription.pk]),
                "Cache-Control": "no-store",
            },
        )

    @extend_schema(
        request=SubscriptionWriteSerializer(partial=True), responses={200: SubscriptionSerializer}
    )
    def partial_update(self, request: Request, pk: int) -> Response:
        """Change the name, address, events, service account or owner; only a real change is
        written and audited. Events already relayed keep the payload they were masked with."""
        subscription = self.get_object()
        incoming = SubscriptionWriteSerializer(data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        subscription = services.update_subscription(
            actor=request.user, subscription=subscription, **incoming.validated_data
        )
        return Response(SubscriptionSerializer(subscription).data)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Remove a subscription and its delivery log; audited."""
        services.delete_subscription(actor=request.user, subscription=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: NewSecretSerializer})
    @action(detail=True, methods=["post"])
    def rotate(self, request: Request, pk: int) -> Response:
        """A new signing secret, in this answer only; the previous one keeps signing beside it
        for WEBHOOKS_SECRET_OVERLAP_HOURS so the receiver can switch without a lost delivery."""
        new = services.rotate_secret(actor=request.user, subscription=self.get_object())
        return Response(_with_secret(new), headers={"Cache-Control": "no-store"})

    @extend_schema(request=None, responses={200: SubscriptionSerializer})
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: int) -> Response:
        """Stop deliveries; events keep being collected for the resume. Idempotent."""
        subscription = services.pause_subscription(
            actor=request.user, subscription=self.get_object()
        )
        return Response(SubscriptionSerializer(subscription).data)

    @extend_schema(request=None, responses={200: SubscriptionSerializer})
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: int) -> Response:
        """Deliver again: what waited is sent now, the failure clock starts afresh.
        Idempotent."""
        subscription = services.resume_subscription(
            actor=request.user, subscription=self.get_object()
        )
        return Response(SubscriptionSerializer(subscription).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=[*DeliveryStatus.values]),
            OpenApiParameter("limit", OpenApiTypes.INT),
        ],
        responses={200: DeliverySerializer(many=True)},
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: int) -> Response:
        """The subscription's delivery log, newest first, a cursor page at a time: status,
        attempts, response code and time, the start of the answer; `status` for one kind."""
        subscription = self.get_object()
        filters = DeliveryFilterForm(request.query_params)
        if not filters.is_valid():
            raise exceptions.ValidationError(filters.errors)
        log = selectors.deliveries_of(subscription, status=filters.cleaned_data["status"] or "")
        page = self.paginate_queryset(log)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(request=None, responses={201: DeliverySerializer})
    @action(
        detail=True,
        methods=["post"],
        url_path=r"deliveries/(?P<record_pk>[0-9]+)/replay",
        url_name="replay",
    )
    def replay(self, request: Request, pk: int, record_pk: int) -> Response:
        """Send one of the subscription's deliveries again, as a new delivery due now with the
        same body and webhook-id; answers the new delivery."""
        subscription = self.get_object()
        delivery = get_object_or_404(subscription.deliveries, pk=record_pk)
        replay = services.replay_delivery(actor=request.user, delivery=delivery)
        return Response(DeliverySerializer(replay).data, status=status.HTTP_201_CREATED)
