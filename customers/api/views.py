"""/api/v1/customers/: list (the list page's filters and search), read, create, update, archive,
restore and merge; /api/v1/contacts/, /tags/ and /external-ids/: the customer's records. All
through the same selectors and services as the pages, with the pages' permissions."""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from customers import services
from customers.api.serializers import (
    ConsentInputSerializer,
    ConsentRecordSerializer,
    ContactCreateSerializer,
    ContactSerializer,
    ContactWriteSerializer,
    CustomerCreateSerializer,
    CustomerSerializer,
    CustomerWriteSerializer,
    ExternalIdCreateSerializer,
    ExternalIdSerializer,
    MergeSerializer,
    TagCreateSerializer,
    TagSerializer,
    TagWriteSerializer,
)
from customers.filters import CustomerFilter, listed_customers
from customers.merge import merge_customers, survivor_of
from customers.models import Contact, Customer, ExternalId, Tag
from customers.selectors import (
    can_edit_customer,
    can_merge_customers,
    can_view_personal_data,
    contacts_visible_to,
    customers_visible_to,
    external_id_holders,
    external_ids_visible_to,
    get_customer_for,
    possible_duplicates,
)
from kernel.api.concurrency import expected_version
from kernel.api.filters import IdFilter
from kernel.api.problems import Conflict
from kernel.api.views import ApiViewSet
from privacy import consent
from privacy.forms import ConsentForm
from privacy.models import ConsentRecord

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description=_("The ETag of the version this change starts from."),
)

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

    def visible_queryset(self) -> QuerySet[Customer]:
        user = self.request.user
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
            self.refuse_duplicates({key: value for key, value in values.items() if key != "custom"})
        customer = services.create_customer(
            actor=user, tags=tags, external_ids=external_ids, **values
        )
        return self.respond(
            customer,
            status=status.HTTP_201_CREATED,
            headers={"Location": reverse("api:customer-detail", args=[customer.pk])},
        )

    def refuse_taken_external_ids(self, external_ids: list[tuple[str, str]]) -> None:
        """409 when another customer holds one of these ids in its system (an id names one
        customer: the import matches on it), naming the holders the caller may see."""
        if len(set(external_ids)) < len(external_ids):
            raise exceptions.ValidationError(
                {"external_ids": [_("The same external id is given twice.")]}
            )
        try:
            services.refuse_held_external_ids(external_ids)
        except ValidationError:
            visible = external_id_holders(user=self.request.user, external_ids=external_ids)
            raise Conflict(
                _("Another customer already has this external id."),
                code="external-id-taken",
                customers=sorted(customer.pk for customer in visible),
            ) from None

    def refuse_duplicates(self, values: dict[str, Any]) -> None:
        """409 when customers whose personal data the caller sees have the record's phone,
        email or identity number."""
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
        parameters=[IF_MATCH],
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


Record = TypeVar("Record", bound=Model)


def editable_record_of(user: Any, records: QuerySet[Record], pk: int) -> Record:
    """A record of a customer (`record.customer`) for a change: 404 outside the caller's scope
    (`records` comes from a scoped selector), 403 when they may see its customer but not edit
    it (erased, restricted, another's), as the pages' CustomerScopedMixin answers."""
    record = get_object_or_404(records, pk=pk)
    if not can_edit_customer(user, record.customer):  # type: ignore[attr-defined]
        raise PermissionDenied
    return record


def editable_customer_named(user: Any, customer: Customer) -> Customer:
    """The customer a new record is for (already one the caller may see): 403 when they may
    not edit it."""
    if not can_edit_customer(user, customer):
        raise PermissionDenied
    return customer


class ContactFilter(filters.FilterSet):
    customer = IdFilter(field_name="customer_id", help_text=_("A customer's id."))

    class Meta:
        model = Contact
        fields = ("customer",)


class ContactViewSet(mixins.ListModelMixin, ApiViewSet):
    """The people at company customers. Phone and email are masked as their customer's are."""

    queryset = Contact.objects.none()
    serializer_class = ContactSerializer
    filterset_class = ContactFilter
    lookup_value_regex = "[0-9]+"
    action_permissions = {
        "list": ("customers.view_customer", "customers.view_contact"),
        "retrieve": ("customers.view_customer", "customers.view_contact"),
        "create": ("customers.view_customer", "customers.add_contact"),
        "partial_update": ("customers.view_customer", "customers.change_contact"),
        "destroy": ("customers.view_customer", "customers.delete_contact"),
    }

    def visible_queryset(self) -> QuerySet[Contact]:
        return contacts_visible_to(self.request.user)

    def respond(self, contact: Contact, **kwargs: Any) -> Response:
        data = ContactSerializer(contact, context=self.get_serializer_context()).data
        return self.versioned_response(contact, data, **kwargs)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Contact people of the customers in the caller's scope, newest first."""
        return super().list(request, *args, **kwargs)

    def retrieve(self, request: Request, pk: int) -> Response:
        """One contact person, with their version as ETag."""
        return self.respond(get_object_or_404(self.get_queryset(), pk=pk))

    @extend_schema(request=ContactCreateSerializer, responses={201: ContactSerializer})
    def create(self, request: Request) -> Response:
        """Add a contact person to a customer the caller may edit; phone and email are
        normalised as on the customer page."""
        incoming = ContactCreateSerializer(data=request.data, context={"request": request})
        incoming.is_valid(raise_exception=True)
        values = dict(incoming.validated_data)
        customer = editable_customer_named(request.user, values.pop("customer"))
        contact = services.save_contact(actor=request.user, customer=customer, **values)
        return self.respond(
            contact,
            status=status.HTTP_201_CREATED,
            headers={"Location": reverse("api:contact-detail", args=[contact.pk])},
        )

    @extend_schema(
        request=ContactWriteSerializer, responses={200: ContactSerializer}, parameters=[IF_MATCH]
    )
    def partial_update(self, request: Request, pk: int) -> Response:
        """Change some of a contact person's fields. Needs If-Match with the contact's own
        version: one changed since answers 412 and nothing is written."""
        contact = editable_record_of(request.user, self.get_queryset(), pk)
        version = expected_version(request)
        incoming = ContactWriteSerializer(data=request.data, context={"request": request})
        incoming.is_valid(raise_exception=True)
        contact = services.save_contact(
            actor=request.user,
            customer=contact.customer,
            contact=contact,
            expected_version=version,
            **incoming.validated_data,
        )
        return self.respond(contact)

    @extend_schema(request=None, responses={204: None}, parameters=[IF_MATCH])
    def destroy(self, request: Request, pk: int) -> Response:
        """Remove a contact person, as they were at the version in If-Match (412 when they
        changed since); interactions that named them keep their history."""
        contact = editable_record_of(request.user, self.get_queryset(), pk)
        services.delete_contact(
            actor=request.user, contact=contact, expected_version=expected_version(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class TagViewSet(mixins.ListModelMixin, ApiViewSet):
    """Tags, shared by every customer; created and changed with the permissions of Django
    admin's tag pages."""

    queryset = Tag.objects.none()
    serializer_class = TagSerializer
    lookup_value_regex = "[0-9]+"
    action_permissions = {
        "list": ("customers.view_tag",),
        "retrieve": ("customers.view_tag",),
        "create": ("customers.add_tag",),
        "partial_update": ("customers.change_tag",),
    }

    def visible_queryset(self) -> QuerySet[Tag]:
        return Tag.objects.all()

    def respond(self, tag: Tag, **kwargs: Any) -> Response:
        return self.versioned_response(tag, TagSerializer(tag).data, **kwargs)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Every tag, newest first."""
        return super().list(request, *args, **kwargs)

    def retrieve(self, request: Request, pk: int) -> Response:
        """One tag, with its version as ETag."""
        return self.respond(get_object_or_404(self.get_queryset(), pk=pk))

    @extend_schema(request=TagCreateSerializer, responses={201: TagSerializer})
    def create(self, request: Request) -> Response:
        """Create a tag (its name unique). Audited."""
        incoming = TagCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        tag = services.save_tag(actor=request.user, **incoming.validated_data)
        return self.respond(
            tag,
            status=status.HTTP_201_CREATED,
            headers={"Location": reverse("api:tag-detail", args=[tag.pk])},
        )

    @extend_schema(
        request=TagWriteSerializer, responses={200: TagSerializer}, parameters=[IF_MATCH]
    )
    def partial_update(self, request: Request, pk: int) -> Response:
        """Rename, recolour or regroup a tag. Needs If-Match: a tag changed since answers 412."""
        tag = get_object_or_404(self.get_queryset(), pk=pk)
        version = expected_version(request)
        incoming = TagWriteSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        tag = services.save_tag(
            actor=request.user, tag=tag, expected_version=version, **incoming.validated_data
        )
        return self.respond(tag)


class ExternalIdFilter(filters.FilterSet):
    customer = IdFilter(field_name="customer_id", help_text=_("A customer's id."))
    system = filters.CharFilter(help_text=_("The other system's name, as linked: shopify."))
    external_id = filters.CharFilter(help_text=_("The id the other system uses."))

    class Meta:
        model = ExternalId
        fields = ("customer", "system", "external_id")


class ExternalIdViewSet(mixins.ListModelMixin, ApiViewSet):
    """The ids other systems (shops, POS, ERP) know customers by: `?system=shopify&
    external_id=123` finds our customer for that id in one call."""

    queryset = ExternalId.objects.none()
    serializer_class = ExternalIdSerializer
    filterset_class = ExternalIdFilter
    # Shown on the customer page to whoever may see the customer; linking one is a change of
    # the customer, as linking it from the customer form or an import is.
    lookup_value_regex = "[0-9]+"
    action_permissions = {
        "list": ("customers.view_customer",),
        "retrieve": ("customers.view_customer",),
        "create": ("customers.view_customer", "customers.change_customer"),
    }

    def visible_queryset(self) -> QuerySet[ExternalId]:
        return external_ids_visible_to(self.request.user)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """External ids of the customers in the caller's scope, newest first."""
        return super().list(request, *args, **kwargs)

    def retrieve(self, request: Request, pk: int) -> Response:
        """One external id."""
        return Response(ExternalIdSerializer(get_object_or_404(self.get_queryset(), pk=pk)).data)

    @extend_schema(request=ExternalIdCreateSerializer, responses={201: ExternalIdSerializer})
    def create(self, request: Request) -> Response:
        """Link a customer the caller may edit to its id in another system. The pair (system,
        id) belongs to one customer: linking one held by another customer answers 400;
        linking the same pair again answers the existing link."""
        incoming = ExternalIdCreateSerializer(data=request.data, context={"request": request})
        incoming.is_valid(raise_exception=True)
        values = dict(incoming.validated_data)
        customer = editable_customer_named(request.user, values.pop("customer"))
        link = services.add_external_id(actor=request.user, customer=customer, **values)
        return Response(
            ExternalIdSerializer(link).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": reverse("api:externalid-detail", args=[link.pk])},
        )


CUSTOMER_PARAMETER = OpenApiParameter(
    "customer",
    OpenApiTypes.INT,
    description=_("Only this customer's consent history (404 outside the caller's scope)."),
)


class ConsentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """/api/v1/consents/: the consent ledger of the customers in the caller's scope, and a
    consent given or withdrawn, recorded as the customer page records it
    (customers/views.py RecordConsentView, through privacy/consent.py)."""

    queryset = ConsentRecord.objects.none()
    serializer_class = ConsentRecordSerializer
    action_permissions = {
        "list": ("customers.view_customer",),
        "retrieve": ("customers.view_customer",),
        "create": ("customers.view_customer", "privacy.add_consentrecord"),
    }

    def visible_queryset(self) -> QuerySet[ConsentRecord]:
        user = self.request.user
        records = ConsentRecord.objects.select_related("policy")
        raw = self.request.query_params.get("customer", "") if self.action == "list" else ""
        if raw:
            if not raw.isdigit():
                raise exceptions.ValidationError({"customer": [_("A customer's id is a number.")]})
            return records.filter(customer=get_customer_for(user, int(raw)))
        return records.filter(customer__in=customers_visible_to(user))

    @extend_schema(parameters=[CUSTOMER_PARAMETER])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Consents given and withdrawn, newest first, a cursor page at a time: one
        customer's history with `customer`, else every customer's the caller may see."""
        return super().list(request, *args, **kwargs)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """One entry of the consent ledger."""
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(request=ConsentInputSerializer, responses={201: ConsentRecordSerializer})
    def create(self, request: Request) -> Response:
        """Record a consent given or withdrawn for one purpose, with its evidence: the ledger
        entry, the customer's current status and the audit event together. A consent given
        needs evidence. A customer outside the caller's scope is refused as an unknown id
        (400); an erased customer answers 403."""
        incoming = ConsentInputSerializer(data=request.data, context={"request": request})
        incoming.is_valid(raise_exception=True)
        values = incoming.validated_data
        customer = values["customer"]
        if customer.erased_at:
            raise PermissionDenied
        form = ConsentForm(
            {
                "purpose": values["purpose"],
                "decision": ConsentForm.GRANT if values["granted"] else ConsentForm.WITHDRAW,
                "evidence": values.get("evidence", ""),
            }
        )
        if not form.is_valid():
            raise exceptions.ValidationError(form.errors)
        record = consent.record_consent(
            actor=request.user,
            customer=customer,
            purpose=form.cleaned_data["purpose"],
            granted=values["granted"],
            source=values["source"],
            evidence=form.cleaned_data["evidence"],
            policy=values.get("policy"),
            at=values.get("recorded_at"),
        )
        return Response(
            ConsentRecordSerializer(record).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": reverse("api:consent-detail", args=[record.pk])},
        )
