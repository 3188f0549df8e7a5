"""The privacy officer's retention page: the policies, a dry run, and the runs so far."""

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from kernel.version_forms import VersionedFormMixin
from kernel.versioning import EditConflictError
from privacy.actions import RetentionPolicyAction
from privacy.audit.recording import save_reference_record
from privacy.models import RetentionKind, RetentionPolicy, RetentionRun
from privacy.retention import start_retention

RUNS_SHOWN = 20


class PolicyForm(VersionedFormMixin, forms.ModelForm):
    # Bound without an instance when saving: save_reference_record reads the policy's old
    # values to audit the change, and validation would already have overwritten them.
    class Meta:
        model = RetentionPolicy
        fields = ["keep_days", "enabled"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["keep_days"].min_value = 30
        self.fields["keep_days"].widget.attrs["min"] = 30
        # The page lays each policy out as a table row: the inputs outside the row's <form>
        # element name it, so that they are sent with it.
        self.fields["enabled"].widget.attrs["form"] = f"policy-{self.prefix}"


class RetentionView(PermissionRequiredMixin, TemplateView):
    permission_required = "privacy.view_retentionpolicy"
    template_name = "retention/page.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(**_page(), **kwargs)


def _page(submitted: PolicyForm | None = None) -> dict:
    """The page's policies and runs; `submitted` (a refused save) in place of its policy's
    form, so that what was typed stays."""
    rows = [
        (
            policy,
            submitted
            if submitted is not None and submitted.prefix == policy.kind
            else PolicyForm(instance=policy, prefix=policy.kind),
        )
        for policy in RetentionPolicy.objects.all()
    ]
    runs = list(RetentionRun.objects.select_related("created_by")[:RUNS_SHOWN])
    return {"rows": rows, "runs": [(run, _labelled(run.results)) for run in runs]}


def _labelled(results: dict) -> list[tuple[str, dict]]:
    return [(RetentionKind(kind).label, result) for kind, result in results.items()]


class PolicyUpdateView(PermissionRequiredMixin, View):
    permission_required = "privacy.change_retentionpolicy"

    def post(self, request: HttpRequest, kind: str) -> HttpResponse:
        policy = RetentionPolicy.objects.filter(kind=kind).first()
        if policy is None:
            raise PermissionDenied
        form = PolicyForm(request.POST, prefix=kind)
        if form.is_valid():
            try:
                save_reference_record(
                    actor=request.user,
                    instance=policy,
                    actions=RetentionPolicyAction,
                    expected_version=form.expected_version,
                    keep_days=form.cleaned_data["keep_days"],
                    enabled=form.cleaned_data["enabled"],
                    updated_by=request.user,
                )
            except EditConflictError as conflict:
                form.show_conflict(conflict)
                return render(request, "retention/page.html", _page(form))
            messages.success(
                request, _("Policy saved. Run a dry run to see what the next night will change.")
            )
        else:
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
        return HttpResponseRedirect(reverse("retention:page"))


class StartRunView(PermissionRequiredMixin, View):
    permission_required = "privacy.change_retentionpolicy"
    dry_run = True

    def post(self, request: HttpRequest) -> HttpResponse:
        if not self.dry_run and request.POST.get("confirm") != "yes":
            messages.error(request, _("Tick the confirmation to apply the policies now."))
            return HttpResponseRedirect(reverse("retention:page"))
        start_retention(actor=request.user, dry_run=self.dry_run)
        messages.success(
            request,
            _("Dry run started: its report appears below in a moment.")
            if self.dry_run
            else _("Retention run started: its results appear below when it is done."),
        )
        return HttpResponseRedirect(reverse("retention:page"))
