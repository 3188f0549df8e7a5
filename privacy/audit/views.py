"""The audit log pages for the privacy officer: the filtered list (keyset pages), one event,
the CSV export of the filtered events; and acknowledging security alerts. Every view needs
privacy.view_auditevent (acknowledging: privacy.change_securityalert)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import DetailView, TemplateView

from privacy.alerts import ACKNOWLEDGE_PERMISSION, acknowledge_alert
from privacy.audit.export import stream_audit_export
from privacy.audit.filters import AuditEventFilter, event_page
from privacy.models import AuditEvent, SecurityAlert

VIEW_PERMISSION = "privacy.view_auditevent"


class AuditEventListView(PermissionRequiredMixin, TemplateView):
    permission_required = VIEW_PERMISSION
    template_name = "audit/event_list.html"

    def get_context_data(self, **kwargs):
        filterset = AuditEventFilter(self.request.GET, queryset=AuditEvent.objects.all())
        before = self.request.GET.get("before", "")
        if filterset.is_valid():
            events, next_before = event_page(
                filterset.qs, before=int(before) if before.isdigit() else None
            )
        else:
            events, next_before = [], None
        params = self.request.GET.copy()
        params.pop("before", None)
        return super().get_context_data(
            filter=filterset,
            events=events,
            next_before=next_before,
            is_first_page=not before,
            filter_query=params.urlencode(),
            **kwargs,
        )


class AuditEventDetailView(PermissionRequiredMixin, DetailView):
    permission_required = VIEW_PERMISSION
    model = AuditEvent
    template_name = "audit/event_detail.html"
    context_object_name = "event"

    def get_context_data(self, **kwargs):
        event = self.object
        changes = event.changes if isinstance(event.changes, dict) else {"": event.changes}
        rows = [
            (field, value[0], value[1], True)
            if isinstance(value, list) and len(value) == 2
            else (field, value, None, False)
            for field, value in changes.items()
        ]
        same_object = (
            reverse("audit:list")
            + "?"
            + urlencode({"target_type": event.target_type, "target_id": event.target_id})
            if event.target_type
            else ""
        )
        return super().get_context_data(change_rows=rows, same_object_url=same_object, **kwargs)


class AuditExportView(PermissionRequiredMixin, View):
    """GET with the list's filters: the matching events as a CSV download."""

    permission_required = VIEW_PERMISSION

    def get(self, request: HttpRequest) -> HttpResponse:
        filterset = AuditEventFilter(request.GET, queryset=AuditEvent.objects.all())
        if not filterset.is_valid():
            messages.error(request, _("Correct the filters before exporting."))
            return HttpResponseRedirect(reverse("audit:list") + "?" + request.GET.urlencode())
        filters = {
            key: str(value)
            for key, value in filterset.form.cleaned_data.items()
            if value not in (None, "")
        }
        response = StreamingHttpResponse(
            stream_audit_export(actor=request.user, events=filterset.qs, filters=filters),
            content_type="text/csv; charset=utf-8",
        )
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
        response["Cache-Control"] = "no-store"
        return response


class AcknowledgeAlertView(PermissionRequiredMixin, View):
    """POST only: mark a security alert as seen; back to the page it was shown on."""

    permission_required = ACKNOWLEDGE_PERMISSION

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        alert = get_object_or_404(SecurityAlert, pk=pk)
        acknowledge_alert(actor=request.user, alert=alert)
        messages.success(request, _("Alert acknowledged."))
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            target = reverse("home")
        return HttpResponseRedirect(target)
