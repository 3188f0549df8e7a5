"""Owner changes in the customer's timeline (interactions/timeline.py): claims from the shared
pool, returns to it by hand or after the idle days, from sales.models.OwnershipChange.
Registered from SalesConfig.ready()."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from interactions.timeline import TimelineRequest, TimelineSource, register_timeline_source
from sales.models import OwnershipChange

TIMELINE_OWNERS = "owners"


def _ownership_changes(request: TimelineRequest) -> QuerySet[OwnershipChange]:
    return (
        OwnershipChange.objects.filter(request.older, customer=request.customer)
        .select_related("from_owner", "to_owner", "actor")
        .order_by("-at", "-pk")[: request.limit]
    )


def register() -> None:
    register_timeline_source(
        TimelineSource(
            key="o",
            rank=3,
            template="pool/timeline/ownership_change.html",
            rows=_ownership_changes,
            choices=[(TIMELINE_OWNERS, _("Owner changes"))],
            menu_order=30,
            model=OwnershipChange,
            time_field="at",
        )
    )
