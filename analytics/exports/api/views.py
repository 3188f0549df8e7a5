"""/api/v1/exports/: start an export of the customer list (its filters, a search, or a
segment) on the worker (202), poll it, download its file. The export pages' permission, scope,
masking and audit (analytics/views.py): `export_customers`; one's own exports only (another's
answers 404); personal data masked unless `export_personal_data`; start and download audited."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse, Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from analytics.exports.api.serializers import ExportSerializer, NewExportSerializer
from analytics.exports.selectors import exports_visible_to
from analytics.exports.services import record_download, start_export
from analytics.models import ExportJob, Segment
from customers.filters import listed_customers
from kernel.api.jobs import job_accepted
from kernel.api.views import ApiViewSet

EXPORT = ("customers.export_customers",)


class ExportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    queryset = ExportJob.objects.none()
    serializer_class = ExportSerializer
    action_permissions = dict.fromkeys(("list", "retrieve", "create", "download"), EXPORT)

    def visible_queryset(self) -> QuerySet[ExportJob]:
        return exports_visible_to(self.request.user)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The caller's own exports, newest first."""
        return super().list(request, *args, **kwargs)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """One export: status, progress, why it failed, and once done where to download it.
        Poll this after starting it."""
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(request=NewExportSerializer, responses={202: ExportSerializer})
    def create(self, request: Request) -> Response:
        """Export the customers the list shows the caller for these filters (or search, or
        segment) to CSV or XLSX on the worker: 202 with the job, Location to poll it.
        Personal data is masked unless the caller holds export_personal_data. Invalid
        filters answer 400 per filter."""
        incoming = NewExportSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        values = incoming.validated_data
        params = dict(values["filters"])
        channel = values.get("marketing_channel", "")
        if "segment" in values:
            params["segment"] = str(values["segment"])
            if "marketing_channel" not in values:
                # As the export page does for a segment's list: its export is for its channel.
                segment = Segment.objects.filter(pk=values["segment"]).first()
                channel = segment.marketing_channel if segment else ""
        search = values.get("search", "").strip()
        filterset, _customers, _capped = listed_customers(
            user=request.user, params=params, search=search
        )
        unknown = sorted(set(params) - set(filterset.filters))
        if unknown:
            # A filter the list does not know (or that the caller may not use, such as a
            # segment without view_segment) would otherwise be dropped: the whole list exported.
            raise exceptions.ValidationError(
                {"filters": [_("No such filter: %(names)s.") % {"names": ", ".join(unknown)}]}
            )
        if filterset.is_bound and not filterset.is_valid():
            raise exceptions.ValidationError(filterset.errors)
        job = start_export(
            actor=request.user,
            params=params,
            search=search,
            columns=values["columns"],
            format=values["format"],
            marketing_channel=channel,
        )
        return job_accepted(ExportSerializer(job))

    @extend_schema(
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="The file."),
            (
                200,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ): OpenApiResponse(OpenApiTypes.BINARY, description="The file."),
        }
    )
    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk: int) -> FileResponse:
        """The export's file, once done (404 before, and after EXPORT_RETENTION_DAYS).
        Every download is audited."""
        job = self.get_object()
        if not job.file:
            raise Http404
        record_download(actor=request.user, job=job)
        name = f"customers-{job.created_at:%Y%m%d-%H%M}.{job.format}"
        return FileResponse(job.file.open("rb"), as_attachment=True, filename=name)
