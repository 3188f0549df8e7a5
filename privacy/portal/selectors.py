"""What a person's privacy page shows of them: each purpose they may agree to, whether they
agree now, and the ledger entry that says so; their requests still open."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Model

from privacy.consent import STATUS_FIELDS
from privacy.models import ConsentPurpose, ConsentRecord, DataSubjectRequest, PrivacyPolicy


@dataclass(frozen=True)
class PurposeStatus:
    purpose: ConsentPurpose
    granted: bool
    # The newest ledger entry for the purpose, if any: when, through what, which policy.
    recorded_at: datetime.datetime | None
    source: Any
    policy: PrivacyPolicy | None

    @property
    def label(self) -> Any:
        return self.purpose.label


def purpose_statuses(customer: Model) -> list[PurposeStatus]:
    latest: dict[str, ConsentRecord] = {}
    for record in ConsentRecord.objects.filter(customer_id=customer.pk).select_related("policy"):
        latest.setdefault(record.purpose, record)
    statuses = []
    for purpose, field in STATUS_FIELDS.items():
        record = latest.get(purpose)
        statuses.append(
            PurposeStatus(
                purpose=purpose,
                granted=bool(getattr(customer, field)),
                recorded_at=record.recorded_at if record else None,
                source=record.get_source_display() if record else "",
                policy=record.policy if record else None,
            )
        )
    return statuses


def open_requests(customer: Model) -> list[DataSubjectRequest]:
    return list(
        DataSubjectRequest.objects.filter(
            customer_id=customer.pk, status__in=DataSubjectRequest.OPEN
        ).order_by("received_at")
    )
