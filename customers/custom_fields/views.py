"""The administrators' page of custom fields (`customers.manage_custom_fields`), and the answer
of every record's reveal POST of a sensitive value."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from customers.custom_fields import conversion, services
from customers.custom_fields.forms import FieldDefinitionForm
from customers.custom_fields.models import FieldDefinition, Sensitivity
from customers.custom_fields.selectors import defined_fields
from customers.custom_fields.targets import registered_kinds, target_for
from kernel.service_errors import add_service_errors


def revealed_value(
    request: HttpRequest, *, target: str, key: str, reveal: Callable[[FieldDefinition], str]
) -> HttpResponse:
    """The answer to a record's reveal POST: the sensitive field `key` of `target` records
    (404 for any other field), its value decrypted by `reveal` (the record's service, which
    audits it), for this response only."""
    field = get_object_or_404(
        FieldDefinition, target=target, key=key, sensitivity=Sensitivity.SENSITIVE
    )
    response = render(request, "customers/_revealed_value.html", {"value": reveal(field)})
    response["Cache-Control"] = "no-store"
    return response


def _kind_or_404(kind: str) -> str:
    if kind not in dict(registered_kinds()):
        raise Http404
    return kind


class FieldListView(PermissionRequiredMixin, View):
    permission_required = "customers.manage_custom_fields"

    def get(self, request: HttpRequest, kind: str = "customer") -> HttpResponse:
        kind = _kind_or_404(kind)
        fields = defined_fields(kind, archived=True)
        return render(
            request,
            "custom_fields/field_list.html",
            {
                "kind": kind,
                "kinds": registered_kinds(),
                "fields": fields,
                "converting": conversion.fields_converting(kind),
            },
        )


class FieldEditView(PermissionRequiredMixin, View):
    """A new field of `kind` records (no pk), or one field's settings."""

    permission_required = "customers.manage_custom_fields"

    def _field(self, kind: str, pk: int | None) -> FieldDefinition | None:
        if pk is None:
            return None
        return get_object_or_404(FieldDefinition, pk=pk, target=kind)

    def get(self, request: HttpRequest, kind: str, pk: int | None = None) -> HttpResponse:
        kind = _kind_or_404(kind)
        field = self._field(kind, pk)
        return self._render(request, kind, field, FieldDefinitionForm(instance=field, target=kind))

    def post(self, request: HttpRequest, kind: str, pk: int | None = None) -> HttpResponse:
        kind = _kind_or_404(kind)
        field = self._field(kind, pk)
        action = request.POST.get("action", "save")
        if field is not None and action in ("stop_conversion", "resume_conversion"):
            return self._change_conversion(request, kind, field, action)
        if field is not None and action in ("archive", "restore"):
            change = services.archive_field if action == "archive" else services.restore_field
            change(actor=request.user, field=field)
            messages.success(
                request, _("Field archived.") if action == "archive" else _("Field restored.")
            )
            return HttpResponseRedirect(request.path)
        form = FieldDefinitionForm(request.POST, instance=field, target=kind)
        if form.is_valid():
            try:
                saved = services.save_field(
                    actor=request.user,
                    target=kind,
                    field=field,
                    choices=form.choice_specs(),
                    **form.settings(),
                )
            except ValidationError as error:
                add_service_errors(
                    form, error, renamed={"default": "default_text", "choices": "choices_text"}
                )
            else:
                if conversion.active_conversion(saved) is not None:
                    messages.info(
                        request,
                        _(
                            "The change alters how the values are stored: they are being "
                            "checked and converted. The field keeps its settings until every "
                            "value is known to convert."
                        ),
                    )
                else:
                    messages.success(request, _("Field saved."))
                return HttpResponseRedirect(reverse("custom_fields:edit", args=[kind, saved.pk]))
        return self._render(request, kind, field, form, status=400)

    def _change_conversion(
        self, request: HttpRequest, kind: str, field: FieldDefinition, action: str
    ) -> HttpResponse:
        job = conversion.latest_conversion(field)
        if job is None:
            raise Http404
        try:
            if action == "stop_conversion":
                conversion.stop_conversion(actor=request.user, job=job)
            else:
                conversion.CONVERSIONS.resume(actor=request.user, job=job)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        return HttpResponseRedirect(request.path)

    def _render(self, request, kind, field, form, status=200) -> HttpResponse:
        return render(
            request,
            "custom_fields/field_form.html",
            {
                "kind": kind,
                "kind_label": dict(registered_kinds())[kind],
                "field": field,
                "form": form,
                **_conversion_context(kind, field),
            },
            status=status,
        )


def _conversion_context(kind: str, field: FieldDefinition | None) -> dict[str, Any]:
    """The field's latest conversion, for its panel on the field's page."""
    job = conversion.latest_conversion(field) if field is not None else None
    if job is None:
        return {"conversion": None}
    return {
        "conversion": job,
        "conversion_changes": conversion.requested_changes(job),
        "record_url": target_for(kind).record_url,
    }


class ConversionPanelView(PermissionRequiredMixin, View):
    """The conversion panel as the field's page polls it; once the conversion has ended the
    page reloads, so that its form takes changes again."""

    permission_required = "customers.manage_custom_fields"

    def get(self, request: HttpRequest, kind: str, pk: int) -> HttpResponse:
        field = get_object_or_404(FieldDefinition, pk=pk, target=_kind_or_404(kind))
        context = _conversion_context(kind, field)
        if context["conversion"] is None:
            raise Http404
        response = render(
            request, "custom_fields/_conversion.html", {"kind": kind, "field": field, **context}
        )
        if not context["conversion"].is_active:
            response["HX-Refresh"] = "true"
        return response
