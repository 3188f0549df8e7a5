"""What keeps robots and floods out of a public form: a body size cap, rate limits per
address and per form, a honeypot field, a minimum time to fill the form in. A refused
submission is counted per form, reason and day (FormRejection) and never stored.

The rate limits count in the cache, as the API's do (kernel/api/throttling.py, DRF's
SimpleRateThrottle), so every web process shares them. The address is REMOTE_ADDR, as in the
audit log: behind a proxy the deployment sets it from the forwarded header, and a client's own
X-Forwarded-For is never believed (it would choose its own limit)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.throttling import SimpleRateThrottle

from webforms.models import FormRejection, RejectionReason, WebForm

# The field robots fill and people never see (hidden off-screen, not typed into by tabbing).
HONEYPOT_FIELD = "homepage"


class _SubmissionThrottle(SimpleRateThrottle):
    """One rate (a setting like "10/hour") for one caller: an address, or a form."""

    def __init__(self, setting: str, ident: str) -> None:
        self.setting = setting
        self.ident = ident
        super().__init__()

    def get_rate(self) -> str:
        return getattr(settings, self.setting)

    def get_cache_key(self, request: Any, view: Any) -> str:
        return f"webforms_throttle_{self.setting}_{self.ident}"


def client_address(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def body_too_large(request: HttpRequest) -> bool:
    """Whether the body announces more than WEBFORMS_MAX_BODY_BYTES, checked before it is
    read (a body without a length is cut by Django's own DATA_UPLOAD_MAX_MEMORY_SIZE)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return True
    return length > settings.WEBFORMS_MAX_BODY_BYTES


def over_rate_limit(request: HttpRequest, form: WebForm) -> str:
    """The reason (RejectionReason) when this submission is one too many for its address or
    its form; "" when it may go on. Each call counts as one try."""
    checks = (
        (
            "WEBFORMS_RATE_PER_ADDRESS",
            client_address(request) or "-",
            RejectionReason.ADDRESS_LIMIT,
        ),
        ("WEBFORMS_RATE_PER_FORM", form.public_key, RejectionReason.FORM_LIMIT),
    )
    for setting, ident, reason in checks:
        if not _SubmissionThrottle(setting, ident).allow_request(request, None):
            return reason
    return ""


def count_rejection(form: WebForm, reason: str) -> None:
    """Add one to the form's count of submissions refused for `reason` today."""
    day = timezone.localdate()
    counter, created = FormRejection.objects.get_or_create(
        form=form, day=day, reason=RejectionReason(reason), defaults={"count": 1}
    )
    if not created:
        FormRejection.objects.filter(pk=counter.pk).update(count=F("count") + 1)
