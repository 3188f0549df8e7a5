"""/api/v1/data-subject-requests/: the privacy officer's queue (list, read) and logging a
request, with the permissions of the queue and of the "log a request" page
(privacy/subjects/views.py), through privacy/subjects/services.py."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, status
from rest_framework.request import Request
from rest_framework.response import Response

from kernel.api.views import ApiViewSet
from privacy.models import DataSubjectRequest
from privacy.registry import data_subject
from privacy.subjects import services
from privacy.subjects.api.serializers import DataSubjectRequestSerializer, NewRequestSerializer
from privacy.subjects.forms import QueueFilterForm

VIEW = ("privacy.view_datasubjectrequest",)


class DataSubjectRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    queryset = DataSubjectRequest.objects.none()
    serializer_class = DataSubjectRequestSerializer
    action_permissions = {
        "list": VIEW,
        "retrieve": VIEW,
        "create": (services.ADD_PERMISSION,),
    }

    def visible_queryset(self) -> QuerySet[DataSubjectRequest]:
        requests = DataSubjectRequest.objects.all()
        if self.action != "list":
            return requests
        # The queue page's filters; absent, every request (the page starts with the open ones).
        filters = QueueFilterForm(self.request.query_params)
        if not filters.is_valid():
            raise exceptions.ValidationError(filters.errors)
        chosen, kind = filters.cleaned_data["status"], filters.cleaned_data["kind"]
        if chosen == QueueFilterForm.OPEN:
            requests = requests.filter(status__in=DataSubjectRequest.OPEN)
        elif chosen:
            requests = requests.filter(status=chosen)
        return requests.filter(kind=kind) if kind else requests

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "status",
                OpenApiTypes.STR,
                enum=[value for value, _label in QueueFilterForm.base_fields["status"].choices],
            ),
            OpenApiParameter(
                "kind",
                OpenApiTypes.STR,
                enum=[value for value, _label in QueueFilterForm.base_fields["kind"].choices],
            ),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Data-subject requests, newest first, a cursor page at a time; `status=open` for
        those still to be answered."""
        return super().list(request, *args, **kwargs)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """One request: what was asked, by when it is due, where it stands."""
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(request=NewRequestSerializer, responses={201: DataSubjectRequestSerializer})
    def create(self, request: Request) -> Response:
        """Log a request against a customer, due DATA_REQUEST_DUE_DAYS after it was received
        (a customer merged away or erased answers 404)."""
        incoming = NewRequestSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        values = dict(incoming.validated_data)
        customer = get_object_or_404(data_subject().current(), pk=values.pop("customer"))
        logged = services.log_request(actor=request.user, customer=customer, **values)
        return Response(
            DataSubjectRequestSerializer(logged).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": reverse("api:data-subject-request-detail", args=[logged.pk])},
        )
