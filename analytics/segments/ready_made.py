"""Ready-made segments, created when missing by the nightly job (analytics/nightly.py) and the
refresh_segments command."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from analytics.models import Segment, SegmentKind
from analytics.segments.validation import validate

# Segments every business starts with, by key; `ensure_ready_made_segments` creates the
# missing ones (their names are shown in the reader's language).
READY_MADE = {
    "high_value": (_("High value"), {"match": "all", "rules": [
        {"field": "monetary_score", "operator": "eq", "value": 5},
    ]}),
    "new": (_("New customers"), {"match": "all", "rules": [
        {"field": "first_purchase_at", "operator": "within_days", "value": 30},
    ]}),
    "loyal": (_("Loyal"), {"match": "all", "rules": [
        {"field": "frequency_score", "operator": "gte", "value": 4},
        {"field": "recency_score", "operator": "gte", "value": 4},
    ]}),
    "at_risk": (_("At risk"), {"match": "all", "rules": [
        {"field": "lifecycle_stage", "operator": "is", "value": "at_risk"},
    ]}),
    "churned": (_("Churned"), {"match": "all", "rules": [
        {"field": "lifecycle_stage", "operator": "is", "value": "churned"},
    ]}),
    "frequent_complainers": (_("Frequent complainers"), {"match": "all", "rules": [
        {"field": "complaints", "operator": "gte", "value": 3},
    ]}),
}  # fmt: skip


def ensure_ready_made_segments() -> None:
    """Create the ready-made segments that are missing (a name someone already gave another
    segment gets the key added)."""
    for key, (label, rules) in READY_MADE.items():
        if Segment.objects.filter(key=key).exists():
            continue
        with translation.override("en"):
            name = str(label)  # stored in English; shown in the reader's language (shown_name)
        if Segment.objects.filter(name=name).exists():
            name = f"{name} ({key})"
        Segment.objects.create(key=key, name=name, rules=validate(rules), kind=SegmentKind.DYNAMIC)
