"""The sources of the customer page's timeline. Each app adds its own kind of entry by
registering a TimelineSource from its AppConfig.ready(), so interactions imports none of them
(README.md, Architecture: sales uses interactions, not the reverse). interactions registers its
interactions (hot and archived) and purchases here; interactions.selectors.customer_timeline
merges every source's newest rows into one page."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Model, Q
from django.utils.translation import gettext_lazy as _

from customers.custom_fields.models import FieldTarget
from customers.custom_fields.records import shown_values
from customers.custom_fields.selectors import defined_fields
from customers.models import Customer
from customers.selectors import can_view_personal_data
from interactions.models import ArchivedInteraction, Interaction, InteractionKind, Transaction

TIMELINE_PURCHASES = "purchases"


@dataclass(frozen=True)
class TimelineRequest:
    """What a source is asked for: the rows of `customer` matching `older` (the rows after the
    page's cursor, built for the source's time field), newest first by (time, pk), at most
    `limit` of them. `kind` is the page's filter ("" or one of the source's `choices`);
    `user` the reader (None when unknown: nothing they could open is linked)."""

    customer: Customer
    user: Any
    kind: str
    older: Q
    limit: int


@dataclass(frozen=True)
class TimelineSource:
    # The cursor's letter: "<key><pk>" names an entry of this source.
    key: str
    # Among entries at the same time the source of the highest rank comes first.
    rank: int
    # The entry's partial: it reads `entry` and `record` (and the page's `customer`).
    template: str
    # One query (or a fixed few) of at most request.limit rows, whatever the history's length.
    rows: Callable[[TimelineRequest], Iterable[Any]]
    # The filter's choices (value, label) that show this source alone ("" shows every source).
    choices: Sequence[tuple[str, Any]]
    # The table of the source's rows and the lookup from a row to its customer: where a
    # cursor's entry is found (`locate`).
    model: type[Model]
    customer_lookup: str = "customer"
    # Where its choices come in the filter, ascending.
    menu_order: int = 0
    time_field: str = "occurred_at"
    # (customer, pk) -> the time of row `pk`, for a source whose rows are not all in `model`.
    locate_in_tables: Callable[[Customer, int], datetime.datetime | None] | None = None

    @property
    def kinds(self) -> set[str]:
        return {value for value, _label in self.choices}

    def locate(self, customer: Customer, pk: int) -> datetime.datetime | None:
        """The time of this source's row `pk` of `customer`, None when it is not there."""
        if self.locate_in_tables is not None:
            return self.locate_in_tables(customer, pk)
        found: datetime.datetime | None = (
            self.model._default_manager.filter(pk=pk, **{self.customer_lookup: customer})
            .values_list(self.time_field, flat=True)
            .first()
        )
        return found


_sources: dict[str, TimelineSource] = {}


def register_timeline_source(source: TimelineSource) -> None:
    """Add `source`'s rows to every customer's timeline. A key registered again replaces its
    source; the key is one letter, not a digit (cursors are "<key><pk>")."""
    if len(source.key) != 1 or source.key.isdigit():
        raise ValueError(f"a timeline source's key is one letter, not {source.key!r}")
    _sources[source.key] = source


def timeline_sources() -> list[TimelineSource]:
    return sorted(_sources.values(), key=lambda source: source.rank, reverse=True)


def timeline_source(key: str) -> TimelineSource | None:
    return _sources.get(key)


def timeline_choices() -> list[tuple[str, Any]]:
    """The timeline's kind filter after "Everything": every source's choices, in menu order."""
    return [
        choice
        for source in sorted(_sources.values(), key=lambda source: source.menu_order)
        for choice in source.choices
    ]


# --- interactions' own sources -----------------------------------------------------------


def _purchases(request: TimelineRequest) -> list[Transaction]:
    return list(
        request.customer.transactions.filter(request.older).order_by("-occurred_at", "-pk")[
            : request.limit
        ]
    )


def _interactions(request: TimelineRequest) -> list[Interaction | ArchivedInteraction]:
    # The archive is always asked: rows older than the archive age may still be in the hot
    # table (not yet archived, or imported late).
    found: dict[int, Interaction | ArchivedInteraction] = {}
    for table in (request.customer.interactions, request.customer.archived_interactions):
        rows = table.filter(request.older)
        if request.kind:
            rows = rows.filter(kind=request.kind)
        rows = rows.select_related("staff", "contact").order_by("-occurred_at", "-pk")
        for row in rows[: request.limit]:
            # A row archived between the two queries is in both answers: shown once.
            found.setdefault(row.pk, row)
    _show_custom_values(request, found.values())
    return list(found.values())


def _show_custom_values(
    request: TimelineRequest, rows: Iterable[Interaction | ArchivedInteraction]
) -> None:
    """Give each row `custom_shown`: its custom values as the reader must see them
    (records.shown_values), a sensitive one revealable by a reader who may."""
    fields = defined_fields(FieldTarget.INTERACTION)
    if not fields:
        return
    user = request.user
    sees_personal = user is not None and can_view_personal_data(user, request.customer)
    may_reveal = user is not None and user.has_perm("customers.reveal_national_id")
    for row in rows:
        row.custom_shown = shown_values(  # type: ignore[union-attr]
            fields, row.custom or {}, sees_personal=sees_personal, may_reveal=may_reveal
        )


def _locate_interaction(customer: Customer, pk: int) -> datetime.datetime | None:
    # An interaction keeps its id in the archive: "i<id>" names it in either table, so a page
    # cursor stays valid when the row is archived between two pages.
    found = (
        customer.interactions.filter(pk=pk)
        .order_by()
        .values_list("occurred_at")
        .union(
            customer.archived_interactions.filter(pk=pk).order_by().values_list("occurred_at"),
            all=True,
        )
    )
    return next(iter(found), (None,))[0]


def register_sources() -> None:
    register_timeline_source(
        TimelineSource(
            key="i",
            rank=0,
            template="interactions/timeline/interaction.html",
            rows=_interactions,
            choices=InteractionKind.choices,
            model=Interaction,
            locate_in_tables=_locate_interaction,
            menu_order=90,
        )
    )
    register_timeline_source(
        TimelineSource(
            key="t",
            rank=1,
            template="interactions/timeline/purchase.html",
            rows=_purchases,
            choices=[(TIMELINE_PURCHASES, _("Purchases"))],
            model=Transaction,
            menu_order=10,
        )
    )
