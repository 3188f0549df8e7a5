"""Static lists through customer merges: the receivers of customers/signals.py's
customers_merged and merge_undone (connected in analytics/apps.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from analytics.models import Segment, SegmentKind, SegmentMember
from analytics.segments.services import resize_list
from customers.models import Customer

# The key of the static lists' part in a merge record (customers/signals.py).
CARRIED_LISTS = "static_lists"


def carry_list_memberships(
    *, survivor: Customer, others: list[Customer], **_signal: Any
) -> tuple[str, dict] | None:
    """A merge's part for static lists (a customers_merged receiver): each list a merged-away
    customer was in holds the survivor instead (once). Answers, per merged customer id, the
    lists its membership moved to the survivor and the lists where it was dropped (the
    survivor was in them already), so that `restore_list_memberships` can undo it."""
    rows = SegmentMember.objects.filter(customer__in=others, segment__kind=SegmentKind.STATIC)
    _lock_lists(rows.values_list("segment_id", flat=True))
    already = set(
        SegmentMember.objects.filter(
            customer=survivor, segment__kind=SegmentKind.STATIC
        ).values_list("segment_id", flat=True)
    )
    carried: dict[str, dict] = {"moved": {}, "dropped": {}}
    moves: dict[str, list[int]] = {"moved": [], "dropped": []}
    for pk, customer_id, segment_id in rows.order_by("pk").values_list(
        "pk", "customer_id", "segment_id"
    ):
        outcome = "dropped" if segment_id in already else "moved"
        carried[outcome].setdefault(str(customer_id), []).append(segment_id)
        moves[outcome].append(pk)
        already.add(segment_id)
    if not moves["moved"] and not moves["dropped"]:
        return None
    SegmentMember.objects.filter(pk__in=moves["dropped"]).delete()
    SegmentMember.objects.filter(pk__in=moves["moved"]).update(customer=survivor)
    _resize_all(carried)
    return CARRIED_LISTS, carried


def restore_list_memberships(
    *, survivor: Customer, carried: Mapping[str, Any], **_signal: Any
) -> None:
    """Undo `carry_list_memberships` for a merge being undone (a merge_undone receiver)."""
    lists = carried.get(CARRIED_LISTS)
    if not lists:
        return
    _lock_lists(_touched(lists))
    for customer_id, segment_ids in lists.get("moved", {}).items():
        SegmentMember.objects.filter(customer=survivor, segment_id__in=segment_ids).update(
            customer_id=int(customer_id)
        )
    SegmentMember.objects.bulk_create(
        [
            SegmentMember(segment_id=segment_id, customer_id=int(customer_id))
            for customer_id, segment_ids in lists.get("dropped", {}).items()
            for segment_id in segment_ids
        ],
        ignore_conflicts=True,
    )
    _resize_all(lists)


def _lock_lists(segment_ids: Iterable[int]) -> None:
    """Lock the lists as add_members and remove_members do (in one order, so that two merges
    cannot deadlock), so that no one changes their members between a check and a move."""
    list(
        Segment.objects.select_for_update()
        .filter(pk__in=set(segment_ids))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _touched(carried: Mapping[str, dict]) -> set[int]:
    return {
        segment_id for lists in carried.values() for ids in lists.values() for segment_id in ids
    }


def _resize_all(carried: Mapping[str, dict]) -> None:
    for segment in Segment.objects.filter(pk__in=_touched(carried)):
        resize_list(segment)
