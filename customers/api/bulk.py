"""Bulk upsert through the API: POST /api/v1/<kind>/bulk/ with up to 1,000 records, each the
raw values of one import row, written as the file import writes them
(customers/imports/records.py). The view set here serves customers and is the base of the
orders' and interactions' (interactions/api/bulk.py)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.utils.functional import lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from customers.imports.fields import MATCH_KEYS
from customers.imports.jobs import rows_module
from customers.imports.records import MAX_RECORDS, OUTCOMES, upsert_records
from customers.models import (
    Customer,
    DateOrder,
    ImportJob,
    ImportKind,
    InvalidValues,
    SourceChannel,
    UpdatePolicy,
)
from kernel.api.schema import read_for_schema
from kernel.api.views import ApiViewSet
from kernel.free_text import validate_readable_text

_SOURCE_NEEDED = _("Name the source system: customer ids are unique only within it.")
_EXTERNAL_ID_FIELDS = ("external_id", "customer_external_id")


class TooManyRecords(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too-many-records"
    default_detail = format_lazy(
        _("Send at most {limit} records a call."), limit=f"{MAX_RECORDS:,}"
    )
    problem_type = "too-many-records"


class SourceSerializer(serializers.Serializer):
    system = serializers.CharField(
        max_length=ImportJob._meta.get_field("source_name").max_length,
        required=False,
        allow_blank=True,
        validators=[validate_readable_text],
        help_text=_(
            "The shop or system the records come from, e.g. “shopify”: ids in the records "
            "(customer ids, order numbers) are unique within it."
        ),
    )
    channel = serializers.ChoiceField(
        choices=SourceChannel.choices,
        required=False,
        allow_blank=True,
        help_text=_(
            "Where new customers came from (orders: the sales channel, when a record names none)."
        ),
    )


def records_field(kind: str) -> serializers.ListField:
    """The `records` of a bulk call of `kind` (an ImportKind), naming the fields a record may
    carry: the import's fields of that kind (custom fields as custom.<key>, read from the
    database when the schema is drawn, not when this module is imported)."""
    keys = lazy(
        lambda: ", ".join(
            read_for_schema(lambda: [item.key for item in rows_module(kind).fields()], ["…"])
        ),
        str,
    )()
    return serializers.ListField(
        child=serializers.DictField(),
        max_length=MAX_RECORDS,
        help_text=format_lazy(
            _(
                "Up to {limit} records, each the raw values of one import row by field (as "
                "typed, in any format the file import reads): {fields}."
            ),
            limit=f"{MAX_RECORDS:,}",
            fields=keys,
        ),
    )


# A bulk call's options; each kind's subclass adds its `records` (records_field).
class BulkUpsertSerializer(serializers.Serializer):
    match_on = serializers.ListField(
        child=serializers.ChoiceField(choices=MATCH_KEYS),
        required=False,
        allow_empty=False,
        help_text=_(
            "What may find an existing customer: the customer's id in the source system, "
            "phone, email, identity number (all by default; orders and interactions name "
            "their customer by the first three)."
        ),
    )
    source = SourceSerializer(required=False)
    invalid_values = serializers.ChoiceField(
        choices=InvalidValues.choices,
        default=InvalidValues.REJECT_ROW,
        help_text=_(
            "An invalid optional value fails its record (reject), or is left out with a "
            "warning (drop)."
        ),
    )
    date_order = serializers.ChoiceField(
        choices=DateOrder.choices,
        default=DateOrder.UNSAID,
        allow_blank=True,
        help_text=_("How to read dates such as 07/04/1980; unsaid, they are refused."),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("source", {}).get("system") and any(
            record.get(key) for record in attrs["records"] for key in _EXTERNAL_ID_FIELDS
        ):
            raise serializers.ValidationError({"source": [_SOURCE_NEEDED]})
        return attrs


class CustomerBulkUpsertSerializer(BulkUpsertSerializer):
    records = records_field(ImportKind.CUSTOMERS)
    policy = serializers.ChoiceField(
        choices=UpdatePolicy.choices,
        default=UpdatePolicy.OVERWRITE,
        help_text=_(
            "What a record does to the customer it matches: overwrite the fields it gives "
            "(the default), only fill empty ones, or leave the customer unchanged."
        ),
    )


class RecordOutcomeSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text=_("The record's place in `records`, from 0."))
    status = serializers.ChoiceField(choices=OUTCOMES)
    id = serializers.IntegerField(
        allow_null=True,
        help_text=_("The id of what the record created, changed or matched; null if it failed."),
    )
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text=_("Why the record failed, by field (`non_field_errors`: the whole record)."),
    )
    warnings = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text=_("What was left out, combined or kept aside, by field."),
    )


class BulkOutcomeSerializer(serializers.Serializer):
    results = RecordOutcomeSerializer(many=True)
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    failed = serializers.IntegerField()


class BulkUpsertViewSet(ApiViewSet):
    """The base of the bulk view sets: each names its `kind` (an ImportKind), the request
    serializer of its kind, and its own `create` (for its schema and description)."""

    kind: ClassVar[str]
    upsert_serializer: ClassVar[type[BulkUpsertSerializer]]
    # Who may import may upsert in bulk, as the import pages ask (customers/imports/jobs.py).
    action_permissions: ClassVar[dict[str, tuple[str, ...]]] = {
        "create": ("customers.view_customer", "customers.import_customers"),
    }

    def upsert(self, request: Request) -> Response:
        """Write the call's records; 413 for more than MAX_RECORDS."""
        records = request.data.get("records") if isinstance(request.data, dict) else None
        if isinstance(records, list) and len(records) > MAX_RECORDS:
            raise TooManyRecords()
        incoming = self.upsert_serializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        values = incoming.validated_data
        source = values.get("source", {})
        outcome = upsert_records(
            actor=request.user,
            kind=self.kind,
            records=values["records"],
            source_name=source.get("system", ""),
            source_channel=source.get("channel", ""),
            match_on=values.get("match_on", MATCH_KEYS),
            policy=values.get("policy", UpdatePolicy.OVERWRITE),
            invalid_values=values["invalid_values"],
            date_order=values["date_order"],
        )
        return Response(BulkOutcomeSerializer({"results": outcome.results, **outcome.counts}).data)


class CustomerBulkViewSet(BulkUpsertViewSet):
    kind = ImportKind.CUSTOMERS
    queryset = Customer.objects.none()
    upsert_serializer = CustomerBulkUpsertSerializer

    @extend_schema(request=CustomerBulkUpsertSerializer, responses={200: BulkOutcomeSerializer})
    def create(self, request: Request) -> Response:
        """Create or update up to 1,000 customers in one call, as the customer import would
        from a file holding the records: each matched by their id in the source system,
        phone, email or identity number (among the customers whose personal data the caller
        may see), records of one customer in the call combined. A result per record, in
        order; a record that fails writes nothing and the others are written. Staff scoped
        to their own customers own the customers they create and update only those they may
        edit."""
        return self.upsert(request)
