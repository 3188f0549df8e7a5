"""Exports: choose columns and format for the list being looked at, follow the job, download
the file. Every view needs `export_customers`; a job is visible to the person who started it
only (anyone else gets 404)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.forms import ChoiceField, ModelChoiceField
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from analytics.exports.selectors import exports_visible_to
from analytics.exports.services import cancel_export, record_download, start_export
from analytics.forms import ExportForm
from analytics.models import ExportJob, Segment
from customers.filters import listed_customers
from customers.views import remembered_search

RECENT_EXPORTS = 20


class ExportPermissionMixin(PermissionRequiredMixin):
    permission_required = "customers.export_customers"

    def get_job(self) -> ExportJob:
        return get_object_or_404(exports_visible_to(self.request.user), pk=self.kwargs["pk"])


class NewExportView(ExportPermissionMixin, TemplateView):
    """The list's filters (and search) arrive as the query string, as the list has them."""

    template_name = "exports/export_new.html"

    def _params(self, data):
        params = data.copy()
        search = remembered_search(self.request, params.pop("search", [""])[0])
        return params, search

    def get_context_data(self, **kwargs):
        params, search = self._params(self.request.GET)
        filterset, _customers, capped = listed_customers(
            user=self.request.user, params=params, search=search
        )
        return super().get_context_data(
            form=kwargs.pop("form", None)
            or ExportForm(initial={"marketing_channel": _segment_channel(params)}),
            filters=[
                (field.label, _shown_value(field))
                for field in filterset.form
                if _has_value(field.value())
            ],
            searched=bool(search),
            capped=capped,
            query=self.request.GET.urlencode(),
            masked=not self.request.user.has_perm("customers.export_personal_data"),
            recent=exports_visible_to(self.request.user)[:RECENT_EXPORTS],
            export_retention_days=settings.EXPORT_RETENTION_DAYS,
            **kwargs,
        )

    def post(self, request, *args, **kwargs):
        form = ExportForm(request.POST)
        if form.is_valid():
            params, search = self._params(request.GET)
            try:
                job = start_export(
                    actor=request.user,
                    params=params,
                    search=search,
                    columns=form.cleaned_data["columns"],
                    format=form.cleaned_data["format"],
                    marketing_channel=form.cleaned_data["marketing_channel"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return HttpResponseRedirect(reverse("exports:detail", args=[job.pk]))
        return self.render_to_response(self.get_context_data(form=form), status=400)


def _segment_channel(params) -> str:
    """A segment's marketing channel, when the list is that segment: its export is for it."""
    raw = params.get("segment", "")
    if not str(raw).isdigit():
        return ""
    segment = Segment.objects.filter(pk=int(raw)).first()
    return segment.marketing_channel if segment else ""


def _has_value(value) -> bool:
    # Range filters give a list of two parts, empty when neither end is set.
    return any(value) if isinstance(value, list | tuple) else value not in (None, "")


def _shown_value(field) -> str:
    """A filter's value as the list's form shows it: the label of a choice, not its key."""
    value = field.value()
    form_field = field.field
    if isinstance(form_field, ModelChoiceField):
        chosen = form_field.queryset.filter(pk=value).first()
        return form_field.label_from_instance(chosen) if chosen else str(value)
    if isinstance(form_field, ChoiceField):
        return str(dict(form_field.choices).get(value, value))
    if isinstance(value, list | tuple):
        return " – ".join(str(part or "…") for part in value)
    return str(value)


class ExportDetailView(ExportPermissionMixin, TemplateView):
    template_name = "exports/export_detail.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(job=self.get_job(), **kwargs)


class ExportProgressView(ExportDetailView):
    template_name = "exports/_progress.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(polled=True, **kwargs)


class CancelExportView(ExportPermissionMixin, View):
    def post(self, request, *args, **kwargs):
        job = cancel_export(actor=request.user, job=self.get_job())
        return HttpResponseRedirect(reverse("exports:detail", args=[job.pk]))


class DownloadExportView(ExportPermissionMixin, View):
    def get(self, request, *args, **kwargs):
        job = self.get_job()
        if not job.file:
            raise Http404
        record_download(actor=request.user, job=job)
        name = f"customers-{job.created_at:%Y%m%d-%H%M}.{job.format}"
        return FileResponse(job.file.open("rb"), as_attachment=True, filename=name)
