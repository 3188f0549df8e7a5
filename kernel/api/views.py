"""The base view set of every API resource.

It brings, once for all resources: authentication (API keys, or the browser session with
CSRF), deny-by-default permissions per action, rate limits, cursor pages, problem details, the
`api` audit channel, and Idempotency-Key on POST. A resource says which permissions each
action needs (`action_permissions`) and calls selectors to read and services to write."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from kernel.api import idempotency, problems
from kernel.api.concurrency import etag_of
from kernel.models import Versioned
from privacy.audit.recording import audit_context
from privacy.models import AuditChannel


class ApiViewSet(viewsets.GenericViewSet):
    # {action: (permission, ...)}: an action missing here is refused (kernel/api/permissions.py).
    action_permissions: ClassVar[dict[str, tuple[str, ...]]] = {}
    # {action: (field, ...)}: fields of an answer never stored for an Idempotency-Key's replay
    # (a secret shown once); the replay answers without them.
    idempotency_omitted_fields: ClassVar[dict[str, tuple[str, ...]]] = {}

    @classmethod
    def as_view(cls, actions: Any = None, **initkwargs: Any) -> Any:
        # DRF authenticates API keys itself; Django's login redirect must not answer first.
        return login_not_required(super().as_view(actions, **initkwargs))

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with audit_context(
            via=AuditChannel.API,
            ip_address=request.META.get("REMOTE_ADDR") or None,
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        ):
            if idempotency.transactional_dispatch(request):
                with transaction.atomic():
                    return super().dispatch(request, *args, **kwargs)
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # Records are named by their numeric id: anything else names none (rather than
        # reaching a lookup that would fail on it).
        lookup = kwargs.get(self.lookup_url_kwarg or self.lookup_field)
        if lookup is not None and not str(lookup).isdigit():
            raise exceptions.NotFound()
        self._idempotent_request = None
        key = idempotency.request_key(request)
        if key is not None:
            self._idempotent_request = idempotency.claim(request, key)

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, idempotency.AlreadyAnsweredError):
            return exc.response
        return super().handle_exception(exc)

    def finalize_response(
        self, request: Request, response: HttpResponse, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        record = getattr(self, "_idempotent_request", None)
        # Any answer but a server error, which rolls the claim back with the writes.
        if record is not None and isinstance(response, Response) and response.status_code < 500:
            idempotency.remember(
                record, response, omit=self.idempotency_omitted_fields.get(self.action, ())
            )
        return super().finalize_response(request, response, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        # The schema generator asks without a caller: the empty `queryset` names the model.
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return self.visible_queryset()

    def visible_queryset(self) -> QuerySet[Any]:
        """The records the caller may reach with this action, through the scoped selectors.
        Every view set that reads records defines it; one that reads none never calls it."""
        raise ImproperlyConfigured(f"{type(self).__name__} reads no records.")

    def versioned_response(
        self, record: Versioned, data: Any, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> Response:
        """A response about one record, with its version as ETag."""
        return Response(data, headers={**(headers or {}), "ETag": etag_of(record)}, **kwargs)


@csrf_exempt
@login_not_required
def no_such_resource(request: HttpRequest, path: str = "") -> HttpResponse:
    """Any address under /api/ that names no resource: a problem, as the resources' own 404s
    are, rather than the pages' HTML."""
    return JsonResponse(
        problems.problem(404, "not-found", gettext("No resource has this address.")),
        status=404,
        content_type=problems.PROBLEM_CONTENT_TYPE,
        json_dumps_params={"ensure_ascii": False},
    )
