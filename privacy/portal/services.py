"""What a person does on their own privacy page: withdraw a purpose they agreed to. Requests
for a copy or an erasure go through privacy/subjects/services.py like every other request."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Model
from django.utils.translation import gettext as _

from privacy.consent import STATUS_FIELDS, record_consent
from privacy.models import ConsentPurpose, ConsentRecord, ConsentSource


@transaction.atomic
def withdraw_on_privacy_page(*, customer: Model, purpose: str) -> ConsentRecord | None:
    """Withdraw `purpose` in the ledger at once (lists, segments and exports filter on the
    status it sets); None when it was not granted, so a second click adds no entry."""
    purpose = ConsentPurpose(purpose)
    customer = type(customer)._default_manager.select_for_update().get(pk=customer.pk)
    if not getattr(customer, STATUS_FIELDS[purpose]):
        return None
    return record_consent(
        actor=None,
        customer=customer,
        purpose=purpose,
        granted=False,
        source=ConsentSource.PRIVACY_PAGE,
        evidence=_(
            "Withdrawn by the person on their privacy page, opened from a signed link sent to "
            "the address on record."
        ),
    )
