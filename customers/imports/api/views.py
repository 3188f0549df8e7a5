"""/api/v1/imports/: the import wizard over HTTP. Upload a file (the wizard's upload: the same
safety checks), read its detected columns and suggested mapping, change the mapping and
options while it is a draft, start it on the worker (202), poll it, and read its report. The
wizard's permission and scope (customers/imports/views.py): `import_customers`, one's own
jobs (everyone's for those who see every customer); another's job answers 404."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from customers.imports import jobs
from customers.imports.api.serializers import (
    ImportConfigureSerializer,
    ImportIssueSerializer,
    ImportSerializer,
    ImportStartSerializer,
    ImportUploadSerializer,
    options_of,
)
from customers.imports.forms import UploadForm
from customers.imports.mapping import IGNORE
from customers.models import ImportJob, ImportKind
from kernel.api.jobs import job_accepted
from kernel.api.pagination import IdCursorPagination
from kernel.api.problems import Conflict
from kernel.api.views import ApiViewSet
from kernel.models import JobStatus

IMPORT = ("customers.import_customers",)


class ReportPagination(IdCursorPagination):
    # Issues are written batch after batch in the file's order: by id is by row.
    ordering = "id"


class ImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    queryset = ImportJob.objects.none()
    serializer_class = ImportSerializer
    parser_classes = [JSONParser, MultiPartParser]
    action_permissions = dict.fromkeys(
        ("list", "retrieve", "create", "partial_update", "start", "report"), IMPORT
    )

    def visible_queryset(self) -> QuerySet[ImportJob]:
        return jobs.jobs_visible_to(self.request.user)

    def draft(self) -> ImportJob:
        """The job, still to be started (409 once it has been)."""
        job = self.get_object()
        if job.status != JobStatus.DRAFT:
            raise Conflict(_("This import has already started."), code="import-started")
        return job

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The caller's imports (everyone's for those who see every customer), newest first."""
        return super().list(request, *args, **kwargs)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """One import: its columns and mapping, options, and while it runs or once it ended,
        status, progress, counts and why it failed. Poll this after starting it."""
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        request={"multipart/form-data": ImportUploadSerializer}, responses={201: ImportSerializer}
    )
    def create(self, request: Request) -> Response:
        """Upload a file (multipart/form-data): it is checked and inspected as in the wizard
        (format, encoding, headers, safety) and becomes a draft import with a suggested
        mapping. A file that cannot be imported answers 400 with the reason on `file`."""
        form = UploadForm({"kind": request.data.get("kind") or ImportKind.CUSTOMERS}, request.FILES)
        if not form.is_valid():
            raise exceptions.ValidationError(form.errors)
        job = jobs.create_import(
            actor=request.user, kind=form.cleaned_data["kind"], upload=form.cleaned_data["file"]
        )
        return Response(
            ImportSerializer(job).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": reverse("api:import-detail", args=[job.pk])},
        )

    @extend_schema(request=ImportConfigureSerializer, responses={200: ImportSerializer})
    def partial_update(self, request: Request, pk: int) -> Response:
        """Change the mapping and options of an import not yet started (409 once started);
        what is left out keeps its value. A mapping the import cannot use answers 400 with
        the wizard's explanation."""
        job = self.draft()
        incoming = ImportConfigureSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        changes = dict(incoming.validated_data)
        if "owner" in changes and not request.user.has_perm("customers.view_all_customers"):
            # As in the wizard, which offers the choice only to those who see every customer.
            raise PermissionDenied
        mapping = changes.pop("mapping", job.mapping)
        self.check_mapping(job, mapping)
        job = jobs.configure_import(
            actor=request.user,
            job=job,
            mapping=mapping,
            **{**options_of(job), **changes},
        )
        return Response(ImportSerializer(job).data)

    @staticmethod
    def check_mapping(job: ImportJob, mapping: list[str]) -> None:
        headers = jobs.table_of(job).headers
        known = {field.key for field in jobs.rows_module(job.kind).fields()}
        problems = []
        if len(mapping) != len(headers):
            problems.append(
                _("The mapping needs one entry per column of the file: %(count)d.")
                % {"count": len(headers)}
            )
        unknown = sorted({key for key in mapping if key != IGNORE and key not in known})
        if unknown:
            problems.append(
                _("No such field to import into: %(fields)s.") % {"fields": ", ".join(unknown)}
            )
        if problems:
            raise exceptions.ValidationError({"mapping": problems})

    @extend_schema(request=ImportStartSerializer, responses={202: ImportSerializer})
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: int) -> Response:
        """Start the import on the worker: 202 with the job, Location to poll it. Once
        started it cannot be started again (409); with an Idempotency-Key a retried start
        gets the first answer."""
        job = self.draft()
        incoming = ImportStartSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        job = jobs.start_import(
            actor=request.user, job=job, dry_run=incoming.validated_data["dry_run"]
        )
        return job_accepted(ImportSerializer(job))

    @extend_schema(responses={200: ImportIssueSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def report(self, request: Request, pk: int) -> Response:
        """The import's report: one entry per problem found, in the file's row order, a
        cursor page at a time (identity numbers masked, as in the wizard's report; messages in
        the language of whoever uploaded the file). Reading it is audited, as the report's
        download is."""
        job = self.get_object()
        paginator = ReportPagination()
        page = paginator.paginate_queryset(job.issues.all(), request, view=self)
        if not request.query_params.get(paginator.cursor_query_param):
            jobs.record_report_download(actor=request.user, job=job)
        return paginator.get_paginated_response(ImportIssueSerializer(page, many=True).data)
