"""Idempotency-Key on POST: a retried request gets the first answer and writes nothing new.

The first request with a key claims it (a row unique per caller and key) in the same
transaction as its writes, so either both the writes and the stored answer commit or neither
does: a crash mid-request leaves the key free for the retry. A second request with the key
while the first is still running waits on the claim (PostgreSQL's unique index; SQLite
serialises writers) and then replays the stored answer. A key sent again with a different
request is refused (422), as the IETF draft on the header asks."""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from kernel.models import IdempotentRequest

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# Answers' headers worth replaying; others (Date, throttling) belong to each response. The
# content type is kept apart: before rendering, the header holds only Django's default.
_REPLAYED_HEADERS = ("Location", "ETag")


class KeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency-key-reused"
    default_detail = _("This Idempotency-Key was used for a different request.")
    problem_type = "idempotency-key-reused"


class AlreadyAnsweredError(Exception):
    """The answer already given to this key (raised to stop the handler from running)."""

    def __init__(self, response: Response) -> None:
        self.response = response


def request_key(request: Request) -> str | None:
    """The request's Idempotency-Key, when it is a POST that has one."""
    if request.method != "POST":
        return None
    key = request.headers.get(HEADER, "").strip()
    if not key:
        return None
    if len(key) > MAX_KEY_LENGTH:
        raise exceptions.ValidationError(
            {HEADER: [_("An Idempotency-Key has at most 255 characters.")]}
        )
    return key


def fingerprint(request: Request) -> str:
    django_request = request._request
    length = int(django_request.META.get("CONTENT_LENGTH") or 0)
    digest = hashlib.sha256(f"{request.method} {django_request.get_full_path()}\n".encode())
    # A larger body (an uploaded file) is fingerprinted by its length alone: Django refuses to
    # hold it in memory as `body`.
    if length <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        digest.update(django_request.body)
    else:
        digest.update(f"length={length}".encode())
    return digest.hexdigest()


def claim(request: Request, key: str) -> IdempotentRequest:
    """Claim `key` for this request (inside the request's transaction). Raises
    AlreadyAnsweredError with the stored answer, or KeyReused."""
    request_print = fingerprint(request)
    try:
        with transaction.atomic():
            return IdempotentRequest.objects.create(
                caller=request.user, key=key, fingerprint=request_print
            )
    except IntegrityError:
        pass
    earlier = IdempotentRequest.objects.get(caller=request.user, key=key)
    if earlier.fingerprint != request_print:
        raise KeyReused()
    headers = dict(earlier.response_headers)
    response = Response(
        earlier.response_body,
        status=earlier.status_code,
        headers=headers,
        # The renderer sets Content-Type from this, whatever the headers say.
        content_type=headers.pop("Content-Type", None),
    )
    response["Idempotent-Replayed"] = "true"
    raise AlreadyAnsweredError(response)


def remember(record: IdempotentRequest, response: Response, *, omit: Sequence[str] = ()) -> None:
    """Store the answer to replay, without the top-level fields in `omit`."""
    # Through DRF's encoder, as the renderer will: dates and decimals become the same strings.
    body = json.loads(json.dumps(response.data, cls=JSONEncoder)) if response.data else None
    if omit and isinstance(body, dict):
        body = {field: value for field, value in body.items() if field not in omit}
    record.status_code = response.status_code
    record.response_body = body
    record.response_headers = {
        name: response[name] for name in _REPLAYED_HEADERS if response.has_header(name)
    }
    # A problem's own content type; others are the renderer's.
    if response.content_type:
        record.response_headers["Content-Type"] = response.content_type
    record.save(update_fields=["status_code", "response_body", "response_headers"])


def forget_expired() -> int:
    """Delete the keys older than IDEMPOTENCY_KEY_HOURS; returns how many."""
    cutoff = timezone.now() - datetime.timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)
    deleted, _rows = IdempotentRequest.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def transactional_dispatch(request: Any) -> bool:
    """Whether a request must run in one transaction with its key's claim."""
    return request.method == "POST" and bool(request.headers.get(HEADER, "").strip())
