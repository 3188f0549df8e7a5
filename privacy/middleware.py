from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from privacy.audit.recording import audit_context
from privacy.models import AuditChannel


class AuditContextMiddleware:
    """Tags every audit event recorded during a request with where it came from."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # REMOTE_ADDR is the direct peer; behind a proxy the deployment sets it from the
        # forwarded header (gunicorn --forwarded-allow-ips), never trusting clients directly.
        via = AuditChannel.ADMIN if request.path.startswith("/admin/") else AuditChannel.WEB
        with audit_context(
            via=via,
            ip_address=request.META.get("REMOTE_ADDR") or None,
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            user=getattr(request, "user", None),
        ):
            return self.get_response(request)
