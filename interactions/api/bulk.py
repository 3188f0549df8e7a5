"""Orders and interactions in bulk through the API: POST /api/v1/transactions/bulk/ and
/api/v1/interactions/bulk/, written as the order and interaction imports write file rows
(customers/api/bulk.py, customers/imports/records.py)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from customers.api.bulk import (
    BulkOutcomeSerializer,
    BulkUpsertSerializer,
    BulkUpsertViewSet,
    records_field,
)
from customers.models import ImportKind
from interactions.models import Interaction, Transaction


class TransactionBulkUpsertSerializer(BulkUpsertSerializer):
    records = records_field(ImportKind.TRANSACTIONS)


class InteractionBulkUpsertSerializer(BulkUpsertSerializer):
    records = records_field(ImportKind.INTERACTIONS)


class TransactionBulkViewSet(BulkUpsertViewSet):
    kind = ImportKind.TRANSACTIONS
    queryset = Transaction.objects.none()
    upsert_serializer = TransactionBulkUpsertSerializer

    @extend_schema(request=TransactionBulkUpsertSerializer, responses={200: BulkOutcomeSerializer})
    def create(self, request: Request) -> Response:
        """Record up to 1,000 order lines in one call, as the order import would from a file
        holding the records: one record per line, the records with the same order number one
        order. An order is matched by the source system and its order number, so one sent
        again is unchanged (or updated when its status changed, a refund), never doubled. Its
        customer is found by their id in the source system, phone or email, among the
        customers the caller may change. A result per record, in order; a record that fails
        writes nothing and the others are written."""
        return self.upsert(request)


class InteractionBulkViewSet(BulkUpsertViewSet):
    kind = ImportKind.INTERACTIONS
    queryset = Interaction.objects.none()
    upsert_serializer = InteractionBulkUpsertSerializer

    @extend_schema(request=InteractionBulkUpsertSerializer, responses={200: BulkOutcomeSerializer})
    def create(self, request: Request) -> Response:
        """Log up to 1,000 interactions (calls, visits, complaints, tickets) in one call, as
        the interaction import would from a file holding the records. An interaction is
        matched by the source system and its id there, or else by customer, kind, time,
        subject and details, so one sent again is unchanged, never doubled. Its customer is
        found by their id in the source system, phone or email, among the customers the
        caller may change. A result per record, in order; a record that fails writes nothing
        and the others are written."""
        return self.upsert(request)
