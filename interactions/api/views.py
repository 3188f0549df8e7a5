"""/api/v1/products/, /transactions/, /interactions/ and /follow-ups/: what customers bought
and every contact with them, through the same selectors and services as the customer page, with
its permissions. Records are scoped through their customer: one of a customer out of the
caller's scope answers 404; a new record for a customer the caller may see but not edit, 403."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from customers.api.views import IF_MATCH, editable_customer_named, editable_record_of
from interactions import services
from interactions.api.serializers import (
    FollowUpCreateSerializer,
    FollowUpSerializer,
    FollowUpWriteSerializer,
    InteractionCreateSerializer,
    InteractionSerializer,
    ProductCreateSerializer,
    ProductSerializer,
    ProductWriteSerializer,
    TransactionCreateSerializer,
    TransactionSerializer,
)
from interactions.models import (
    FollowUp,
    Interaction,
    InteractionKind,
    InteractionRecord,
    Product,
    Transaction,
)
from interactions.selectors import (
    follow_ups_visible_to,
    interactions_visible_to,
    transactions_visible_to,
)
from kernel.api.concurrency import expected_version
from kernel.api.filters import IdFilter, InstantFilter
from kernel.api.views import ApiViewSet


def _customer_filter() -> IdFilter:
    return IdFilter(field_name="customer_id", help_text=_("A customer's id."))


def _occurred(lookup: str, text: str) -> InstantFilter:
    return InstantFilter(field_name="occurred_at", lookup_expr=lookup, help_text=text)


class ProductFilter(filters.FilterSet):
    sku = filters.CharFilter()
    category = filters.CharFilter()
    is_active = filters.BooleanFilter()

    class Meta:
        model = Product
        fields = ("sku", "category", "is_active")


class ProductViewSet(mixins.ListModelMixin, ApiViewSet):
    """The product catalogue, with the permissions of Django admin's product pages (products
    are never deleted: past orders refer to them)."""

    queryset = Product.objects.none()
    serializer_class = ProductSerializer
    filterset_class = ProductFilter
    lookup_value_regex = "[0-9]+"
    action_permissions = {
        "list": ("interactions.view_product",),
        "retrieve": ("interactions.view_product",),
        "create": ("interactions.add_product",),
        "partial_update": ("interactions.change_product",),
    }

    def visible_queryset(self) -> QuerySet[Product]:
        return Product.objects.all()

    def respond(self, product: Product, **kwargs: Any) -> Response:
        return self.versioned_response(product, ProductSerializer(product).data, **kwargs)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Products, newest first."""
        return super().list(request, *args, **kwargs)

    def retrieve(self, request: Request, pk: int) -> Response:
        """One product, with its version as ETag."""
        return self.respond(get_object_or_404(self.get_queryset(), pk=pk))

    @extend_schema(request=ProductCreateSerializer, responses={201: ProductSerializer})
    def create(self, request: Request) -> Response:
        """Add a product (its SKU unique). Audited."""
        incoming = ProductCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        product = services.save_product(actor=request.user, **incoming.validated_data)
        return self.respond(
            product,
            status=status.HTTP_201_CREATED,
            headers={"Location": reverse("api:product-detail", args=[product.pk])},
        )

    @extend_schema(
        request=ProductWriteSerializer, responses={200: ProductSerializer}, parameters=[IF_MATCH]
    )
    def partial_update(self, request: Request, pk: int) -> Response:
        """Change some of a product's fields. Needs If-Match: a product changed since answers
        412 and nothing is written."""
        product = get_object_or_404(self.get_queryset(), pk=pk)
        version = expected_version(request)
        incoming = ProductWriteSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        product = services.save_product(
            actor=request.user, product=product, expected_version=version, **incoming.validated_data
        )
        return self.respond(product)


class TransactionFilter(filters.FilterSet):
    customer = _customer_filter()
    occurred_after = _occurred("gte", _("Purchases at or after this time."))
    occurred_before = _occurred("lt", _("Purchases before this time."))

    class Meta:
        model = Transaction
        fields = ("customer", "occurred_after", "occurred_before")


class TransactionViewSet(mixins.ListModelMixin, ApiViewSet):
    """Purchases with their lines. Recorded ones are not changed: a refund or a cancellation
    comes in as an order of its own status."""

    queryset = Transaction.objects.none()
    serializer_class = TransactionSerializer
    filterset_class = TransactionFilter
    lookup_value_regex = "[0-9]+"
    action_permissions = {
        "list": ("customers.view_customer", "interactions.view_transaction"),
        "retrieve": ("customers.view_customer", "interactions.view_transaction"),
        "create": ("customers.view_customer", "interactions.add_transaction"),
    }

    def visible_queryset(self) -> QuerySet[Transaction]:
        return transactions_visible_to(self.request.user).prefetch_related("lines")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Purchases of the customers in the caller's scope, newest recorded first, each with
        its lines."""
        return super().list(request, *args, **kwargs)

    def retrieve(self, request: Request, pk: int) -> Response:
        """One purchase with its lines."""
        return Response(TransactionSerializer(get_object_or_404(self.get_queryset(), pk=pk)).data)

    @extend_schema(request=TransactionCreateSerializer, responses={201: TransactionSerializer})
    def create(self, request: Request) -> Response:
        """Record a purchase of a customer the caller may edit, with its lines. Without
        `amount` the lines' totals are summed; an order number already recorded from the same
        source system answers 400 (send an Idempotency-Key to retry safely)."""
        incoming = TransactionCreateSerializer(data=request.data, context={"request": request})
        incoming.is_valid(raise_exception=True)
        values = dict(incoming.validated_data)
        customer = editable_customer_named(request.user, values.pop("customer"))
        order = services.record_transaction(actor=request.user, customer=customer, **values)
        return Response(
            TransactionSerializer(self.get_queryset().get(pk=order.pk)).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": reverse("api:transaction-detail", args=[order.pk])},
        )


class InteractionFilter(filters.FilterSet):
    customer = _customer_filter()
    kind = filters.ChoiceFilter(choices=InteractionKind.choices)
    occurred_after = _occurred("gte", _("Interactions at or after this time."))
    occurred_before = _occurred("lt", _("Interactions before this time."))

    class Meta:
        # Either table: the one staff work in, or the archive (?archived=true).
        model = InteractionRecord
        fields = ("customer", "kind", "occurred_after", "occurred_before")


ARCHIVED_PARAMETER = OpenApiParameter(
    "archived",
    OpenApiTypes.BOOL,
    description=_(
        "List the archive (interactions older than the archive age, moved nightly) instead of "
        "the recent ones."
    ),
)


class InteractionViewSet(mixins.ListModelMixin, ApiViewSet):
    """Calls, visits, complaints, notes... logged on customers. As on the customer page, they
    are logged, never edited."""

    queryset = Interaction.objects.none()
    serializer_class = InteractionSerializer
    filterset_class = InteractionFilter
    lookup_value_regex = "[0-9]+"
    action_permissions = {
        "list": ("customers.view_customer", "interactions.view_interaction"),
        "retrieve": ("customers.view_customer", "interactions.view_interaction"),
        "create": ("customers.view_customer", "interactions.add_interaction"),
    }

    def visible_queryset(self) -> QuerySet[Any]:
        archived = self.request.query_params.get("archived", "").lower() in ("true", "1")
        # The customer decides whether its personal custom values come out masked.
        return interactions_visible_to(self.request.user, archived=archived).select_related(
            "customer"
        )

    @extend_schema(parameters=[ARCHIVED_PARAMETER])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Interactions with the customers in the caller's scope, newest logged first."""
        return super().list(request, *args, **kwargs)

    def retrieve(self, request: Request, pk: int) -> Response:
        """One interaction, archived or not (it keeps its id in the archive)."""
        for archived in (False, True):
            found = interactions_visible_to(request.user, archived=archived).filter(pk=pk).first()
            if found is not None:
                return Response(
                    InteractionSerializer(found, context=self.get_serializer_context()).data
                )
        raise Http404

    @extend_schema(request=InteractionCreateSerializer, responses={201: InteractionSerializer})
    def create(self, request: Request) -> Response:
        """Log an interaction on a customer the caller may edit; the caller is its staff
        member. A complaint needs the customer's satisfaction (1–5)."""
        incoming = InteractionCreateSerializer(data=request.data, context={"request": request})
        incoming.is_valid(raise_exception=True)
        values = dict(incoming.validated_data)
        customer = editable_customer_named(request.user, values.pop("customer"))
        interaction = services.record_interaction(actor=request.user, customer=customer, **values)
        return Response(
            InteractionSerializer(interaction, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": reverse("api:interaction-detail", args=[interaction.pk])},
        )


class FollowUpStatus(models.TextChoices):
    OPEN = "open", _("open")
    DONE = "done", _("done")


class FollowUpFilter(filters.FilterSet):
    customer = _customer_filter()
    assignee = filters.CharFilter(
        method="assigned_to", help_text=_("`me` (the caller) or a staff member's id.")
    )
    status = filters.ChoiceFilter(
        choices=FollowUpStatus.choices,
        method="in_status",
    )
    due_after = InstantFilter(field_name="due_at", lookup_expr="gte")
    due_before = InstantFilter(field_name="due_at", lookup_expr="lt")

    class Meta:
        model = FollowUp
        fields = ("customer", "assignee", "status", "due_after", "due_before")

    def assigned_to(self, queryset: QuerySet[FollowUp], name: str, value: str) -> Any:
        if value == "me":
            return queryset.filter(assignee=self.request.user)
        if value.isdigit():
            return queryset.filter(assignee_id=int(value))
        return queryset.none()

    def in_status(self, queryset: QuerySet[FollowUp], name: str, value: str) -> Any:
        return queryset.filter(done_at__isnull=value == FollowUpStatus.OPEN)


class FollowUpViewSet(mixins.ListModelMixin, ApiViewSet):
    """Tasks on customers: call back, send a quote, visit."""

    queryset = FollowUp.objects.none()
    serializer_class = FollowUpSerializer
    filterset_class = FollowUpFilter
    lookup_value_regex = "[0-9]+"
    action_permissions = {
        "list": ("customers.view_customer", "interactions.view_followup"),
        "retrieve": ("customers.view_customer", "interactions.view_followup"),
        "create": ("customers.view_customer", "interactions.add_followup"),
        "partial_update": ("customers.view_customer", "interactions.change_followup"),
        "complete": ("customers.view_customer", "interactions.change_followup"),
    }

    def visible_queryset(self) -> QuerySet[FollowUp]:
        return follow_ups_visible_to(self.request.user).select_related("customer")

    def respond(self, follow_up: FollowUp, **kwargs: Any) -> Response:
        return self.versioned_response(follow_up, FollowUpSerializer(follow_up).data, **kwargs)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Follow-ups on the customers in the caller's scope, newest scheduled first;
        `?assignee=me&status=open` is the caller's to-do list."""
        return super().list(request, *args, **kwargs)

    def retrieve(self, request: Request, pk: int) -> Response:
        """One follow-up, with its version as ETag."""
        return self.respond(get_object_or_404(self.get_queryset(), pk=pk))

    @extend_schema(request=FollowUpCreateSerializer, responses={201: FollowUpSerializer})
    def create(self, request: Request) -> Response:
        """Schedule a follow-up on a customer the caller may edit, for a staff member who works
        on follow-ups (the caller if none is named)."""
        incoming = FollowUpCreateSerializer(data=request.data, context={"request": request})
        incoming.is_valid(raise_exception=True)
        values = dict(incoming.validated_data)
        customer = editable_customer_named(request.user, values.pop("customer"))
        values.setdefault("assignee", request.user)
        follow_up = services.schedule_follow_up(actor=request.user, customer=customer, **values)
        return self.respond(
            follow_up,
            status=status.HTTP_201_CREATED,
            headers={"Location": reverse("api:followup-detail", args=[follow_up.pk])},
        )

    @extend_schema(
        request=FollowUpWriteSerializer, responses={200: FollowUpSerializer}, parameters=[IF_MATCH]
    )
    def partial_update(self, request: Request, pk: int) -> Response:
        """Reschedule, reword or hand over an open follow-up. Needs If-Match: one changed since
        answers 412; one done already, 400."""
        follow_up = editable_record_of(request.user, self.get_queryset(), pk)
        version = expected_version(request)
        incoming = FollowUpWriteSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        # The service takes the whole follow-up: what the caller leaves out stays as it is.
        values = {
            "title": follow_up.title,
            "due_at": follow_up.due_at,
            "assignee": follow_up.assignee,
            "notes": follow_up.notes,
            **incoming.validated_data,
        }
        follow_up = services.update_follow_up(
            actor=request.user,
            customer=follow_up.customer,
            follow_up=follow_up,
            expected_version=version,
            **values,
        )
        return self.respond(follow_up)

    @extend_schema(request=None, responses={200: FollowUpSerializer})
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: int) -> Response:
        """Mark the follow-up done. Idempotent: one done already (by anyone) stays as it was
        done, and its `done_at` and `done_by` say when and by whom."""
        follow_up = editable_record_of(request.user, self.get_queryset(), pk)
        services.complete_follow_up(actor=request.user, follow_up=follow_up)
        return self.respond(follow_up)
