"""Rate limits per caller: per API key, or per user for the pages' own scripts. Counted in the
cache (Redis in production, the file cache of the embedded default), so every web process
shares the count. A caller over the limit gets 429 with Retry-After (DRF's throttling)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle


class CallerRateThrottle(SimpleRateThrottle):
    scope = "caller"

    def get_rate(self) -> str:
        return settings.API_RATE_LIMIT

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
        key = getattr(request, "auth", None)
        # An API key is limited on its own; a user's browser session has a limit of its own.
        ident = f"key-{key.pk}" if hasattr(key, "pk") else f"user-{request.user.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
