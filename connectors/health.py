"""The connectors' rows of the operations page (operations/connections.py): each shop's last
delivery, its failures of the last day and its backlog; paused, or refusing signatures (a
secret changed in the shop but not here), is a problem."""

from __future__ import annotations

import datetime

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from connectors import selectors
from connectors.platforms import adapter_for
from operations.connections import ConnectionHealth


def connection_health() -> list[ConnectionHealth]:
    day_ago = timezone.now() - datetime.timedelta(days=1)
    rows = []
    for connector, state in selectors.with_health(selectors.connectors()):
        problem: object = ""
        if connector.is_paused:
            problem = _("Paused: deliveries wait until it is resumed.")
        elif connector.last_refused_at and connector.last_refused_at > day_ago:
            problem = _("Deliveries with a wrong signature were refused: check the secret.")
        rows.append(
            ConnectionHealth(
                kind=adapter_for(connector.platform).label,
                name=connector.name,
                url=reverse("connectors:detail", args=[connector.pk]),
                last_received_at=state.last_received_at,
                errors_last_day=state.failed_last_day,
                backlog=state.backlog,
                oldest_waiting_at=state.oldest_waiting_at,
                problem=problem,
            )
        )
    return rows
