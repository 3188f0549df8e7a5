"""What keeps the submissions' log from growing forever (nightly, webforms/tasks.py): a
submission older than WEBFORMS_SUBMISSION_DAYS is deleted, with the rejection counts of those
days. The consents it led to stay in the ledger, whose evidence names the form, its version
and both steps; the customer it wrote stays too. A submission waiting for its confirmation is
kept until its link expires."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from webforms.models import FormRejection, FormSubmission

RETENTION_BATCH = 5000


def forget_old_submissions(
    *, now: datetime.datetime | None = None, batch: int = RETENTION_BATCH
) -> int:
    """Delete, a batch per short transaction, the submissions received more than
    WEBFORMS_SUBMISSION_DAYS ago whose confirmation link (if any) has expired or was used, and
    the rejection counts of days as old. Returns how many submissions went."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.WEBFORMS_SUBMISSION_DAYS)
    old = FormSubmission.objects.filter(received_at__lt=cutoff).exclude(
        Q(confirmed_at__isnull=True) & Q(confirmation_expires_at__gte=now)
    )
    deleted = 0
    while ids := list(old.order_by("pk").values_list("pk", flat=True)[:batch]):
        with transaction.atomic():
            deleted += FormSubmission.objects.filter(pk__in=ids).delete()[0]
    FormRejection.objects.filter(day__lt=timezone.localdate(cutoff)).delete()
    return deleted
