"""Web forms on the operations page's connected sources (operations/connections.py): each
active form, its last submission, the submissions refused for invalid values in the last day,
and the marketing opt-ins waiting — since when the oldest confirmation mail the worker owes
waits (a stopped worker or mail server shows there)."""

from __future__ import annotations

from collections.abc import Iterator

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from operations.connections import ConnectionHealth
from webforms.selectors import active_forms_health


def form_connections() -> Iterator[ConnectionHealth]:
    for health in active_forms_health():
        yield ConnectionHealth(
            kind=_("Web form"),
            name=health.form.name,
            url=reverse("webforms:detail", args=[health.form.pk]),
            last_received_at=health.last_received_at,
            errors_last_day=health.failed_last_day,
            backlog=health.unconfirmed,
            oldest_waiting_at=health.oldest_unmailed_at,
        )
