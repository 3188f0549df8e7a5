"""/api/v1/customers/: list (the list page's filters and search), read, create, update, archive,
restore and merge, through the same selectors and services as the pages."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from customers import services
from customers.api.serializers import (
    CustomerCreateSerializer,
    CustomerSerializer,
    CustomerWriteSerializer,
    MergeSerializer,
)
from customers.filters import CustomerFilter, listed_customers
from customers.merge import merge_customers, survivor_of
from customers.models import Customer
from customers.selectors import (
    can_edit_customer,
    can_merge_customers,
    can_view_personal_data,
    customers_visible_to,
    external_id_holders,
    get_customer_for,
    possible_duplicates,
)
from kernel.api.concurrency import expected_version
from kernel.api.problems import Conflict
from kernel.api.views import ApiViewSet

SEARCH_PARAMETER = OpenApiParameter(
    "q",
    OpenApiTypes.STR,
    description=_(
        "Search as the list page does: a name in characters or pinyin, any phone format, an "
        "email, a company."
    ),
)


class ListFiltersOnly(DjangoFilterBackend):
    """Documents the list page's filters; the list applies them itself (listed_customers),
    with the search and the user's scope."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        return queryset


class CustomerViewSet(mixins.ListModelMixin, ApiViewSet):
    queryset = Customer.objects.none()
    serializer_class = CustomerSerializer
    filter_backends = [ListFiltersOnly]
    filterset_class = CustomerFilter
    action_permissions = {
        "list": ("customers.view_customer",),
        "retrieve": ("customers.view_customer",),
        "create": ("customers.view_customer", "customers.add_customer"),
        "partial_update": ("customers.view_customer", "customers.change_customer"),
        "archive": ("customers.view_customer", "customers.change_customer"),
        "restore": ("customers.view_customer", "customers.change_customer"),
        "merge": ("customers.view_customer", "customers.merge_customers"),
    }

    def get_queryset(self) -> QuerySet[Customer]:
        user = self.request.user
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        if self.action != "list":
            return customers_visible_to(user)
        filterset, customers, _capped = listed_customers(
            user=user,
            params=self.request.query_params,
            search=self.request.query_params.get("q", "").strip(),
        )
        if filterset.is_bound and not filterset.is_valid():
            raise exceptions.ValidationError(filterset.errors)
        return customers.select_related("owner").prefetch_related("tags")

    def editable_customer(self, pk: int) -> Customer:
        """The customer for a change: 404 outside the caller's scope, 403 when they may see it
        but not change it (erased, restricted, another's)."""
        customer = get_customer_for(self.request.user, pk)
        if not can_edit_customer(self.request.user, customer):
            raise PermissionDenied
        return customer

    def respond(self, customer: Customer, **kwargs: Any) -> Response:
        data = CustomerSerializer(customer, context=self.get_serializer_context()).data
        return self.versioned_response(customer, data, **kwargs)

    @extend_schema(parameters=[SEARCH_PARAMETER])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Customers in the caller's scope, newest first, a cursor page at a time."""
        return super().list(request, *args, **kwargs)

    @extend_schema(
        responses={
            200: CustomerSerializer,
            301: OpenApiResponse(
                description=_("Merged into another customer: Location is the one it became.")
            ),
        }
    )
    def retrieve(self, request: Request, pk: int) -> Response:
        """One customer. A merged customer's id redirects (301) to the customer it became."""
        try:
            customer = get_customer_for(request.user, pk)
        except Http404:
            survivor = survivor_of(pk)
            if survivor is None or survivor.pk == pk:
                raise
            get_customer_for(request.user, survivor.pk)
            return Response(
                status=status.HTTP_301_MOVED_PERMANENTLY,
                headers={"Location": reverse("api:customer-detail", args=[survivor.pk])},
            )
        if can_view_personal_data(request.user, customer):
            services.record_personal_data_view(actor=request.user, customer=customer)
        return self.respond(customer)

    @extend_schema(request=CustomerCreateSerializer, responses={201: CustomerSerializer})
    def create(self, request: Request) -> Response:
        """Create a customer from raw values (normalised and validated as the form does). A
        customer the caller can see with the same phone, email or identity number answers
        409 with their ids, unless `allow_duplicate`."""
        user = request.user
        incoming = CustomerCreateSerializer(data=request.data, context={"request": request})
        incoming.is_valid(raise_exception=True)
        values = dict(incoming.validated_data)
        allow_duplicate = values.pop("allow_duplicate")
        tags = values.pop("tags", [])
        external_ids = [
            (row["system"], row["external_id"]) for row in values.pop("external_ids", [])
        ]
        if not user.has_perm("customers.view_all_customers"):
            # As on the form: staff scoped to their own customers own what they create.
            values["owner"] = user
        self.refuse_taken_external_ids(external_ids)
        if not allow_duplicate:
            self.refuse_duplicates(values)
        customer = services.create_customer(
            actor=user, tags=tags, external_ids=external_ids, **values
        )
        return self.respond(
            customer,
            status=status.HTTP_201_CREATED,
            headers={"Location": reverse("api:customer-detail", args=[customer.pk])},
        )

    def refuse_taken_external_ids(self, external_ids: list[tuple[str, str]]) -> None:
        """409 when another customer holds one of these ids in its system: an id names one
        customer (the import matches on it)."""
        if len(set(external_ids)) < len(external_ids):
            raise exceptions.ValidationError(
                {"external_ids": [_("The same external id is given twice.")]}
            )
        holders = external_id_holders(external_ids)
        if holders:
            visible = customers_visible_to(self.request.user).filter(pk__in=holders)
            raise Conflict(
                _("Another customer already has this external id."),
                code="external-id-taken",
                customers=sorted(visible.values_list("pk", flat=True)),
            )

    def refuse_duplicates(self, values: dict[str, Any]) -> None:
        clean = services.normalise_profile(values)
        id_index = (
            services.id_number_blind_index(clean.get("id_document_kind", ""), clean["id_number"])
            if clean.get("id_number")
            else ""
        )
        matches = possible_duplicates(
            user=self.request.user,
            phone=clean.get("phone", ""),
            email=clean.get("email", ""),
            id_blind_index=id_index,
        )
        if matches:
            raise Conflict(
                _("A customer with the same phone, email or identity number exists."),
                code="likely-duplicate",
                duplicates=[match.pk for match in matches],
            )

    @extend_schema(
        request=CustomerWriteSerializer,
        responses={200: CustomerSerializer},
        parameters=[
            OpenApiParameter(
                "If-Match",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description=_("The ETag of the version this change starts from."),
            )
        ],
    )
    def partial_update(self, request: Request, pk: int) -> Response:
        """Change some fields; only what really changes is written and audited. Needs
        If-Match: a customer changed since answers 412 and nothing is written."""
        user = request.user
        customer = self.editable_customer(pk)
        version = expected_version(request)
        incoming = CustomerWriteSerializer(data=request.data, context={"request": request})
        incoming.is_valid(raise_exception=True)
        changes = dict(incoming.validated_data)
        tags = changes.pop("tags", None)
        if "owner" in changes and not user.has_perm("customers.view_all_customers"):
            raise PermissionDenied
        with transaction.atomic():
            customer = services.update_customer(
                actor=user, customer=customer, expected_version=version, **changes
            )
            if tags is not None:
                customer = services.set_customer_tags(
                    actor=user, customer=customer, tags=tags, expected_version=customer.row_version
                )
        return self.respond(customer)

    @extend_schema(request=None, responses={200: CustomerSerializer})
    @action(detail=True, methods=["post"])
    def archive(self, request: Request, pk: int) -> Response:
        """Hide the customer from day-to-day lists; nothing is deleted. Idempotent."""
        customer = services.archive_customer(
            actor=request.user, customer=self.editable_customer(pk)
        )
        return self.respond(customer)

    @extend_schema(request=None, responses={200: CustomerSerializer})
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: int) -> Response:
        """Bring an archived customer back. Idempotent."""
        customer = services.restore_customer(
            actor=request.user, customer=self.editable_customer(pk)
        )
        return self.respond(customer)

    @extend_schema(request=MergeSerializer, responses={200: CustomerSerializer})
    @action(detail=True, methods=["post"])
    def merge(self, request: Request, pk: int) -> Response:
        """Merge `others` into this customer (one transaction; undone from the customer page)."""
        incoming = MergeSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        survivor = get_customer_for(request.user, pk)
        others = [
            get_customer_for(request.user, other) for other in incoming.validated_data["others"]
        ]
        if not can_merge_customers(request.user, [survivor, *others]):
            raise PermissionDenied
        merge_customers(
            actor=request.user,
            survivor=survivor,
            others=others,
            field_choices=incoming.validated_data.get("field_choices"),
        )
        survivor.refresh_from_db()
        return self.respond(survivor)
