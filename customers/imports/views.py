"""The import wizard: upload → mapping and options with a live preview → run in the worker
with a progress bar → counts and the error report. Every view needs the import permission and
loads jobs through `jobs_visible_to` (someone else's job answers 404)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from customers.imports import jobs
from customers.imports.files import FileRefusedError
from customers.imports.forms import MappingForm, UploadForm
from customers.models import ImportJob, ImportKind
from kernel.models import JobStatus
from privacy.tabular import csv_lines

RECENT_JOBS = 30


class ImportPermissionMixin(PermissionRequiredMixin):
    permission_required = "customers.import_customers"

    def get_job(self) -> ImportJob:
        return get_object_or_404(jobs.jobs_visible_to(self.request.user), pk=self.kwargs["pk"])


class ImportListView(ImportPermissionMixin, TemplateView):
    template_name = "imports/import_list.html"

    def get_context_data(self, **kwargs):
        kwargs.setdefault("form", UploadForm())
        return super().get_context_data(
            jobs=jobs.jobs_visible_to(self.request.user)[:RECENT_JOBS], **kwargs
        )

    def post(self, request, *args, **kwargs):
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                job = jobs.create_import(
                    actor=request.user,
                    kind=form.cleaned_data["kind"],
                    upload=form.cleaned_data["file"],
                )
            except ValidationError as error:
                form.add_error("file", error.message_dict.get("file", error.messages))
            else:
                return HttpResponseRedirect(reverse("imports:detail", args=[job.pk]))
        return self.render_to_response(self.get_context_data(form=form), status=400)


class ImportDetailView(ImportPermissionMixin, TemplateView):
    """A draft shows the mapping, options and preview; a started job its progress or result."""

    template_name = "imports/import_detail.html"

    def _mapping_form(self, job: ImportJob, data=None) -> MappingForm:
        user = self.request.user
        initial = {
            "source_name": job.source_name,
            "source_channel": job.source_channel,
            "policy": job.policy,
            "invalid_values": job.invalid_values,
            "all_or_nothing": job.all_or_nothing,
            "date_order": job.date_order,
            "owner": job.owner_id,
        }
        mapping = job.mapping
        template_pk = self.request.GET.get("template", "")
        if template_pk.isdigit():
            template = jobs.templates_for(job.kind).filter(pk=template_pk).first()
            if template is not None:
                mapping = jobs.apply_template(job, template)
                initial.update(template.options)
        initial.update({f"column_{index}": key for index, key in enumerate(mapping)})
        return MappingForm(
            data,
            initial=initial,
            headers=jobs.table_of(job).headers,
            fields=jobs.rows_module(job.kind).fields(),
            kind=job.kind,
            can_assign_owner=user.has_perm("customers.view_all_customers"),
        )

    def get_context_data(self, **kwargs):
        job = kwargs.get("job") or self.get_job()
        context = {"job": job}
        if job.status == JobStatus.DRAFT:
            context["form"] = kwargs.get("form") or self._mapping_form(job)
            context["templates"] = jobs.templates_for(job.kind)
            try:
                context["preview"] = jobs.preview_import(job)
            except FileRefusedError as error:
                context["preview_error"] = error.message
            context["headers"] = jobs.table_of(job).headers
        return super().get_context_data(**context)

    def post(self, request, *args, **kwargs):
        job = self.get_job()
        form = self._mapping_form(job, request.POST)
        if form.is_valid():
            options = {
                key: form.cleaned_data[key]
                for key in (
                    "source_name",
                    "source_channel",
                    "policy",
                    "invalid_values",
                    "date_order",
                    "owner",
                )
                if key in form.cleaned_data
            }
            try:
                jobs.configure_import(
                    actor=request.user,
                    job=job,
                    mapping=form.mapping(),
                    all_or_nothing=form.cleaned_data["all_or_nothing"],
                    template_name=form.cleaned_data["template_name"],
                    **options,
                )
                if "start" in request.POST:
                    jobs.start_import(actor=request.user, job=job)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return HttpResponseRedirect(reverse("imports:detail", args=[job.pk]))
        return self.render_to_response(self.get_context_data(job=job, form=form), status=400)


class ImportProgressView(ImportPermissionMixin, TemplateView):
    """The progress panel, polled by htmx while the job runs."""

    template_name = "imports/_progress.html"

    def get_context_data(self, **kwargs):
        job = self.get_job()
        return super().get_context_data(job=job, polled=True, **kwargs)


class ImportActionView(ImportPermissionMixin, View):
    """Cancel or resume a job (POST only)."""

    action = ""

    def post(self, request, *args, **kwargs):
        job = self.get_job()
        service = {"cancel": jobs.cancel_import, "resume": jobs.resume_import}[self.action]
        try:
            service(actor=request.user, job=job)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        return HttpResponseRedirect(reverse("imports:detail", args=[job.pk]))


class ImportReportView(ImportPermissionMixin, View):
    """The error report as CSV (UTF-8 with BOM, formula-safe); audited."""

    def get(self, request, *args, **kwargs):
        job = self.get_job()
        jobs.record_report_download(actor=request.user, job=job)
        response = StreamingHttpResponse(
            csv_lines([str(h) for h in jobs.REPORT_HEADERS], jobs.report_rows(job)),
            content_type="text/csv; charset=utf-8",
        )
        kind = ImportKind(job.kind).value
        response["Content-Disposition"] = (
            f'attachment; filename="import-{job.pk}-{kind}-report.csv"'
        )
        return response
