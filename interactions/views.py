"""What staff do on the customer page: read the timeline, log an interaction or a purchase,
schedule and complete follow-ups. Customers are loaded through the scoped selectors (404 out
of scope) and writing needs the permission plus the customer in the user's editing scope."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from accounts.templatetags.staff import staff_name
from customers.custom_fields.models import FieldTarget
from customers.custom_fields.views import revealed_value
from customers.view_mixins import CustomerScopedMixin
from customers.views import CustomerRecordEditView, CustomerRecordFormView
from interactions import services
from interactions.forms import FollowUpForm, InteractionForm, TransactionForm
from interactions.selectors import customer_timeline


class TimelineView(CustomerScopedMixin, View):
    """A page of the timeline (htmx "load more" and the kind filter)."""

    permission_required = "customers.view_customer"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        customer = self.customer
        kind = request.GET.get("kind", "")
        entries, next_cursor = customer_timeline(
            customer=customer, kind=kind, after=request.GET.get("after", ""), user=request.user
        )
        return render(
            request,
            "interactions/_timeline_entries.html",
            {"customer": customer, "entries": entries, "next_cursor": next_cursor, "kind": kind},
        )


class RevealCustomValueView(CustomerScopedMixin, View):
    """POST only: decrypts one sensitive custom value of an interaction of the customer (in
    the hot table or the archive), for this response, and audits it."""

    permission_required = ["interactions.view_interaction", "customers.reveal_national_id"]

    def post(self, request: HttpRequest, pk: int, interaction_pk: int, key: str) -> HttpResponse:
        interaction = self.customer.interactions.filter(
            pk=interaction_pk
        ).first() or get_object_or_404(self.customer.archived_interactions, pk=interaction_pk)
        return revealed_value(
            request,
            target=FieldTarget.INTERACTION,
            key=key,
            reveal=lambda field: services.reveal_custom_value(
                actor=request.user, interaction=interaction, field=field
            ),
        )


class LogInteractionView(CustomerRecordFormView):
    permission_required = "interactions.add_interaction"
    form_class = InteractionForm
    service = staticmethod(services.record_interaction)
    title = gettext_lazy("Log an interaction")
    success_message = gettext_lazy("Interaction logged.")


class RecordTransactionView(CustomerRecordFormView):
    permission_required = "interactions.add_transaction"
    form_class = TransactionForm
    service = staticmethod(services.record_transaction)
    title = gettext_lazy("Record a purchase")
    success_message = gettext_lazy("Purchase recorded.")


class ScheduleFollowUpView(CustomerRecordFormView):
    permission_required = "interactions.add_followup"
    form_class = FollowUpForm
    service = staticmethod(services.schedule_follow_up)
    title = gettext_lazy("Schedule a follow-up")
    success_message = gettext_lazy("Follow-up scheduled.")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}


class EditFollowUpView(CustomerRecordEditView):
    permission_required = "interactions.change_followup"
    form_class = FollowUpForm
    service = staticmethod(services.update_follow_up)
    records = "follow_ups"
    record_keyword = "follow_up"
    title = gettext_lazy("Reschedule or change a follow-up")
    success_message = gettext_lazy("Follow-up saved.")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}


class CompleteFollowUpView(CustomerScopedMixin, View):
    permission_required = "interactions.change_followup"
    needs_edit_rights = True

    def post(self, request: HttpRequest, pk: int, follow_up_pk: int) -> HttpResponse:
        customer = self.customer
        follow_up = get_object_or_404(customer.follow_ups, pk=follow_up_pk)
        if services.complete_follow_up(actor=request.user, follow_up=follow_up):
            messages.success(request, _("Follow-up done."))
        else:
            # A colleague (or this user in another tab) was first: say so, do nothing.
            messages.info(
                request,
                _("%(user)s already completed this follow-up on %(when)s.")
                % {
                    "user": staff_name(follow_up.done_by) or _("Someone"),
                    "when": date_format(timezone.localtime(follow_up.done_at), "DATETIME_FORMAT"),
                },
            )
        return HttpResponseRedirect(reverse("customers:detail", args=[customer.pk]))
