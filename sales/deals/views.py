"""The deal pages: the board per pipeline, the list with its export, a deal's page, its
forms, moving it between stages (the board's drag or a plain form), the won step that may
record the purchase, and the pipelines' settings. Every view needs a permission; a deal or
customer outside the user's scope answers 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from customers.custom_fields import records as custom_values
from customers.custom_fields.listing import column_texts, listed_fields
from customers.custom_fields.models import FieldTarget
from customers.custom_fields.selectors import defined_fields
from customers.custom_fields.views import revealed_value
from customers.selectors import can_view_personal_data, get_customer_for, search_customers
from kernel.service_errors import add_service_errors
from kernel.versioning import EditConflictError
from sales.deals import selectors, services
from sales.deals.export import deals_xlsx_file, stream_deals_csv
from sales.deals.filters import DealFilter
from sales.deals.forms import (
    DealForm,
    DealLineFormSet,
    MoveForm,
    PipelineForm,
    StageForm,
    WinForm,
    lines_of,
)
from sales.models import Deal, Pipeline, Stage, StageKind


def _filtered(request: HttpRequest, *, listing: bool = False) -> DealFilter:
    """The board's filters, or with `listing` the list's (and its export's)."""
    return DealFilter(
        request.GET,
        queryset=selectors.deals_visible_to(request.user),
        user=request.user,
        with_stage=listing,
        with_custom=listing,
    )


class BoardView(PermissionRequiredMixin, View):
    """A pipeline's stages as columns: each with its count, total and weighted total, and its
    newest cards; the other active pipelines as tabs. Won and lost columns hold the deals
    closed in the last RECENTLY_CLOSED_DAYS days, unless a close month narrows the board."""

    permission_required = "sales.view_deal"

    def get(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        pipeline = selectors.get_pipeline(pk)
        filterset = _filtered(request)
        valid = filterset.is_valid()
        deals = filterset.qs if valid else filterset.queryset
        by_close_month = valid and filterset.form.cleaned_data.get("close_month") is not None
        board = selectors.board_columns(
            user=request.user,
            pipeline=pipeline,
            deals=deals,
            closed_since=None if by_close_month else selectors.recently_closed_since(),
        )
        return render(
            request,
            "deals/board.html",
            {
                "pipeline": pipeline,
                "pipelines": list(selectors.pipelines_for_board()),
                "columns": board.columns,
                "totals_as_of": board.totals_as_of,
                "recently_closed_days": selectors.RECENTLY_CLOSED_DAYS,
                "filter": filterset,
                "query": request.GET.urlencode(),
                "can_move": request.user.has_perm("sales.change_deal"),
                "cards_per_stage": selectors.BOARD_CARDS_PER_STAGE,
            },
        )


class DealListView(PermissionRequiredMixin, View):
    """Deals newest first with the board's filters (and a stage), a page at a time by
    keyset (no count), and the export of the same selection."""

    permission_required = "sales.view_deal"

    def get(self, request: HttpRequest) -> HttpResponse:
        filterset = _filtered(request, listing=True)
        deals = filterset.qs if filterset.is_valid() else filterset.queryset.none()
        before = request.GET.get("before", "")
        page, next_before = selectors.deal_page(
            deals, before=int(before) if before.isdigit() else None
        )
        query = request.GET.copy()
        query.pop("before", None)
        columns = listed_fields(defined_fields(FieldTarget.DEAL))
        texts = column_texts(
            page,
            columns,
            sees_personal=lambda deal: can_view_personal_data(request.user, deal.customer),
        )
        return render(
            request,
            "deals/deal_list.html",
            {
                "deals": [(deal, texts[deal.pk]) for deal in page],
                "custom_columns": columns,
                "column_count": 6 + len(columns),
                "filter": filterset,
                "next_before": next_before,
                "query": query.urlencode(),
                "is_first_page": not before,
            },
        )


class DealExportView(PermissionRequiredMixin, View):
    """The list's selection as CSV (streamed) or XLSX (written row by row), audited."""

    permission_required = ("sales.view_deal", "sales.export_deals")

    def get(self, request: HttpRequest, file_format: str) -> HttpResponse:
        if file_format not in ("csv", "xlsx"):
            raise Http404
        filterset = _filtered(request, listing=True)
        if not filterset.is_valid():
            messages.error(request, _("Correct the filters before exporting."))
            return HttpResponseRedirect(reverse("deals:list") + "?" + request.GET.urlencode())
        filters = {
            key: str(value)
            for key, value in filterset.form.cleaned_data.items()
            if value not in (None, "")
        }
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        if file_format == "xlsx":
            return FileResponse(
                deals_xlsx_file(user=request.user, deals=filterset.qs, filters=filters),
                as_attachment=True,
                filename=f"deals-{stamp}.xlsx",
                headers={"Cache-Control": "no-store"},
            )
        response = StreamingHttpResponse(
            stream_deals_csv(user=request.user, deals=filterset.qs, filters=filters),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="deals-{stamp}.csv"'
        response["Cache-Control"] = "no-store"
        return response


class DealDetailView(PermissionRequiredMixin, View):
    permission_required = "sales.view_deal"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        deal = selectors.get_deal_for(request.user, pk)
        can_change = selectors.can_change_deal(request.user, deal)
        return render(
            request,
            "deals/deal_detail.html",
            {
                "deal": deal,
                "custom_groups": custom_values.shown_values(
                    defined_fields(FieldTarget.DEAL),
                    deal.custom or {},
                    sees_personal=can_view_personal_data(request.user, deal.customer),
                    may_reveal=request.user.has_perm("customers.reveal_national_id"),
                ),
                "lines": list(deal.lines.select_related("product")),
                "stage_history": selectors.deal_stage_history(deal),
                "can_change": can_change,
                "move_form": MoveForm(pipeline=deal.pipeline, initial={"stage": deal.stage_id})
                if can_change
                else None,
            },
        )


class RevealCustomValueView(PermissionRequiredMixin, View):
    """POST only: decrypts one sensitive custom value of a deal the user may see, for this
    response, and audits it."""

    permission_required = ("sales.view_deal", "customers.reveal_national_id")

    def post(self, request: HttpRequest, pk: int, key: str) -> HttpResponse:
        deal = selectors.get_deal_for(request.user, pk)
        return revealed_value(
            request,
            target=FieldTarget.DEAL,
            key=key,
            reveal=lambda field: services.reveal_custom_value(
                actor=request.user, deal=deal, field=field
            ),
        )


class DealFormView(PermissionRequiredMixin, View):
    """A new deal (for a customer chosen by search, or from the customer's page) or an edit
    of one; its lines in a formset."""

    permission_required = ("sales.view_deal", "sales.add_deal")
    template_name = "deals/deal_form.html"

    def _customer_search(self, request: HttpRequest) -> HttpResponse:
        query = request.GET.get("q", "").strip()
        found = list(search_customers(user=request.user, query=query).order_by("-pk")[:10])
        return render(
            request,
            "deals/choose_customer.html",
            {"query": query, "customers": found if query else []},
        )

    def get(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        deal, customer = self._load(request, pk)
        if customer is None:
            return self._customer_search(request)
        form = DealForm(instance=deal, customer=customer, user=request.user)
        if deal is not None:
            initial = [
                {"product": ln.product_id, "quantity": ln.quantity, "unit_price": ln.unit_price}
                for ln in deal.lines.all()
            ]
            lines = DealLineFormSet(prefix="lines", initial=initial)
        else:
            lines = DealLineFormSet(prefix="lines")
        return self._render(request, form, lines, customer, deal)

    def post(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        deal, customer = self._load(request, pk)
        if customer is None:
            return self._customer_search(request)
        form = DealForm(request.POST, instance=deal, customer=customer, user=request.user)
        lines = DealLineFormSet(request.POST, prefix="lines")
        if not (form.is_valid() and lines.is_valid()):
            return self._render(request, form, lines, customer, deal)
        values = {
            name: form.cleaned_data[name]
            for name in ("title", "amount", "currency", "expected_close_date", "contact", "notes")
        }
        if "owner" in form.fields and form.cleaned_data.get("owner") is not None:
            values["owner"] = form.cleaned_data["owner"]
        try:
            if deal is None:
                deal = services.create_deal(
                    actor=request.user,
                    customer=customer,
                    stage=form.cleaned_data["stage"],
                    lines=lines_of(lines),
                    custom=form.custom_changes(),
                    **values,
                )
                messages.success(request, _("Deal created."))
            else:
                if values["amount"] is None:
                    values["amount"] = deal.amount
                services.update_deal(
                    actor=request.user,
                    deal=deal,
                    expected_version=form.expected_version,
                    lines=lines_of(lines),
                    custom=form.custom_changes(),
                    **values,
                )
                messages.success(request, _("Deal saved."))
        except EditConflictError as conflict:
            form.show_conflict(conflict)
            return self._render(request, form, lines, customer, deal)
        except ValidationError as error:
            add_service_errors(form, error, renamed=form.custom_error_names())
            return self._render(request, form, lines, customer, deal)
        return HttpResponseRedirect(reverse("deals:detail", args=[deal.pk]))

    def _load(self, request: HttpRequest, pk: int | None):
        if pk is not None:
            if not request.user.has_perm("sales.change_deal"):
                raise PermissionDenied
            deal = selectors.get_deal_for(request.user, pk)
            if not selectors.can_change_deal(request.user, deal):
                raise PermissionDenied
            return deal, deal.customer
        customer_id = request.GET.get("customer", "")
        if not customer_id.isdigit():
            return None, None
        return None, get_customer_for(request.user, int(customer_id))

    def _render(self, request, form, lines, customer, deal) -> HttpResponse:
        return render(
            request,
            self.template_name,
            {"form": form, "lines": lines, "customer": customer, "deal": deal},
        )

    def has_permission(self) -> bool:
        if "pk" in self.kwargs:
            return self.request.user.has_perms(("sales.view_deal", "sales.change_deal"))
        return super().has_permission()


class DealMoveView(PermissionRequiredMixin, View):
    """Move a deal to another stage. Posted by the board's drop (fetch, answers JSON: where to
    go next) or the card's plain form (redirects). A won stage goes on to the won step, which
    offers to record the purchase; a lost stage without a reason asks for one."""

    permission_required = ("sales.view_deal", "sales.change_deal")

    def _deal(self, request: HttpRequest, pk: int) -> Deal:
        deal = selectors.get_deal_for(request.user, pk)
        if not selectors.can_change_deal(request.user, deal):
            raise PermissionDenied
        return deal

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        deal = self._deal(request, pk)
        stage = request.GET.get("stage", "")
        form = MoveForm(
            pipeline=deal.pipeline, initial={"stage": int(stage) if stage.isdigit() else None}
        )
        return render(request, "deals/move.html", {"deal": deal, "form": form})

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        deal = self._deal(request, pk)
        form = MoveForm(request.POST, pipeline=deal.pipeline)
        wants_json = "application/json" in request.headers.get("Accept", "")
        if not form.is_valid():
            if wants_json:
                return JsonResponse({"errors": form.errors}, status=400)
            return render(request, "deals/move.html", {"deal": deal, "form": form}, status=400)
        stage: Stage = form.cleaned_data["stage"]
        lost_reason = form.cleaned_data["lost_reason"]
        if stage.kind == StageKind.WON:
            next_url = reverse("deals:win", args=[deal.pk]) + f"?stage={stage.pk}"
        elif stage.kind == StageKind.LOST and not lost_reason.strip():
            next_url = reverse("deals:move", args=[deal.pk]) + f"?stage={stage.pk}"
        else:
            try:
                services.move_deal_to_stage(
                    actor=request.user, deal=deal, stage=stage, lost_reason=lost_reason
                )
            except ValidationError as error:
                if wants_json:
                    return JsonResponse({"errors": error.messages}, status=400)
                add_service_errors(form, error)
                return render(request, "deals/move.html", {"deal": deal, "form": form}, status=400)
            next_url = ""
            messages.success(
                request,
                _("%(deal)s moved to %(stage)s.") % {"deal": deal.title, "stage": stage},
            )
        if wants_json:
            return JsonResponse({"next": next_url})
        back = request.POST.get("next", "")
        if not next_url:
            next_url = (
                back
                if back.startswith("/deals/") and not back.startswith("//")
                else reverse("deals:detail", args=[deal.pk])
            )
        return HttpResponseRedirect(next_url)


class DealWinView(DealMoveView):
    """The won step: mark the deal won and, if chosen, record its purchase in one go."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        deal = self._deal(request, pk)
        return render(
            request,
            "deals/win.html",
            {"deal": deal, "form": WinForm(), "lines": list(deal.lines.select_related("product"))},
        )

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        deal = self._deal(request, pk)
        form = WinForm(request.POST)
        stage = request.GET.get("stage", "") or request.POST.get("stage", "")
        won_stage = (
            get_object_or_404(deal.pipeline.stages, pk=int(stage), kind=StageKind.WON)
            if stage.isdigit()
            else None
        )
        if form.is_valid():
            record = form.cleaned_data["record_purchase"]
            if record and not request.user.has_perm("interactions.add_transaction"):
                raise PermissionDenied
            try:
                purchase = services.win_deal(
                    actor=request.user,
                    deal=deal,
                    stage=won_stage,
                    record_purchase=record,
                    channel=form.cleaned_data["channel"],
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                if purchase is not None:
                    messages.success(request, _("Deal won; its purchase is recorded."))
                else:
                    messages.success(request, _("Deal won."))
                return HttpResponseRedirect(reverse("deals:detail", args=[deal.pk]))
        lines = list(deal.lines.select_related("product"))
        return render(request, "deals/win.html", {"deal": deal, "form": form, "lines": lines})


class PipelinesView(PermissionRequiredMixin, View):
    """The pipelines and their stages; add a pipeline."""

    permission_required = "sales.manage_pipelines"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, PipelineForm(prefix="new"))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = PipelineForm(request.POST, prefix="new")
        if form.is_valid():
            try:
                pipeline = services.save_pipeline(actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("Pipeline saved."))
                return HttpResponseRedirect(reverse("deals:pipeline_edit", args=[pipeline.pk]))
        return self._render(request, form)

    def _render(self, request: HttpRequest, form) -> HttpResponse:
        pipelines = Pipeline.objects.prefetch_related("stages").order_by("ordering", "pk")
        return render(request, "deals/pipelines.html", {"pipelines": list(pipelines), "form": form})


class PipelineEditView(PermissionRequiredMixin, View):
    """One pipeline: its settings, each stage's, and a new stage."""

    permission_required = "sales.manage_pipelines"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        pipeline = get_object_or_404(Pipeline, pk=pk)
        return self._render(request, pipeline)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        pipeline = get_object_or_404(Pipeline, pk=pk)
        part = request.POST.get("part", "")
        forms = {}
        try:
            with transaction.atomic():
                if part == "pipeline":
                    form = forms["pipeline_form"] = PipelineForm(request.POST, instance=pipeline)
                    if form.is_valid():
                        services.save_pipeline(
                            actor=request.user, pipeline=pipeline, **form.cleaned_data
                        )
                        messages.success(request, _("Pipeline saved."))
                        return HttpResponseRedirect(request.path)
                elif part.startswith("stage-"):
                    stage_id = part.removeprefix("stage-")
                    stage = (
                        get_object_or_404(pipeline.stages, pk=int(stage_id))
                        if stage_id.isdigit()
                        else None
                    )
                    form = StageForm(request.POST, instance=stage, prefix=part)
                    forms["stage_errors"] = {part: form}
                    if form.is_valid():
                        services.save_stage(
                            actor=request.user, pipeline=pipeline, stage=stage, **form.cleaned_data
                        )
                        messages.success(request, _("Stage saved."))
                        return HttpResponseRedirect(request.path)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        pipeline.refresh_from_db()
        return self._render(request, pipeline, status=400, **forms)

    def _render(self, request, pipeline, status=200, pipeline_form=None, stage_errors=None):
        stage_errors = stage_errors or {}
        stages = [
            (
                f"stage-{stage.pk}",
                stage_errors.get(f"stage-{stage.pk}")
                or StageForm(instance=stage, prefix=f"stage-{stage.pk}"),
            )
            for stage in pipeline.stages.order_by("order", "pk")
        ]
        return render(
            request,
            "deals/pipeline_edit.html",
            {
                "pipeline": pipeline,
                "form": pipeline_form or PipelineForm(instance=pipeline),
                "stages": stages,
                "new_stage": stage_errors.get("stage-new") or StageForm(prefix="stage-new"),
            },
            status=status,
        )
