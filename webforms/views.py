"""The staff's web form pages (/forms/, `webforms.manage_forms`): the forms with their recent
submissions and refusals, a form's settings, its page with the code to embed it and its
submissions (personal data masked unless the viewer may see it), switching it off and on.
Every write goes through webforms/services.py.

Only administrators hold the permission: the submissions' log is a log of who wrote in, from
where, and a form's settings decide what the public may write into the customer base. What
analysts need — how each channel brings customers — is on the dashboards, which count the
channel every submission sets."""

from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import FormView, TemplateView

from customers.presentation import display_personal
from kernel.versioning import EditConflictError
from privacy.consent import policy_in_force
from webforms import selectors, services
from webforms.abuse import HONEYPOT_FIELD
from webforms.catalogue import LANGUAGES, OFFERED_KEYS, default_label, purpose_label
from webforms.forms import PublicForm, WebFormSettingsForm
from webforms.models import SubmissionOutcome, WebForm

MANAGE = "webforms.manage_forms"


class FormsPermissionMixin(PermissionRequiredMixin):
    permission_required = MANAGE


class SubmissionFilterForm(forms.Form):
    outcome = forms.ChoiceField(
        label=gettext_lazy("Outcome"),
        required=False,
        choices=[("", gettext_lazy("Every outcome")), *SubmissionOutcome.choices],
    )
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


def public_url(form: WebForm) -> str:
    return settings.SITE_URL + reverse("public_forms:public_form", args=[form.public_key])


def embed_snippet(form: WebForm, language: str) -> str:
    """A plain HTML form for another site's page, in `language`: it posts straight to the
    form's address and works without JavaScript (the product asks the visitor to send it
    once more, since a page written once cannot carry a fresh token)."""
    with translation.override(language):
        public = PublicForm(
            initial={"lang": language}, webform=form, language=language, auto_id="crm-%s"
        )
        return render_to_string(
            "webforms/embed_snippet.html",
            {
                "public": public,
                "action": public_url(form),
                # The policy the visitor's consents are given under, public (privacy/portal).
                "policy_url": settings.SITE_URL + reverse("privacy-policy"),
                "language": language,
                "honeypot": HONEYPOT_FIELD,
            },
        ).strip()


def field_name(key: str, language: str) -> str:
    """A field the form asks (or a submission failed on) as staff call it, in `language`."""
    if key in OFFERED_KEYS:
        return default_label(key, language)
    with translation.override(language):
        return _("the submission as a whole")


def iframe_code(form: WebForm) -> str:
    return render_to_string(
        "webforms/embed_iframe.html", {"src": public_url(form), "title": form.name}
    ).strip()


class FormListView(FormsPermissionMixin, TemplateView):
    template_name = "webforms/list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(
            forms=selectors.forms_overview(), recent_days=selectors.RECENT_DAYS, **kwargs
        )


class FormSettingsView(FormsPermissionMixin, FormView):
    """A new form (no pk) or a form's settings."""

    form_class = WebFormSettingsForm
    template_name = "webforms/settings.html"

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)
        pk = kwargs.get("pk")
        self.webform = get_object_or_404(WebForm, pk=pk) if pk else None

    def get_form_kwargs(self) -> dict[str, Any]:
        # A copy: validation writes the submitted values onto the instance, and the page keeps
        # naming the form as stored.
        instance = copy.copy(self.webform) if self.webform else None
        return {**super().get_form_kwargs(), "instance": instance}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(webform=self.webform, policy=policy_in_force(), **kwargs)

    def form_valid(self, form: WebFormSettingsForm) -> HttpResponse:
        values = form.settings_values()
        try:
            if self.webform is None:
                saved = services.create_form(actor=self.request.user, **values)
            else:
                saved = services.update_form(
                    actor=self.request.user,
                    form=self.webform,
                    expected_version=form.expected_version,
                    **values,
                )
        except EditConflictError as conflict:
            form.show_conflict(conflict)
            return self.form_invalid(form)
        except ValidationError as refused:
            # The fields and consents grids are no single input: their errors head the form.
            by_field = (
                refused.error_dict if hasattr(refused, "error_dict") else {None: refused.messages}
            )
            for field, errors in by_field.items():
                form.add_error(field if field in form.fields else None, errors)
            return self.form_invalid(form)
        messages.success(self.request, _("The form was saved."))
        return HttpResponseRedirect(reverse("webforms:detail", args=[saved.pk]))


class FormDetailView(FormsPermissionMixin, TemplateView):
    template_name = "webforms/detail.html"

    def get_context_data(self, pk: int, **kwargs: Any) -> dict[str, Any]:
        webform = get_object_or_404(WebForm.objects.select_related("created_by"), pk=pk)
        filters = SubmissionFilterForm(self.request.GET or None)
        outcome, before = "", None
        if filters.is_valid():
            outcome = filters.cleaned_data["outcome"] or ""
            before = filters.cleaned_data["before"]
        submissions = selectors.submission_log(webform, outcome=outcome, before=before)
        older = submissions[-1].pk if len(submissions) == selectors.SUBMISSION_PAGE else None
        now = timezone.now()
        user = self.request.user
        language = translation.get_language()
        rows = [
            {
                "submission": submission,
                "failed_fields": [field_name(key, language) for key in submission.failed_fields],
                "confirmation": submission.confirmation_state(now),
                "email": display_personal(user, submission.customer, "email")
                if submission.customer
                else "",
                "phone": display_personal(user, submission.customer, "phone")
                if submission.customer
                else "",
            }
            for submission in submissions
        ]
        return super().get_context_data(
            webform=webform,
            # Staff read the fields and consents in their words, not the stored keys.
            asked_fields=[
                (field_name(entry["key"], language), entry.get("required"))
                for entry in webform.fields
            ],
            asked_consents=[
                (purpose_label(entry["purpose"], language), entry.get("policy"))
                for entry in webform.consents
            ],
            public_url=public_url(webform),
            snippets=[(code, embed_snippet(webform, code)) for code in LANGUAGES],
            iframe=iframe_code(webform),
            outcomes=selectors.outcome_counts(webform),
            rejections=selectors.rejections_by_reason(webform),
            recent_days=selectors.RECENT_DAYS,
            filters=filters,
            outcome=outcome,
            rows=rows,
            older=older,
            **kwargs,
        )


class SwitchView(FormsPermissionMixin, View):
    """POST only: switch a form off or on (`active`)."""

    active = False

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        webform = get_object_or_404(WebForm, pk=pk)
        services.set_form_active(actor=request.user, form=webform, active=self.active)
        if self.active:
            messages.success(request, _("The form takes submissions again."))
        else:
            messages.success(
                request, _("The form is switched off: its page and address answer “not found”.")
            )
        return HttpResponseRedirect(reverse("webforms:detail", args=[webform.pk]))
