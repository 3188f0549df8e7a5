"""The administrators' page of custom fields (`customers.manage_custom_fields`), and the answer
of every record's reveal POST of a sensitive value."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from customers.custom_fields import services
from customers.custom_fields.forms import FieldDefinitionForm
from customers.custom_fields.models import FieldDefinition, Sensitivity
from customers.custom_fields.selectors import defined_fields
from customers.custom_fields.targets import registered_kinds
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
            {"kind": kind, "kinds": registered_kinds(), "fields": fields},
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
                messages.success(request, _("Field saved."))
                return HttpResponseRedirect(reverse("custom_fields:edit", args=[kind, saved.pk]))
        return self._render(request, kind, field, form, status=400)

    def _render(self, request, kind, field, form, status=200) -> HttpResponse:
        return render(
            request,
            "custom_fields/field_form.html",
            {
                "kind": kind,
                "kind_label": dict(registered_kinds())[kind],
                "field": field,
                "form": form,
            },
            status=status,
        )
