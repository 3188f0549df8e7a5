"""Segments: the list, a segment's page (rules in words, size history, members the reader may
see, links to its dashboard and export), the rule builder with its live count, and static
lists filled from the customer list. Reading needs `view_segment`; creating, changing and
deleting need the matching model permission; members are always scoped to the reader."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View
from django.views.generic import FormView, TemplateView

from analytics.models import MARKETING_CHANNEL_CHOICES, MetricsRun, Segment, SegmentKind
from analytics.nightly import request_refresh
from analytics.segments.description import rules_in_words
from analytics.segments.forms import ListMembersForm, SegmentForm
from analytics.segments.refresh import refresh_to_show, start_refresh
from analytics.segments.selectors import count_matching, members_visible_to, sizes_visible_to
from analytics.segments.services import add_members, delete_segment, remove_members, save_segment
from analytics.segments.vocabulary import builder_vocabulary, deal_stage_names, segment_fields
from customers.filters import FILTERS_NO_LONGER_VALID, listed_customers
from customers.models import Tag
from customers.selectors import customers_visible_to
from customers.views import remembered_search
from kernel.versioning import EditConflictError

MEMBERS_SHOWN = 25
SIZES_SHOWN = 30


class SegmentListView(PermissionRequiredMixin, TemplateView):
    permission_required = "analytics.view_segment"
    template_name = "segments/list.html"

    def get_context_data(self, **kwargs):
        # One tag lookup, one stage lookup and one grouped count for the whole page, whatever
        # the segments.
        tag_names = dict(Tag.objects.values_list("pk", "name"))
        stage_names = deal_stage_names()
        fields = segment_fields()
        visible_sizes = sizes_visible_to(self.request.user)
        rows = [
            (
                segment,
                rules_in_words(segment, tag_names, stage_names, fields),
                segment.size if visible_sizes is None else visible_sizes.get(segment.pk, 0),
            )
            for segment in Segment.objects.all()
        ]
        rows.sort(key=lambda row: (bool(row[0].key), row[0].shown_name.casefold()))
        return super().get_context_data(
            rows=rows,
            whole_base=visible_sizes is None,
            last_metrics=MetricsRun.objects.order_by("-created_at").first(),
            **kwargs,
        )


class SegmentDetailView(PermissionRequiredMixin, TemplateView):
    permission_required = "analytics.view_segment"
    template_name = "segments/detail.html"

    def get_context_data(self, **kwargs):
        segment = get_object_or_404(Segment, pk=self.kwargs["pk"])
        user = self.request.user
        members = members_visible_to(segment, user).order_by("name", "pk")
        # Whole-base sizes and their history are for those who see every customer.
        whole_base = user.has_perm("customers.view_all_customers")
        return super().get_context_data(
            segment=segment,
            rules_in_words=rules_in_words(segment),
            refresh=refresh_to_show(segment),
            members=list(members.select_related("owner")[:MEMBERS_SHOWN]),
            members_shown=MEMBERS_SHOWN,
            whole_base=whole_base,
            size=segment.size if whole_base else members.count(),
            sizes=list(segment.sizes.all()[:SIZES_SHOWN]) if whole_base else [],
            **kwargs,
        )


class SegmentFormView(PermissionRequiredMixin, FormView):
    """Create (no pk) or change a segment; saving a dynamic one queues its refresh."""

    form_class = SegmentForm
    template_name = "segments/form.html"

    def get_permission_required(self):
        return ["analytics.change_segment" if "pk" in self.kwargs else "analytics.add_segment"]

    def get_segment(self) -> Segment | None:
        return get_object_or_404(Segment, pk=self.kwargs["pk"]) if "pk" in self.kwargs else None

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["instance"] = self.get_segment()
        if kwargs["instance"] is None and self.request.GET.get("kind") == SegmentKind.STATIC:
            kwargs["initial"] = {"kind": SegmentKind.STATIC}
        return kwargs

    def form_valid(self, form: SegmentForm) -> HttpResponse:
        values = {
            name: form.cleaned_data[name]
            for name in ("name", "description", "marketing_channel", "rules")
        }
        if form.instance.pk is None:
            values["kind"] = form.cleaned_data["kind"]
        try:
            segment = save_segment(
                actor=self.request.user,
                segment=form.instance if form.instance.pk else None,
                expected_version=form.expected_version,
                **values,
            )
        except EditConflictError as conflict:
            form.show_conflict(conflict)
            return self.form_invalid(form)
        except ValidationError as error:
            form.add_error(None, error)
            return self.form_invalid(form)
        start_refresh(segment, actor=self.request.user)
        messages.success(self.request, _("Segment saved."))
        return HttpResponseRedirect(reverse("segments:detail", args=[segment.pk]))

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            segment=self.get_segment(),
            vocabulary=builder_vocabulary(),
            builder_text=_builder_text(),
            **kwargs,
        )


def _builder_text() -> dict[str, str]:
    """The words of the rule builder's controls (static/js/segment_builder.js)."""
    return {
        "all": _("all of these"),
        "any": _("any of these"),
        "match": _("Customers matching"),
        "add_condition": _("Add condition"),
        "add_group": _("Add group"),
        "remove": _("Remove"),
        "field": _("Field"),
        "operator": _("Operator"),
        "value": _("Value"),
        "and": _("and"),
        "since": _("since"),
        "until": _("until"),
        "any_category": _("any category"),
        "sku": _("SKU"),
        "min_amount": _("order of at least"),
        "any_kind": _("any kind"),
        "any_stage": _("any stage"),
        "in_the_last": _("or in the last"),
        "yes": _("yes"),
        "no": _("no"),
        "days": _("days"),
        "comma": _("separate values with commas"),
        "empty": _("Add a condition to say who is in this segment."),
        "unknown": _("This condition is not one the builder knows; remove it or fix the rules."),
        "count_failed": _(
            "The count could not be fetched; it will be tried again on the next change."
        ),
    }


class SegmentCountView(PermissionRequiredMixin, View):
    """The builder's live count: how many customers (that the user may see) match the rules
    being edited, or what is wrong with them."""

    def has_permission(self) -> bool:
        user = self.request.user
        return user.has_perm("analytics.add_segment") or user.has_perm("analytics.change_segment")

    def post(self, request: HttpRequest) -> HttpResponse:
        problems: list[str] = []
        count = None
        try:
            rules = json.loads(request.POST.get("rules", ""))
            channel = request.POST.get("marketing_channel", "")
            if channel not in dict(MARKETING_CHANNEL_CHOICES):
                channel = ""
            count = count_matching(rules, user=request.user, marketing_channel=channel)
        except json.JSONDecodeError:
            problems = [_("The rules are not valid JSON.")]
        except ValidationError as error:
            problems = error.messages
        return render(request, "segments/_count.html", {"count": count, "problems": problems})


class DeleteSegmentView(PermissionRequiredMixin, View):
    permission_required = "analytics.delete_segment"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        segment = get_object_or_404(Segment, pk=pk)
        try:
            delete_segment(actor=request.user, segment=segment)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return HttpResponseRedirect(reverse("segments:detail", args=[pk]))
        messages.success(request, _("Segment deleted."))
        return HttpResponseRedirect(reverse("segments:list"))


class RefreshSegmentView(PermissionRequiredMixin, View):
    permission_required = "analytics.change_segment"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        segment = get_object_or_404(Segment, pk=pk, kind=SegmentKind.DYNAMIC)
        start_refresh(segment, actor=request.user)
        messages.info(request, _("Refreshing the members; the size updates in a moment."))
        return HttpResponseRedirect(reverse("segments:detail", args=[pk]))


class RefreshMetricsView(PermissionRequiredMixin, View):
    """Recompute every customer's metrics and stage, then the segments, on the worker."""

    permission_required = "analytics.refresh_metrics"

    def post(self, request: HttpRequest) -> HttpResponse:
        if request_refresh(actor=request.user) is None:
            messages.info(request, _("A refresh is already running."))
        else:
            messages.info(
                request, _("Metrics and segments are being recomputed; this takes a few minutes.")
            )
        return HttpResponseRedirect(reverse("segments:list"))


class ListMembersView(PermissionRequiredMixin, View):
    """Add customers to a static list or take them out, from the customer list: the ticked
    ones, or everyone the list's filters and search show (only customers the user may see)."""

    permission_required = "analytics.change_segment"

    def post(self, request: HttpRequest) -> HttpResponse:
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
            back = reverse("customers:list")
        form = ListMembersForm(request.POST)
        if not form.is_valid():
            for problems in form.errors.values():
                for problem in problems:
                    messages.error(request, problem)
            return HttpResponseRedirect(back)
        segment = form.cleaned_data["segment"]
        if form.cleaned_data["scope"] == ListMembersForm.MATCHING:
            params = QueryDict(request.POST.get("query", ""), mutable=True)
            search = remembered_search(request, params.pop("search", [""])[0])
            filters, chosen, _capped = listed_customers(
                user=request.user, params=params, search=search
            )
            if not filters.is_valid():
                messages.error(request, FILTERS_NO_LONGER_VALID)
                return HttpResponseRedirect(back)
        else:
            ids = [int(pk) for pk in request.POST.getlist("customer") if pk.isdigit()]
            chosen = customers_visible_to(request.user).filter(pk__in=ids)
        if form.cleaned_data["action"] == ListMembersForm.ADD:
            count = add_members(actor=request.user, segment=segment, customers=chosen)
            text = ngettext(
                "%(count)d customer added to %(list)s.",
                "%(count)d customers added to %(list)s.",
                count,
            )
        else:
            count = remove_members(actor=request.user, segment=segment, customers=chosen)
            text = ngettext(
                "%(count)d customer removed from %(list)s.",
                "%(count)d customers removed from %(list)s.",
                count,
            )
        messages.success(request, text % {"count": count, "list": segment.shown_name})
        return HttpResponseRedirect(back)
