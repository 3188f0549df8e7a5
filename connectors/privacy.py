"""What an erasure does to the connectors (privacy/registry.py, registered by
connectors/apps.py): the raw bodies of every delivery about the person (applied ones found by
our id, waiting or failed ones by the shop's id for the person) are cleared, and what linked
the shop's ids to the person (SourceRecord) goes. It runs before customers' external ids
scrubber (30), which removes the ids it reads."""

from __future__ import annotations

from django.db.models import Q

from connectors.models import Connector, InboundDelivery, SourceKind, SourceRecord
from connectors.retention import clear_bodies
from customers.models import ExternalId
from privacy.registry import Erasure, Scrubber


def _deliveries_about(ids: list[int]):
    about = Q(customer_id__in=ids)
    # A system may push through several generic webhooks.
    systems: dict[str, list[int]] = {}
    for system, pk in Connector.objects.values_list("system_name", "pk"):
        systems.setdefault(system, []).append(pk)
    for system, external_id in ExternalId.objects.filter(
        customer_id__in=ids, system__in=systems
    ).values_list("system", "external_id"):
        about |= Q(connector_id__in=systems[system], subject_ref=external_id)
    return InboundDelivery.objects.filter(about)


def scrub_deliveries(erasure: Erasure) -> int:
    """Clear the erased people's delivery bodies and forget their shops' ids; returns how many
    bodies were cleared."""
    cleared = clear_bodies(_deliveries_about(erasure.ids))
    SourceRecord.objects.filter(kind=SourceKind.CUSTOMER, local_id__in=erasure.ids).delete()
    return cleared


SCRUBBER = Scrubber(
    "shop_deliveries",
    25,
    scrub_deliveries,
    reach=lambda ids: _deliveries_about(ids).exclude(body="").count(),
)
