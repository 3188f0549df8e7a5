"""What the schema says about every operation beyond its own serializers, added once for all
resources (a drf-spectacular postprocessing hook, SPECTACULAR_SETTINGS in crm/settings.py):

- the problem responses the base view set can answer (kernel/api/problems.py): 400, 401, 403
  and 429 everywhere; 404 where a path names a record or a list takes a cursor; 409 on writes;
  422 for a reused Idempotency-Key on POST; 412 and 428 where If-Match is required; 415 where
  a body is read; and the web server's 414 for a query too long;
- the Idempotency-Key header on every POST (kernel/api/idempotency.py);
- OpenAPI links from a create to the operations on the record it made (its `id`), and from a
  read to a change of the same record (its ETag as If-Match), so that a client — or
  schemathesis's stateful tests — can follow one record through its life.

Derived from the paths and methods alone, so a new resource is documented with no edit here."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import DatabaseError
from django.utils.translation import gettext_lazy as _

from kernel.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from kernel.api.idempotency import MAX_KEY_LENGTH
from kernel.api.problems import PROBLEM_CONTENT_TYPE

T = TypeVar("T")

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "An RFC 9457 problem: what went wrong, in the caller's language.",
    "properties": {
        "type": {"type": "string", "description": "A URI naming the kind of problem."},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "description": (
                "For invalid input: messages per field (`non_field_errors` for the whole "
                "record; `lines.0.quantity` for a nested field)."
            ),
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["type", "title", "status", "detail"],
    # A problem may carry members of its own (a likely duplicate's ids).
    "additionalProperties": True,
}

# status -> (component name, description, headers)
PROBLEMS: dict[int, tuple[str, Any, dict[str, Any]]] = {
    400: ("Invalid", _("The request is invalid: `errors` says why, field by field."), {}),
    401: (
        "NotAuthenticated",
        _("No API key, or one that is unknown, revoked or expired."),
        {"WWW-Authenticate": {"schema": {"type": "string"}}},
    ),
    403: ("PermissionDenied", _("The key's role does not allow this."), {}),
    404: ("NotFound", _("No such record in the caller's scope, or an invalid cursor."), {}),
    409: ("Conflict", _("The request conflicts with the record's state."), {}),
    412: ("PreconditionFailed", _("The record changed since the version in If-Match."), {}),
    415: ("UnsupportedMediaType", _("The body is not JSON (nor multipart, for a file)."), {}),
    422: ("IdempotencyKeyReused", _("This Idempotency-Key was used for a different request."), {}),
    428: ("PreconditionRequired", _("If-Match is missing."), {}),
    429: (
        "Throttled",
        _("Too many requests from this key: try again after Retry-After seconds."),
        {"Retry-After": {"schema": {"type": "integer"}}},
    ),
}

_WRITES = {"post", "put", "patch", "delete"}
_PATH_PARAMETER = re.compile(r"\{[^}]+\}")


def document_problems(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """The postprocessing hook: problem responses, Idempotency-Key and links on every
    operation of `result` (the schema as a dict)."""
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    responses = components.setdefault("responses", {})
    for name, description, headers in PROBLEMS.values():
        responses[name] = {
            "description": str(description),
            "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            **({"headers": headers} if headers else {}),
        }
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method in _WRITES | {"get"}:
                _document_operation(path, method, operation)
    _link_operations(result.get("paths", {}))
    return result


def _document_operation(path: str, method: str, operation: dict[str, Any]) -> None:
    parameters = operation.setdefault("parameters", [])
    statuses = {400, 401, 403, 429}
    if _PATH_PARAMETER.search(path) or method == "get":
        statuses.add(404)
    if method in _WRITES:
        statuses.add(409)
    if "requestBody" in operation:
        statuses.add(415)
    if any(parameter.get("name") == "If-Match" for parameter in parameters):
        statuses |= {412, 428}
    if method == "get" and any(parameter.get("in") == "query" for parameter in parameters):
        # Answered by the web server (gunicorn's request line limit) before the app runs.
        operation["responses"].setdefault(
            "414", {"description": str(_("The address (its query) is too long."))}
        )
    if method == "post":
        statuses.add(422)
        parameters.append(
            {
                "name": IDEMPOTENCY_HEADER,
                "in": "header",
                "required": False,
                "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH},
                "description": str(
                    _(
                        "A key of your choosing, unique per request: sent again with the same "
                        "request, the first answer comes back and nothing is written again."
                    )
                ),
            }
        )
    for status in sorted(statuses):
        operation["responses"].setdefault(
            str(status), {"$ref": f"#/components/responses/{PROBLEMS[status][0]}"}
        )


def _link_operations(paths: dict[str, Any]) -> None:
    """Links from a collection's create to what can be done with the record it made, and from
    a record's read to its change."""
    for path, operations in paths.items():
        create = operations.get("post")
        if create is None or _PATH_PARAMETER.search(path):
            continue
        made = create["responses"].get("201")
        if made is None:
            continue
        for record_path, record_operations in paths.items():
            parameter = _record_parameter(path, record_path)
            if parameter is None:
                continue
            for operation in record_operations.values():
                if "operationId" in operation:
                    made.setdefault("links", {})[operation["operationId"]] = {
                        "operationId": operation["operationId"],
                        "parameters": {parameter: "$response.body#/id"},
                    }
    for operations in paths.values():
        read, change = operations.get("get"), operations.get("patch")
        if read is None or change is None or "200" not in read["responses"]:
            continue
        names = [p["name"] for p in change.get("parameters", []) if p.get("in") == "path"]
        read["responses"]["200"].setdefault("links", {})[change["operationId"]] = {
            "operationId": change["operationId"],
            "parameters": {
                **{f"path.{name}": f"$request.path.{name}" for name in names},
                "header.If-Match": "$response.header.ETag",
            },
        }


def _record_parameter(collection: str, path: str) -> str | None:
    """The name of the record's parameter when `path` is `collection{name}/...`."""
    match = re.fullmatch(re.escape(collection) + r"\{(\w+)\}/.*", path)
    return f"path.{match.group(1)}" if match else None


def read_for_schema(read: Callable[[], T], fallback: T) -> T:
    """What `read` takes from the database for the schema (fields administrators define), or
    `fallback` when there is no database to read: the schema is also drawn by `manage.py check
    --deploy`, which may run before the first migrate."""
    try:
        return read()
    except DatabaseError:
        return fallback
