"""The duplicate review queue: groups of likely duplicates, a side-by-side comparison to merge
or dismiss them, scans and bulk merges started on demand. Every view needs `merge_customers`;
a group reaching a customer outside the user's scope answers 404, a merge, undo or decision
about customers the user may not edit 403 (`can_merge_customers`: the services behind these
pages do not check it again)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, OuterRef, Subquery
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from customers.custom_fields.models import FieldTarget
from customers.custom_fields.records import merge_source, shown_value
from customers.custom_fields.selectors import defined_fields
from customers.dedup import review
from customers.dedup.reasons import notable
from customers.dedup.review import BULK_MERGE_JOBS
from customers.dedup.scan import SCAN_JOBS, last_finished, last_model, start_scan
from customers.merge import (
    FIELD_GROUPS,
    default_sources,
    last_merge_of,
    merge_customers,
    undo_merge,
)
from customers.models import BulkMerge, Customer, CustomerMerge, ScanMode
from customers.presentation import PERSONAL_FIELDS, display_personal
from customers.selectors import can_merge_customers, can_view_personal_data
from customers.services import CONFIRMATIONS
from customers.view_mixins import CustomerScopedMixin
from kernel.models import JobStatus

GROUPS_PER_PAGE = 25
# The probabilities the queue can be narrowed to, and bulk merge's choices.
THRESHOLDS = (0.8, 0.9, 0.95, 0.98, 0.99)


class MergePermissionMixin(PermissionRequiredMixin):
    permission_required = "customers.merge_customers"


def _threshold(value: str | None, default: float) -> float:
    try:
        number = float(value) if value else default
    except ValueError:
        return default
    return min(max(number, 0.0), 1.0)


class QueueView(MergePermissionMixin, TemplateView):
    template_name = "duplicates/queue.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        min_probability = _threshold(self.request.GET.get("min"), 0.0)
        page = Paginator(
            review.open_groups(min_probability=min_probability), GROUPS_PER_PAGE
        ).get_page(self.request.GET.get("page"))
        groups, hidden = review.queue_entries(user, page)
        return super().get_context_data(
            page=page,
            groups=groups,
            hidden=hidden,
            min_probability=min_probability,
            thresholds=THRESHOLDS,
            **_status(),
            **kwargs,
        )


def _status() -> dict:
    return {
        "last_scan": last_finished(),
        "last_full": last_model(),
        "running_scan": SCAN_JOBS.active(),
        "running_bulk": BULK_MERGE_JOBS.active(),
        "last_bulk": BulkMerge.objects.filter(status=JobStatus.DONE).first(),
        "auto_merge": settings.DEDUP_AUTO_MERGE_PROBABILITY,
    }


class StatusView(MergePermissionMixin, TemplateView):
    """The scan / bulk-merge panel the queue polls while something runs."""

    template_name = "duplicates/_status.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(thresholds=THRESHOLDS, **_status(), **kwargs)


class ScanView(MergePermissionMixin, View):
    def post(self, request, *args, **kwargs):
        if SCAN_JOBS.active():
            messages.info(request, _("A search for duplicates is already running."))
        else:
            mode = ScanMode.INCREMENTAL if request.POST.get("incremental") else ScanMode.FULL
            start_scan(actor=request.user, mode=mode)
            messages.success(request, _("Searching for duplicates; the queue fills as it ends."))
        return HttpResponseRedirect(reverse("duplicates:queue"))


class BulkMergeView(MergePermissionMixin, View):
    def post(self, request, *args, **kwargs):
        threshold = _threshold(request.POST.get("min_probability"), 1.0)
        if BULK_MERGE_JOBS.active():
            messages.info(request, _("A bulk merge is already running."))
            return HttpResponseRedirect(reverse("duplicates:queue"))
        try:
            review.start_bulk_merge(actor=request.user, min_probability=threshold)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                _("Merging every group whose pairs are all at least %(percent)s likely.")
                % {"percent": formats.number_format(threshold * 100, 0) + "%"},
            )
        return HttpResponseRedirect(reverse("duplicates:queue"))


@dataclass
class _Cell:
    customer: Customer
    text: str
    empty: bool
    default: bool
    confirmed: bool = False


@dataclass
class _Row:
    field: str
    label: str
    cells: list[_Cell]
    # Values differ, so the reviewer chooses which to keep.
    differs: bool


def _field_label(field: str) -> str:
    if field == "owner_id":
        return str(Customer._meta.get_field("owner").verbose_name)
    if field == "country":
        return _("Address")
    if field == "id_document_kind":
        return _("Identity number")
    return str(Customer._meta.get_field(field).verbose_name)


def _display(user, customer: Customer, group: tuple[str, ...]) -> str:
    first = group[0]
    if first == "country":
        parts = [customer.province, customer.city, customer.district]
        parts += [display_personal(user, customer, "street")]
        parts += [display_personal(user, customer, "postcode")]
        return " ".join(part for part in parts if part)
    if first == "id_document_kind":
        return customer.id_number_masked
    if first == "owner_id":
        return (
            customer.owner.get_full_name() or customer.owner.get_username()
            if customer.owner
            else ""
        )
    if first in PERSONAL_FIELDS:
        return display_personal(user, customer, first)
    if first == "birth_date":
        return (
            formats.date_format(customer.birth_date, "SHORT_DATE_FORMAT")
            if customer.birth_date
            else ""
        )
    if first == "company_name":
        return " · ".join(v for v in (customer.company_name, customer.industry) if v)
    field = Customer._meta.get_field(first)
    if field.choices:
        return str(getattr(customer, f"get_{first}_display")())
    return str(getattr(customer, first) or "")


def comparison_rows(user, customers: list[Customer], survivor: Customer) -> list[_Row]:
    """One row per group of fields the merge takes together, each customer's value as the user
    may see it, whether they differ, and which one the merge takes by default."""
    defaults = default_sources(survivor, customers)
    rows = []
    for group in FIELD_GROUPS:
        texts = [_display(user, customer, group) for customer in customers]
        flag = CONFIRMATIONS.get(group[0])
        cells = [
            _Cell(
                customer,
                text,
                not text,
                defaults[group[0]].pk == customer.pk,
                bool(flag and text and getattr(customer, flag)),
            )
            for customer, text in zip(customers, texts, strict=True)
        ]
        present = {text for text in texts if text}
        rows.append(
            _Row(
                field=group[0].removesuffix("_id"),
                label=_field_label(group[0]),
                cells=cells,
                differs=len(present) > 1,
            )
        )
    return rows + _custom_rows(user, customers)


def _custom_rows(user, customers: list[Customer]) -> list[_Row]:
    """A row per custom field some of the customers hold, shown as their pages show it (the
    merge unites several choices: each customer's are then marked as taken)."""
    rows = []
    for field in defined_fields(FieldTarget.CUSTOMER):
        if all(customer.custom.get(field.key) is None for customer in customers):
            continue
        source = merge_source(field, customers)
        texts = [
            _custom_text(user, customer, field, customer.custom.get(field.key))
            for customer in customers
        ]
        cells = [
            _Cell(customer, text, not text, bool(text) and (source is None or source == customer))
            for customer, text in zip(customers, texts, strict=True)
        ]
        present = {text for text in texts if text}
        rows.append(
            _Row(field=field.name, label=field.label, cells=cells, differs=len(present) > 1)
        )
    return rows


def _custom_text(user, customer: Customer, field, entry) -> str:
    if entry is None:
        return ""
    sees = can_view_personal_data(user, customer)
    return shown_value(field, entry, sees_personal=sees, may_reveal=False).text


def _history_count(relation: str) -> Subquery:
    """How many rows of `relation` a customer has, as a subquery of its own: counting through
    joins of several histories at once would multiply their rows."""
    return Subquery(
        Customer.objects.filter(pk=OuterRef("pk"))
        .values("pk")
        .annotate(rows=Count(relation))
        .values("rows")
    )


class GroupView(MergePermissionMixin, TemplateView):
    template_name = "duplicates/group.html"

    def get_customers(self) -> list[Customer]:
        customers = review.group_customers(self.request.user, self.kwargs["group"])
        if not customers:
            raise Http404
        return customers

    def get_context_data(self, **kwargs):
        user = self.request.user
        customers = kwargs.pop("customers", None) or self.get_customers()
        survivor = review.default_survivor(customers)
        counts = {
            customer.pk: customer
            for customer in Customer.objects.filter(pk__in=[c.pk for c in customers]).annotate(
                orders=_history_count("transactions"),
                # Archived interactions are the customer's history too (and move with a merge).
                interaction_count=_history_count("interactions")
                + _history_count("archived_interactions"),
            )
        }
        pairs = review.group_pairs(self.kwargs["group"])
        return super().get_context_data(
            customers=customers,
            survivor=survivor,
            rows=comparison_rows(user, customers, survivor),
            activity=[counts[customer.pk] for customer in customers],
            pairs=[(pair, notable(pair.reasons)) for pair in pairs],
            refused=review.refused_pairs(customers),
            best=max(pair.probability for pair in pairs),
            **kwargs,
        )

    def post(self, request, *args, **kwargs):
        customers = self.get_customers()
        chosen = {int(pk) for pk in request.POST.getlist("member") if pk.isdigit()}
        members = [customer for customer in customers if customer.pk in chosen]
        if not can_merge_customers(request.user, members):
            raise PermissionDenied
        try:
            if request.POST.get("action") == "not_duplicates":
                review.mark_not_duplicates(actor=request.user, customers=members)
                messages.success(
                    request, _("Marked as different customers; they will not be proposed again.")
                )
                return HttpResponseRedirect(reverse("duplicates:queue"))
            survivor = next((c for c in members if str(c.pk) == request.POST.get("survivor")), None)
            if survivor is None:
                raise ValidationError(_("Choose the record to keep among the ticked customers."))
            choices = {
                group[0].removesuffix("_id"): int(
                    request.POST[f"field_{group[0].removesuffix('_id')}"]
                )
                for group in FIELD_GROUPS
                if request.POST.get(f"field_{group[0].removesuffix('_id')}", "").isdigit()
            }
            choices.update(
                {
                    field.name: int(request.POST[f"field_{field.name}"])
                    for field in defined_fields(FieldTarget.CUSTOMER)
                    if request.POST.get(f"field_{field.name}", "").isdigit()
                }
            )
            choices = {field: pk for field, pk in choices.items() if pk in chosen}
            merge = merge_customers(
                actor=request.user,
                survivor=survivor,
                others=[c for c in members if c.pk != survivor.pk],
                field_choices=choices,
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return self.render_to_response(self.get_context_data(customers=customers))
        messages.success(
            request,
            _("Merged %(count)d customers into this one.") % {"count": merge.merged.count() + 1},
        )
        return HttpResponseRedirect(reverse("customers:detail", args=[merge.survivor_id]))


class UndoMergeView(MergePermissionMixin, CustomerScopedMixin, View):
    """Undo the customer's last merge (from its 360° page)."""

    def post(self, request, *args, **kwargs):
        customer = self.customer
        merge = get_object_or_404(CustomerMerge, pk=kwargs["merge"], survivor=customer)
        if not can_merge_customers(request.user, [customer, *merge.merged.all()]):
            raise PermissionDenied
        latest = last_merge_of(customer)
        try:
            if latest is None or latest.pk != merge.pk:
                raise ValidationError(_("Only the last merge of a customer can be undone."))
            undo_merge(actor=request.user, merge=merge)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("The merge was undone; the customers are separate again."))
        return HttpResponseRedirect(reverse("customers:detail", args=[customer.pk]))
