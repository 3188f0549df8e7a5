"""The privacy officer's pages for privacy policy versions: the versions, one version, and
publishing or correcting one (privacy/policies.py holds the rules)."""

from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView, TemplateView

from kernel.version_forms import VersionedFormMixin, edited_values
from kernel.versioning import EditConflictError
from privacy import policies
from privacy.actions import PrivacyPolicyAction
from privacy.audit.recording import target_label
from privacy.models import AuditEvent, PrivacyPolicy

_VIEW = "privacy.view_privacypolicy"
# A version's history in words (its audit events are `privacypolicy.<step>`).
STEP_LABELS = {
    PrivacyPolicyAction.CREATE: gettext_lazy("Published"),
    PrivacyPolicyAction.UPDATE: gettext_lazy("Corrected"),
}


class PolicyVersionForm(VersionedFormMixin, forms.ModelForm):
    """A version to publish or, until it takes effect, correct. The checks that need the other
    versions (a date not in the past, one version a day) are the service's."""

    class Meta:
        model = PrivacyPolicy
        fields = ["version", "effective_from", "summary", "text"]
        widgets = {
            "effective_from": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "summary": forms.Textarea(attrs={"rows": 3}),
            "text": forms.Textarea(attrs={"rows": 14}),
        }
        help_texts = {
            "version": gettext_lazy("A label staff and customers can quote, for example 2027-01."),
            "effective_from": gettext_lazy(
                "Consents recorded from this day on are recorded under this version. Today or "
                "later; until then the version can still be corrected."
            ),
            "summary": gettext_lazy("What changed since the previous version, in a few lines."),
            "text": gettext_lazy("The policy as customers are shown it."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["text"].required = True
        self.fields["effective_from"].widget.attrs["min"] = timezone.localdate().isoformat()


class PolicyListView(PermissionRequiredMixin, TemplateView):
    permission_required = _VIEW
    template_name = "policies/list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(versions=policies.policy_versions(), **kwargs)


class PolicyDetailView(PermissionRequiredMixin, TemplateView):
    permission_required = _VIEW
    template_name = "policies/detail.html"

    def get_context_data(self, pk: int, **kwargs: Any) -> dict[str, Any]:
        policy = get_object_or_404(PrivacyPolicy, pk=pk)
        events = AuditEvent.objects.filter(
            target_type=target_label(PrivacyPolicy), target_id=str(policy.pk)
        ).order_by("sequence")
        return super().get_context_data(
            version=policies.policy_version(policy),
            correction_refused=policies.correction_refused(policy),
            history=[(event, STEP_LABELS.get(event.action, event.action)) for event in events],
            **kwargs,
        )


class PublishView(PermissionRequiredMixin, FormView):
    """Publish a new version; CorrectView reuses the page for a version not yet in force."""

    permission_required = policies.ADD_PERMISSION
    form_class = PolicyVersionForm
    template_name = "policies/form.html"
    policy: PrivacyPolicy | None = None

    def form_valid(self, form: PolicyVersionForm) -> HttpResponse:
        try:
            policy = self.save(edited_values(form), form.expected_version)
        except EditConflictError as conflict:
            form.show_conflict(conflict)
            return self.form_invalid(form)
        except ValidationError as error:
            form.add_error(None, error)
            return self.form_invalid(form)
        messages.success(self.request, self.done_message(policy))
        return HttpResponseRedirect(reverse("policies:detail", args=[policy.pk]))

    def save(self, data: dict[str, Any], expected_version: int | None) -> PrivacyPolicy:
        return policies.publish_policy(actor=self.request.user, **data)

    def done_message(self, policy: PrivacyPolicy) -> str:
        return _("Version %(version)s published: it takes effect on %(date)s.") % {
            "version": policy.version,
            "date": policy.effective_from.isoformat(),
        }

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(policy=self.policy, **kwargs)


class CorrectView(PublishView):
    permission_required = policies.CHANGE_PERMISSION

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not self.has_permission():
            return self.handle_no_permission()
        self.policy = get_object_or_404(PrivacyPolicy, pk=kwargs["pk"])
        refused = policies.correction_refused(self.policy)
        if refused:
            messages.error(request, refused)
            return HttpResponseRedirect(reverse("policies:detail", args=[self.policy.pk]))
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self) -> dict[str, Any]:
        # A copy: validation writes the submitted values onto the form's instance, and the page
        # keeps naming the version as stored.
        return {**super().get_form_kwargs(), "instance": copy.copy(self.policy)}

    def save(self, data: dict[str, Any], expected_version: int | None) -> PrivacyPolicy:
        return policies.correct_policy(
            actor=self.request.user,
            policy=self.policy,
            expected_version=expected_version,
            **data,
        )

    def done_message(self, policy: PrivacyPolicy) -> str:
        return _("Version %(version)s corrected.") % {"version": policy.version}
