"""Errors as RFC 9457 problem details (`application/problem+json`), in the caller's language.

Every error the API answers has the same shape: `type` (a stable URI naming the kind of
problem), `title`, `status`, `detail`, and for invalid input `errors`, one list of messages per
field (`non_field_errors` for the record as a whole). The services' own ValidationError (their
messages per field, already translated through gettext_lazy) comes out the same way as the
serializers', so a partner sees one format whatever layer refused the input.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.encoding import force_str
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from kernel.versioning import EditConflictError

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "/api/problems/"


class PreconditionRequired(exceptions.APIException):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_detail = _(
        "This change needs the If-Match header with the ETag of the version it starts from."
    )
    default_code = "precondition-required"


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = _("Someone changed this record since the version in If-Match.")
    default_code = "edit-conflict"


class Conflict(exceptions.APIException):
    """The request cannot be done in the record's present state (a likely duplicate, a key
    reused for another request). `extra` goes into the problem as members of its own."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"

    def __init__(self, detail: Any, *, code: str = "conflict", **extra: Any) -> None:
        super().__init__(detail, code)
        self.problem_type = code
        self.extra = extra


# Problem types by status, for exceptions that carry no code of their own.
_TYPES_BY_STATUS = {
    400: "invalid",
    401: "not-authenticated",
    403: "permission-denied",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    412: "edit-conflict",
    413: "too-large",
    415: "unsupported-media-type",
    428: "precondition-required",
    429: "throttled",
}


def problem(status_code: int, problem_type: str, detail: str, **extra: Any) -> dict[str, Any]:
    """The body of a problem response (RFC 9457 members plus `extra`)."""
    return {
        "type": PROBLEM_TYPE_BASE + problem_type,
        "title": _title(status_code),
        "status": status_code,
        "detail": detail,
        **extra,
    }


def _title(status_code: int) -> str:
    titles = {
        400: gettext("The request is invalid."),
        401: gettext("Authentication is needed."),
        403: gettext("You do not have permission to do this."),
        404: gettext("Not found."),
        405: gettext("This method is not allowed here."),
        409: gettext("The request conflicts with the record's state."),
        412: gettext("The record changed since your version."),
        413: gettext("The request is too large."),
        428: gettext("A precondition is needed."),
        429: gettext("Too many requests."),
    }
    return titles.get(status_code, gettext("The request failed."))


def field_errors(detail: Any) -> dict[str, list[str]]:
    """A serializer's or a service's errors as {field: [message, ...]}; nested errors (a line
    of an order) are keyed by their path, `lines.0.quantity`."""
    errors: dict[str, list[str]] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list) and value and not all(_is_message(item) for item in value):
            for index, inner in enumerate(value):
                if inner:
                    walk(f"{prefix}.{index}" if prefix else str(index), inner)
        else:
            messages = value if isinstance(value, list) else [value]
            errors.setdefault(prefix or "non_field_errors", []).extend(
                force_str(message) for message in messages
            )

    walk("", detail)
    return errors


def _is_message(value: Any) -> bool:
    return not isinstance(value, dict | list)


def service_errors(error: DjangoValidationError) -> dict[str, list[str]]:
    """A service's ValidationError as per-field messages (`__all__` becomes
    `non_field_errors`, as in serializers)."""
    if hasattr(error, "error_dict"):
        return {
            ("non_field_errors" if field == "__all__" else field): [
                force_str(message) for message in messages
            ]
            for field, messages in error.message_dict.items()
        }
    return {"non_field_errors": [force_str(message) for message in error.messages]}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler, answering problem details for every error it knows and for
    the services' ValidationError and EditConflictError."""
    if isinstance(exc, EditConflictError):
        exc = PreconditionFailed()
    elif isinstance(exc, IntegrityError):
        # A unique constraint refused the write (an external id another customer holds, a
        # race between two callers): the data's state, not a fault of the server. The write
        # was rolled back with its transaction.
        exc = Conflict(gettext("This conflicts with a record that already exists."))
    elif isinstance(exc, DjangoValidationError):
        return _problem_response(
            400, "invalid", gettext("Some values are invalid."), errors=service_errors(exc)
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        body = problem(
            response.status_code,
            "invalid",
            gettext("Some values are invalid."),
            errors=field_errors(exc.detail),
        )
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else ""
        problem_type = getattr(exc, "problem_type", None) or _TYPES_BY_STATUS.get(
            response.status_code, "error"
        )
        body = problem(
            response.status_code,
            problem_type,
            force_str(detail),
            **getattr(exc, "extra", {}),
        )
    response.data = body
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def _problem_response(status_code: int, problem_type: str, detail: str, **extra: Any) -> Response:
    return Response(
        problem(status_code, problem_type, detail, **extra),
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's 500 handler: a problem for API callers, the error page for people."""
    if not request.path.startswith("/api/"):
        return defaults.server_error(request)
    body = problem(500, "server-error", gettext("Something went wrong on our side."))
    return JsonResponse(body, status=500, content_type=PROBLEM_CONTENT_TYPE)
