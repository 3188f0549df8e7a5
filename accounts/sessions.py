"""How long a staff session lives, and ending all of a user's sessions at once.

A session ends after SESSION_IDLE_TIMEOUT seconds without activity, SESSION_COOKIE_AGE seconds
after its login however busy, when the browser closes, and when its user is deactivated or
their password changes (`end_sessions`). The timestamps live in the session itself; the
`UserSession` table only maps users to session keys, written at login and when a key changes.
"""

from __future__ import annotations

import contextlib
import datetime
import enum
import time
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from importlib import import_module
from typing import Any

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.audit import AccountAction
from accounts.models import UserSession
from privacy.audit.recording import context_user, record_event

LOGGED_IN_AT = "accounts_logged_in_at"
LAST_ACTIVITY = "accounts_last_activity"
TRACKED_KEY = "accounts_session_key"
# Activity is written to the session at most this often: a session write per page view would
# cost a database write per request for a timeout measured in minutes.
ACTIVITY_RESOLUTION_SECONDS = 60

_current_request: ContextVar[HttpRequest | None] = ContextVar("accounts_request", default=None)


class SessionEnd(enum.Enum):
    IDLE = "idle"
    MAXIMUM_AGE = "maximum_age"


def expired(session: Mapping[str, Any], *, now: float) -> SessionEnd | None:
    """Why a signed-in session is over at `now` (seconds since the epoch), or None.
    Pure: reads the two timestamps `start_session` and `record_activity` keep."""
    logged_in_at = session.get(LOGGED_IN_AT)
    if logged_in_at is not None and now - logged_in_at > settings.SESSION_COOKIE_AGE:
        return SessionEnd.MAXIMUM_AGE
    last_activity = session.get(LAST_ACTIVITY)
    idle_timeout = settings.SESSION_IDLE_TIMEOUT
    if idle_timeout and last_activity is not None and now - last_activity > idle_timeout:
        return SessionEnd.IDLE
    return None


def record_activity(session: SessionBase, *, now: float) -> None:
    """Note that the user did something, writing the session only when the last note is older
    than ACTIVITY_RESOLUTION_SECONDS. Sessions from before this code get their timestamps."""
    last_activity = session.get(LAST_ACTIVITY)
    if last_activity is None or now - last_activity >= ACTIVITY_RESOLUTION_SECONDS:
        session[LAST_ACTIVITY] = int(now)
    if LOGGED_IN_AT not in session:
        session[LOGGED_IN_AT] = int(now)


def start_session(*, session: SessionBase, user: Any) -> None:
    """At login: start the clocks and remember whose session this is."""
    now = int(time.time())
    session[LOGGED_IN_AT] = now
    session[LAST_ACTIVITY] = now
    track_session(session=session, user=user)


def track_session(*, session: SessionBase, user: Any) -> None:
    """Map the session's current key to `user` if it is not mapped yet (a login, or a key
    cycled by a password change), dropping the mapping of the key it replaced."""
    key = session.session_key
    previous = session.get(TRACKED_KEY)
    if key is None or previous == key:
        return
    with transaction.atomic():
        if previous:
            UserSession.objects.filter(session_key=previous).delete()
        UserSession.objects.update_or_create(session_key=key, defaults={"user": user})
    session[TRACKED_KEY] = key


def forget_session(session_key: str | None) -> None:
    """After a logout: the session is gone, so is its mapping."""
    if session_key:
        UserSession.objects.filter(session_key=session_key).delete()


@contextlib.contextmanager
def serving(request: HttpRequest) -> Iterator[None]:
    """Mark `request` as the one being served, for `current_session_key` (the middleware)."""
    token = _current_request.set(request)
    try:
        yield
    finally:
        _current_request.reset(token)


def current_session_key(*, of: Any) -> str | None:
    """The key of the session being served, if it is `of`'s own (a user changing their own
    password keeps the session they did it in), else None."""
    request = _current_request.get()
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated or user.pk != of.pk:
        return None
    return request.session.session_key


def _session_store() -> type[SessionBase]:
    return import_module(settings.SESSION_ENGINE).SessionStore


def end_sessions(*, user: Any, reason: str, keep_session_key: str | None = None) -> int:
    """Delete every session of `user` from the session store, except `keep_session_key` (the
    one the user is working in, when they changed their own password), and audit it as
    `auth.sessions_ended` with the reason and the count. Returns how many were ended.

    Works with every server-side session engine (database, cache, cached database); signed
    cookie sessions cannot be ended by the server at all."""
    mappings = UserSession.objects.filter(user=user)
    if keep_session_key:
        mappings = mappings.exclude(session_key=keep_session_key)
    keys = list(mappings.values_list("session_key", flat=True))
    if not keys:
        return 0
    store = _session_store()
    for key in keys:
        store(session_key=key).delete()
    UserSession.objects.filter(session_key__in=keys).delete()
    record_event(
        actor=context_user(),
        action=AccountAction.SESSIONS_ENDED,
        target=user,
        changes={"reason": reason, "sessions": len(keys)},
    )
    return len(keys)


def clear_expired_sessions() -> int:
    """Delete expired sessions from the store, mappings older than any session can live, and
    failed-login records past their cool-off (django-axes ignores them already; they hold
    whatever name was typed and the address). Returns how many mappings went. Run hourly by
    the beat (`accounts.tasks`)."""
    _session_store().clear_expired()
    now = timezone.now()
    oldest_possible = now - datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    deleted, _ = UserSession.objects.filter(created_at__lt=oldest_possible).delete()
    AccessAttempt.objects.filter(attempt_time__lt=now - settings.AXES_COOLOFF_TIME).delete()
    return deleted
