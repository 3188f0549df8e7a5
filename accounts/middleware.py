"""Session limits and the second factor, enforced for every request."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import ngettext

from accounts import sessions, two_factor
from accounts.audit import AccountAction
from privacy.audit.recording import record_event

# Sent by static/js/crm.js on htmx requests no click or keystroke started (progress polling,
# panels loading themselves): they must not keep an unattended session alive.
BACKGROUND_HEADER = "X-Background-Request"
# Reachable before the second step: leaving, and the pages of the step itself (marked with
# @two_factor_exempt). Pages open to anonymous visitors (login, password reset, language,
# health) need no marking.
EXEMPT_URL_NAMES = {"logout"}


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    """A redirect that also works for htmx requests (which would otherwise swap the page
    they were redirected to into a panel)."""
    if request.headers.get("HX-Request"):
        response = HttpResponse()
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def _with_next(request: HttpRequest, url: str) -> str:
    if request.method == "GET" and not request.headers.get("HX-Request"):
        path = request.get_full_path()
        if path != "/":
            return f"{url}?{urlencode({'next': path})}"
    return url


class SessionLifetimeMiddleware:
    """Ends sessions idle for SESSION_IDLE_TIMEOUT seconds or older than SESSION_COOKIE_AGE,
    with a message on the login page; keeps the user → session-key map current."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with sessions.serving(request):
            ended = self._end_if_expired(request)
            if ended is not None:
                return ended
            response = self.get_response(request)
            # Login and password changes give the session a new key: map it to its user.
            if request.session.modified and request.user.is_authenticated:
                sessions.track_session(session=request.session, user=request.user)
        return response

    def _end_if_expired(self, request: HttpRequest) -> HttpResponse | None:
        user = request.user
        if not user.is_authenticated:
            return None
        now = time.time()
        end = sessions.expired(request.session, now=now)
        if end is None:
            if request.headers.get(BACKGROUND_HEADER) != "1":
                sessions.record_activity(request.session, now=now)
            return None
        record_event(
            actor=user, action=AccountAction.SESSION_EXPIRED, changes={"reason": end.value}
        )
        logout(request)
        if end is sessions.SessionEnd.IDLE:
            minutes = max(1, settings.SESSION_IDLE_TIMEOUT // 60)
            message = ngettext(
                "You were signed out after %(minutes)d minute without activity. "
                "Please log in again.",
                "You were signed out after %(minutes)d minutes without activity. "
                "Please log in again.",
                minutes,
            ) % {"minutes": minutes}
        else:
            hours = max(1, settings.SESSION_COOKIE_AGE // 3600)
            message = ngettext(
                "Your session ended %(hours)d hour after you logged in. Please log in again.",
                "Your session ended %(hours)d hours after you logged in. Please log in again.",
                hours,
            ) % {"hours": hours}
        messages.info(request, message)
        # Everything but the public pages now answers with the login page, as for anyone
        # signed out; an htmx panel polling in an unattended tab sends the whole tab there.
        if request.headers.get("HX-Request"):
            return _redirect(request, reverse(settings.LOGIN_URL))
        return None


class TwoFactorMiddleware:
    """After the password, nothing but the code step until the session passed it; users who
    must have an authenticator and have none get nothing but the enrolment page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if not getattr(view_func, "login_required", True):
            return None
        if getattr(view_func, "two_factor_exempt", False):
            return None
        match = request.resolver_match
        if match is not None and match.url_name in EXEMPT_URL_NAMES:
            return None
        user = request.user
        if not user.is_authenticated or user.is_verified():
            return None
        if request.session.get(two_factor.HAS_AUTHENTICATOR):
            return _redirect(request, _with_next(request, reverse("accounts:two_factor_verify")))
        if two_factor.two_factor_required(user):
            return _redirect(request, _with_next(request, reverse("accounts:two_factor_setup")))
        return None
