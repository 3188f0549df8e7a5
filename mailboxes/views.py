"""The administrators' mailbox pages (/mailboxes/): the mailboxes and their state, a
mailbox's settings, and its page with the BCC address staff copy and the latest polls. Every
write goes through mailboxes/services.py."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import FormView, TemplateView

from mailboxes import selectors, services
from mailboxes.forms import MailboxForm
from mailboxes.models import Mailbox


class MailboxesPermissionMixin(PermissionRequiredMixin):
    permission_required = "mailboxes.manage_mailboxes"


class MailboxListView(MailboxesPermissionMixin, TemplateView):
    template_name = "mailboxes/list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(mailboxes=selectors.mailboxes(), **kwargs)


class MailboxFormView(MailboxesPermissionMixin, FormView):
    """New mailbox (no pk) or a mailbox's settings."""

    form_class = MailboxForm
    template_name = "mailboxes/form.html"

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)
        pk = kwargs.get("pk")
        self.mailbox = get_object_or_404(Mailbox, pk=pk) if pk else None

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "instance": self.mailbox}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(mailbox=self.mailbox, **kwargs)

    def form_valid(self, form: MailboxForm) -> HttpResponse:
        values = {field: form.cleaned_data[field] for field in services.EDITABLE_FIELDS}
        password = form.cleaned_data["password"]
        try:
            if self.mailbox is None:
                mailbox = services.create_mailbox(
                    actor=self.request.user, password=password, **values
                )
            else:
                mailbox = services.update_mailbox(
                    actor=self.request.user, mailbox=self.mailbox, password=password, **values
                )
        except ValidationError as refused:
            form.add_error(None, refused)
            return self.form_invalid(form)
        messages.success(self.request, _("The mailbox was saved; it is read within a minute."))
        return HttpResponseRedirect(reverse("mailboxes:detail", args=[mailbox.pk]))


class MailboxDetailView(MailboxesPermissionMixin, TemplateView):
    template_name = "mailboxes/detail.html"

    def get_context_data(self, pk: int, **kwargs: Any) -> dict[str, Any]:
        mailbox = get_object_or_404(selectors.mailboxes(), pk=pk)
        return super().get_context_data(
            mailbox=mailbox,
            problem=selectors.problem_text(mailbox),
            polls=selectors.recent_polls(mailbox),
            **kwargs,
        )
