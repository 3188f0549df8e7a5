"""Dashboards: the page (renders at once and computes nothing), one htmx fragment per chart
(figures from the cache, computed on the first request after a refresh), and each chart's
figures as a CSV file. Every view needs `analytics.view_dashboards` and
`customers.view_all_customers`; a segment's dashboard also needs `analytics.view_segment`.
An unknown chart or segment answers 404."""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urlencode

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from analytics import churn
from analytics.audit import DashboardAction
from analytics.dashboards.cache import DataVersion, chart_rows, data_version
from analytics.dashboards.charts import CHARTS, Chart
from analytics.dashboards.display import chart_payload, cohort_shade, display_rows, headers
from analytics.dashboards.forms import DashboardPeriodForm
from analytics.dashboards.periods import Period, PeriodPreset
from analytics.models import Segment
from privacy.audit.recording import record_event
from privacy.tabular import csv_lines


class FiguresAskedFor(NamedTuple):
    segment: Segment | None
    version: DataVersion
    form: DashboardPeriodForm
    period: Period | None


class DashboardPermissionMixin(PermissionRequiredMixin):
    """The permissions, the segment (path or `?segment=`), the chart and the period of a
    dashboard request."""

    def get_permission_required(self):
        # The charts count every customer, so they are for those who may see every customer.
        required = ["analytics.view_dashboards", "customers.view_all_customers"]
        if self._segment_param() is not None:
            required.append("analytics.view_segment")
        return required

    def _segment_param(self) -> str | None:
        return str(self.kwargs.get("pk") or self.request.GET.get("segment") or "") or None

    def get_segment(self) -> Segment | None:
        raw = self._segment_param()
        if raw is None:
            return None
        if not raw.isdigit():
            raise Http404
        return get_object_or_404(Segment, pk=int(raw))

    def get_chart(self) -> Chart:
        chart = CHARTS.get(self.kwargs["chart"])
        if chart is None:
            raise Http404
        return chart

    def get_period_form(self) -> DashboardPeriodForm:
        data = self.request.GET.copy()
        if not data.get("period"):
            data["period"] = PeriodPreset.default
        return DashboardPeriodForm(data)

    def figures_asked_for(self) -> FiguresAskedFor:
        """The segment, data version, period form and (when the form is valid) the period."""
        version = data_version()
        form = self.get_period_form()
        period = form.chosen_period(reference=version.reference_date) if form.is_valid() else None
        return FiguresAskedFor(self.get_segment(), version, form, period)

    @staticmethod
    def query(period: Period, segment: Segment | None) -> str:
        """The query string that asks a fragment or a download for the same figures."""
        params = period.query()
        if segment is not None:
            params["segment"] = str(segment.pk)
        return urlencode(params)


class DashboardView(DashboardPermissionMixin, TemplateView):
    """The whole base's dashboard, or a segment's (/dashboards/segment/<pk>/)."""

    template_name = "dashboards/dashboard.html"

    def get(self, request, *args, **kwargs):
        segment, version, form, period = self.figures_asked_for()
        context = self.get_context_data(
            segment=segment,
            form=form,
            period=period,
            version=version,
            charts=list(CHARTS.values()),
            query=self.query(period, segment) if period else "",
            churn_model=churn.latest_model(),
        )
        return self.render_to_response(context, status=200 if period else 400)


class ChartFragmentView(DashboardPermissionMixin, TemplateView):
    """One chart card's content, loaded by the page with hx-trigger="load"."""

    template_name = "dashboards/_chart.html"

    def get(self, request, *args, **kwargs):
        chart = self.get_chart()
        segment, version, form, period = self.figures_asked_for()
        if period is None:
            return self.render_to_response(
                self.get_context_data(chart=chart, form=form), status=400
            )
        rows = chart_rows(chart, period, segment=segment, version=version)
        return self.render_to_response(
            self.get_context_data(
                chart=chart,
                headers=headers(chart),
                rows=display_rows(chart, rows),
                cohort=_cohort_cells(chart, rows) if chart.drawing == "cohort" else None,
                payload=chart_payload(chart, rows),
                json_id=f"chart-{chart.key}-data",
                csv_url=_csv_url(chart, self.query(period, segment)),
                version=version,
            )
        )


class ChartCsvView(DashboardPermissionMixin, View):
    """A chart's figures as CSV (UTF-8 with BOM, formula-safe, headers in the reader's
    language), exactly as its table shows them. Audited; the figures are aggregates, so the
    event holds no personal data."""

    def get(self, request, *args, **kwargs):
        chart = self.get_chart()
        segment, version, form, period = self.figures_asked_for()
        if period is None:
            errors = " ".join(str(error) for error in form.errors.values())
            return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
        rows = chart_rows(chart, period, segment=segment, version=version)
        record_event(
            actor=request.user,
            action=DashboardAction.DOWNLOAD,
            target=segment,
            changes={
                "chart": chart.key,
                "period": period.key,
                "segment": segment.pk if segment else None,
                "as_of": _as_of_label(version),
            },
        )
        response = HttpResponse(
            "".join(csv_lines(headers(chart), display_rows(chart, rows))),
            content_type="text/csv; charset=utf-8",
        )
        name = f"{chart.key}-{period.key.replace('..', '_')}"
        if segment is not None:
            name += f"-segment-{segment.pk}"
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response


def _csv_url(chart: Chart, query: str) -> str:
    return f"{reverse('dashboards:csv', args=[chart.key])}?{query}"


def _as_of_label(version: DataVersion) -> str | None:
    return version.as_of.isoformat() if version.run_id else None


def _cohort_cells(chart: Chart, rows: list[tuple]) -> list[dict]:
    """The cohort table's rows: month and size, then each share with its shading step
    (relative to the largest share in the table)."""
    shown = display_rows(chart, rows)
    top = max((value for row in rows for value in row[2:] if value is not None), default=0)
    return [
        {
            "cohort": texts[0],
            "customers": texts[1],
            "cells": [
                {"text": text, "shade": cohort_shade(value, top)}
                for text, value in zip(texts[2:], row[2:], strict=True)
            ],
        }
        for texts, row in zip(shown, rows, strict=True)
    ]
