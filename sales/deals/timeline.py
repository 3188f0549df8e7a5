"""Deals in the customer's timeline (interactions/timeline.py): every step of their stage
history (created, moved, won, lost, reopened), for a reader who may see the deal
(deals_visible_to, in the same query): whoever reads the customer but not its deals (a
privacy officer, a salesperson on a colleague's deal) sees none of their titles, amounts or
reasons. Without a reader (the timeline read for the system) every step, unlinked. Registered
from SalesConfig.ready()."""

from __future__ import annotations

from django.db.models import BooleanField, Exists, OuterRef, QuerySet, Value
from django.utils.translation import gettext_lazy as _

from interactions.timeline import TimelineRequest, TimelineSource, register_timeline_source
from sales.deals.selectors import deals_visible_to
from sales.models import DealStageChange

TIMELINE_DEALS = "deals"


def _stage_changes(request: TimelineRequest) -> QuerySet[DealStageChange]:
    changes = DealStageChange.objects.filter(request.older, deal__customer=request.customer)
    if request.user is not None:
        changes = changes.filter(
            Exists(deals_visible_to(request.user).filter(pk=OuterRef("deal_id")))
        )
    changes = changes.annotate(
        reader_may_open=Value(request.user is not None, output_field=BooleanField())
    )
    return changes.select_related("deal", "from_stage", "to_stage", "actor").order_by("-at", "-pk")[
        : request.limit
    ]


def register() -> None:
    register_timeline_source(
        TimelineSource(
            key="d",
            rank=2,
            template="deals/timeline/stage_change.html",
            rows=_stage_changes,
            choices=[(TIMELINE_DEALS, _("Deals"))],
            menu_order=20,
            model=DealStageChange,
            customer_lookup="deal__customer",
            time_field="at",
        )
    )
