"""The privacy officer's queue of data-subject requests and the page that answers one."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Model, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import FormView, TemplateView

from kernel.versioning import EditConflictError
from privacy.audit.recording import target_label
from privacy.models import AuditEvent, DataSubjectRequest, RequestKind, SubjectCopy
from privacy.registry import SCRUBBERS, data_subject
from privacy.subjects import services
from privacy.subjects.forms import (
    AnswerForm,
    EraseForm,
    FindCustomerForm,
    NewRequestForm,
    QueueFilterForm,
    RestrictForm,
    VerifyForm,
    WithdrawForm,
)

_VIEW = "privacy.view_datasubjectrequest"
_HANDLE = services.HANDLE_PERMISSION
_ADD = services.ADD_PERMISSION
FIND_LIMIT = 20
# The request's history in words (its audit events are `subject_request.<step>`).
STEP_LABELS = {
    "create": gettext_lazy("Logged"),
    "verify": gettext_lazy("Identity verified"),
    "copy_request": gettext_lazy("Copy asked for"),
    # Before copies were jobs of their own (privacy/migrations/0011).
    "copy_prepared": gettext_lazy("Copy prepared"),
    "subject_copy.done": gettext_lazy("Copy prepared"),
    "subject_copy.failed": gettext_lazy("Copy not prepared"),
    "subject_copy.resume": gettext_lazy("Copy restarted after its worker stopped"),
    "copy_download": gettext_lazy("Copy downloaded"),
    "correct": gettext_lazy("Profile corrected"),
    "complete": gettext_lazy("Completed"),
    "reject": gettext_lazy("Rejected"),
}


def _fail(request: HttpRequest, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


class QueueView(PermissionRequiredMixin, TemplateView):
    permission_required = _VIEW
    template_name = "subjects/queue.html"

    def get_context_data(self, **kwargs):
        form = QueueFilterForm(self.request.GET or {"status": QueueFilterForm.OPEN})
        requests = DataSubjectRequest.objects.select_related("customer")
        if form.is_valid():
            status, kind = form.cleaned_data["status"], form.cleaned_data["kind"]
            if status == QueueFilterForm.OPEN:
                requests = requests.filter(status__in=DataSubjectRequest.OPEN)
            elif status:
                requests = requests.filter(status=status)
            if kind:
                requests = requests.filter(kind=kind)
        page = Paginator(requests.order_by("due_on", "pk"), 50).get_page(
            self.request.GET.get("page")
        )
        overdue = DataSubjectRequest.objects.filter(
            status__in=DataSubjectRequest.OPEN, due_on__lt=timezone.localdate()
        ).count()
        return super().get_context_data(
            form=form,
            page=page,
            overdue=overdue,
            due_days=settings.DATA_REQUEST_DUE_DAYS,
            **kwargs,
        )


class NewRequestView(PermissionRequiredMixin, View):
    """Step one finds the customer (by POST: the search text stays out of URLs); step two,
    with the customer chosen, logs the request."""

    permission_required = _ADD

    def get(self, request: HttpRequest, customer_pk: int | None = None) -> HttpResponse:
        if customer_pk is None:
            return render(request, "subjects/find_customer.html", {"form": FindCustomerForm()})
        return self._new(request, self._customer(customer_pk), NewRequestForm())

    def post(self, request: HttpRequest, customer_pk: int | None = None) -> HttpResponse:
        if customer_pk is None:
            form = FindCustomerForm(request.POST)
            matches = []
            if form.is_valid():
                matches = data_subject().find(request.user, form.cleaned_data["query"], FIND_LIMIT)
            return render(
                request,
                "subjects/find_customer.html",
                {"form": form, "matches": matches, "searched": form.is_valid()},
            )
        customer = self._customer(customer_pk)
        form = NewRequestForm(request.POST)
        if form.is_valid():
            try:
                subject_request = services.log_request(
                    actor=request.user, customer=customer, **form.cleaned_data
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request,
                    _("Request logged: the answer is due by %(date)s.")
                    % {"date": subject_request.due_on.isoformat()},
                )
                return HttpResponseRedirect(reverse("subjects:detail", args=[subject_request.pk]))
        return self._new(request, customer, form)

    def _customer(self, pk: int) -> Model:
        return get_object_or_404(data_subject().current(), pk=pk)

    def _new(self, request: HttpRequest, customer: Model, form) -> HttpResponse:
        return render(request, "subjects/new.html", {"customer": customer, "form": form})


class RequestDetailView(PermissionRequiredMixin, TemplateView):
    permission_required = _VIEW
    template_name = "subjects/detail.html"

    def get_context_data(self, pk: int, **kwargs) -> dict[str, Any]:
        subject_request = get_object_or_404(
            DataSubjectRequest.objects.select_related(
                "customer", "verified_by", "closed_by", "created_by"
            ),
            pk=pk,
        )
        customer = subject_request.customer
        copies = subject_request.copies.values_list("pk", flat=True)
        history = AuditEvent.objects.filter(
            Q(target_type=target_label(DataSubjectRequest), target_id=str(subject_request.pk))
            | Q(target_type=target_label(SubjectCopy), target_id__in=[str(pk) for pk in copies])
        ).order_by("occurred_at", "pk")
        context = {
            "subject_request": subject_request,
            "customer": customer,
            "history": [
                (
                    event,
                    STEP_LABELS.get(event.action.removeprefix("subject_request."), event.action),
                )
                for event in history
            ],
            "copies": services.copy_state(subject_request),
            "may_handle": self.request.user.has_perm(_HANDLE),
        }
        if subject_request.is_open and context["may_handle"]:
            context.update(self._action_forms(subject_request, customer))
        return super().get_context_data(**context, **kwargs)

    @staticmethod
    def _action_forms(subject_request: DataSubjectRequest, customer: Model) -> dict[str, Any]:
        if not subject_request.is_verified:
            return {"verify_form": VerifyForm(), "reject_form": AnswerForm(prefix="reject")}
        forms: dict[str, Any] = {"reject_form": AnswerForm(prefix="reject")}
        kind = subject_request.kind
        if kind == RequestKind.ERASURE:
            forms["erase_form"] = EraseForm(prefix="erase")
            forms["restrict_form"] = RestrictForm(prefix="restrict")
            forms["erasure_reach"] = _erasure_reach(customer)
        elif kind == RequestKind.RESTRICTION:
            forms["restrict_form"] = RestrictForm(prefix="restrict")
        elif kind == RequestKind.WITHDRAW_CONSENT:
            forms["withdraw_form"] = WithdrawForm(prefix="withdraw", customer=customer)
        else:
            forms["complete_form"] = AnswerForm(prefix="complete")
        return forms


def _erasure_reach(customer: Model) -> dict[str, int]:
    """What an erasure would touch, shown before the officer confirms it."""
    ids = data_subject().same_person([customer.pk])
    return {
        "records": len(ids),
        **{scrubber.name: scrubber.reach(ids) for scrubber in SCRUBBERS if scrubber.reach},
    }


class RequestActionView(PermissionRequiredMixin, View):
    """One POST endpoint per step; each calls its service and goes back to the request."""

    permission_required = _HANDLE
    action = ""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        subject_request = get_object_or_404(DataSubjectRequest, pk=pk)
        try:
            self.run(request, subject_request)
        except ValidationError as error:
            _fail(request, error)
        return HttpResponseRedirect(reverse("subjects:detail", args=[pk]))

    def run(self, request: HttpRequest, subject_request: DataSubjectRequest) -> None:
        message = getattr(self, f"_{self.action}")(request.user, request.POST, subject_request)
        messages.success(request, message)

    def _verify(self, user, data, subject_request) -> str:
        form = self._valid(VerifyForm(data))
        services.verify_identity(actor=user, request=subject_request, **form.cleaned_data)
        return _("Identity verified: the request can now be answered.")

    def _reject(self, user, data, subject_request) -> str:
        form = self._valid(AnswerForm(data, prefix="reject"))
        services.reject_request(
            actor=user, request=subject_request, reason=form.cleaned_data["resolution"]
        )
        return _("Request rejected.")

    def _complete(self, user, data, subject_request) -> str:
        form = self._valid(AnswerForm(data, prefix="complete"))
        services.complete_request(actor=user, request=subject_request, **form.cleaned_data)
        return _("Request completed.")

    def _copy(self, user, data, subject_request) -> str:
        services.request_copy(actor=user, request=subject_request)
        return _("The copy is being prepared.")

    def _withdraw(self, user, data, subject_request) -> str:
        form = self._valid(WithdrawForm(data, prefix="withdraw", customer=subject_request.customer))
        services.withdraw_consents(actor=user, request=subject_request, **form.cleaned_data)
        return _("Consents withdrawn; request completed.")

    def _restrict(self, user, data, subject_request) -> str:
        form = self._valid(RestrictForm(data, prefix="restrict"))
        services.restrict_processing(actor=user, request=subject_request, **form.cleaned_data)
        return _("Processing restricted; request completed.")

    def _erase(self, user, data, subject_request) -> str:
        form = self._valid(EraseForm(data, prefix="erase"))
        services.erase_for_request(
            actor=user, request=subject_request, resolution=form.cleaned_data["resolution"]
        )
        return _("The customer was erased; request completed.")

    @staticmethod
    def _valid(form):
        """The bound form, or ValidationError with each message prefixed by its field."""
        if not form.is_valid():
            raise ValidationError(
                [
                    f"{form.fields[name].label}: {message}" if name in form.fields else message
                    for name, errors in form.errors.items()
                    for message in errors
                ]
            )
        return form


class CopyStatusView(PermissionRequiredMixin, TemplateView):
    """The copy's state, polled by the request page while the worker prepares it."""

    permission_required = _VIEW
    template_name = "subjects/_copy.html"

    def get_context_data(self, pk: int, **kwargs):
        subject_request = get_object_or_404(DataSubjectRequest, pk=pk)
        return super().get_context_data(
            subject_request=subject_request,
            copies=services.copy_state(subject_request),
            may_handle=self.request.user.has_perm(_HANDLE),
        )


class CopyDownloadView(PermissionRequiredMixin, View):
    permission_required = _HANDLE

    def get(self, request: HttpRequest, pk: int) -> FileResponse:
        subject_request = get_object_or_404(DataSubjectRequest, pk=pk)
        prepared = services.copy_state(subject_request).prepared
        if prepared is None or not prepared.file:
            raise Http404
        services.record_copy_download(actor=request.user, request=subject_request)
        return FileResponse(
            prepared.file.open("rb"),
            as_attachment=True,
            filename=f"data-request-{subject_request.pk}.zip",
        )


class CorrectionView(PermissionRequiredMixin, FormView):
    """The customer's profile form, for the corrections a verified request asks for."""

    permission_required = _HANDLE
    template_name = "subjects/correct.html"

    def dispatch(self, request, *args, **kwargs):
        if not self.has_permission():
            return self.handle_no_permission()
        self.subject_request = get_object_or_404(
            DataSubjectRequest.objects.select_related("customer"),
            Q(kind=RequestKind.CORRECTION),
            pk=kwargs["pk"],
        )
        if not (self.subject_request.is_verified and self.subject_request.is_open):
            messages.error(request, _("Verify the person's identity before acting on the request."))
            return HttpResponseRedirect(reverse("subjects:detail", args=[kwargs["pk"]]))
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        data_subject().audit_form_view(request.user, response.context_data["form"])
        return response

    def get_form_class(self):
        return data_subject().correction_form

    def get_form_kwargs(self):
        return {
            **super().get_form_kwargs(),
            "instance": self.subject_request.customer,
            "viewer": self.request.user,
        }

    def form_valid(self, form) -> HttpResponse:
        try:
            services.correct_customer(
                actor=self.request.user,
                request=self.subject_request,
                expected_version=form.expected_version,
                **form.profile_changes(),
            )
        except EditConflictError as conflict:
            form.show_conflict(
                conflict,
                masks=data_subject().personal_masks(
                    self.request.user, self.subject_request.customer
                ),
            )
            return self.form_invalid(form)
        except ValidationError as error:
            form.add_service_errors(error)
            return self.form_invalid(form)
        messages.success(self.request, _("Corrections saved. Close the request with your answer."))
        return HttpResponseRedirect(reverse("subjects:detail", args=[self.subject_request.pk]))

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            subject_request=self.subject_request, customer=self.subject_request.customer, **kwargs
        )


class LiftRestrictionView(PermissionRequiredMixin, View):
    permission_required = _HANDLE

    def post(self, request: HttpRequest, customer_pk: int) -> HttpResponse:
        customer = get_object_or_404(data_subject().model, pk=customer_pk)
        services.lift_restriction(actor=request.user, customer=customer)
        messages.success(request, _("Restriction lifted: the customer is processed again."))
        return HttpResponseRedirect(reverse("customers:detail", args=[customer.pk]))
