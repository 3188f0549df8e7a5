"""Recording audit events.

Services call `record_event` after each write; the request context (IP address, user agent,
channel) comes from `audit_context`, which the middleware, management commands and tasks set, so
services do not need the request passed down.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from django.contrib.auth.models import AnonymousUser
from django.db import models, transaction

from kernel.actors import Actor
from kernel.models import Versioned
from kernel.versioning import lock_version, next_version
from privacy.alerts import check_alerts
from privacy.audit.actions import known_action
from privacy.models import AuditChannel, AuditEvent


@dataclass(frozen=True)
class AuditContext:
    via: str
    ip_address: str | None = None
    user_agent: str = ""
    # The signed-in user of the request, for events recorded where no actor is passed down
    # (changes of users, groups and permissions, caught by signals); anonymous before login.
    user: Actor | AnonymousUser | None = None


Record = TypeVar("Record", bound=Versioned)

SYSTEM_CONTEXT = AuditContext(via=AuditChannel.SYSTEM)
_current_context: ContextVar[AuditContext | None] = ContextVar("audit_context", default=None)


@contextlib.contextmanager
def audit_context(
    *,
    via: AuditChannel,
    ip_address: str | None = None,
    user_agent: str = "",
    user: Actor | AnonymousUser | None = None,
) -> Iterator[None]:
    """Attribute every event recorded inside the block to this channel and origin (and, for
    events recorded without an actor of their own, to `user`)."""
    token = _current_context.set(
        AuditContext(via=via, ip_address=ip_address, user_agent=user_agent[:200], user=user)
    )
    try:
        yield
    finally:
        _current_context.reset(token)


def current_context() -> AuditContext:
    """The audit context in force (the system's outside any), to carry into work that runs
    later, such as a streamed response's generator."""
    return _current_context.get() or SYSTEM_CONTEXT


@contextlib.contextmanager
def restored_context(context: AuditContext) -> Iterator[None]:
    """Record events inside the block as in `context` (from `current_context()`)."""
    token = _current_context.set(context)
    try:
        yield
    finally:
        _current_context.reset(token)


def context_user() -> Actor | None:
    """The signed-in user the current audit context belongs to, or None."""
    context = _current_context.get()
    user = context.user if context is not None else None
    return user if user is not None and user.is_authenticated else None


def target_label(target: models.Model) -> str:
    return f"{target._meta.app_label}.{target._meta.model_name}"


def record_event(
    *,
    actor: Actor | AnonymousUser | None,
    action: models.TextChoices,
    target: models.Model | None = None,
    changes: dict[str, Any] | None = None,
    actor_label: str = "",
) -> AuditEvent:
    """Append one event to the audit chain and raise any security alert it completes.

    `action` is a member of a registered actions enum (privacy/audit/actions.py); any other
    code raises ValueError, so that no unlabelled code enters the log.
    `changes` must already be masked (no personal values: audit rows are never changed, so
    they could not be erased); it is stored as JSON gives it back. `actor_label` names an
    actor who is not a signed-in user (the user name tried by a failed login). Runs in its own
    transaction, or inside the caller's; on PostgreSQL the chain stays locked until that
    transaction ends, so callers record events at the end of their work."""
    code = known_action(action)
    context = _current_context.get() or SYSTEM_CONTEXT
    signed_in = actor if actor is not None and actor.is_authenticated else None
    event = AuditEvent(
        actor=signed_in,
        actor_label=(signed_in.get_username() if signed_in is not None else actor_label)[:150],
        action=code,
        target_type=target_label(target) if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        changes=changes or {},
        ip_address=context.ip_address,
        user_agent=context.user_agent[:200],
        via=context.via,
    )
    with transaction.atomic(savepoint=False):
        event.save()
        check_alerts(event)
    return event


def save_reference_record(
    *,
    actor: Actor,
    instance: Record,
    actions: type[models.TextChoices],
    expected_version: int | None = None,
    **values: Any,
) -> Record:
    """Set `values` on a record holding no personal data (a product, a tag), validate, save and
    audit it as `actions.CREATE` or `actions.UPDATE` with old → new values. Raises
    ValidationError; writes nothing when no value changes. A change to an existing record
    locks it first and moves its version on: with `expected_version`, a record saved by
    someone else since that version raises kernel.versioning.EditConflictError."""
    creating = instance.pk is None
    if not creating:
        lock_version(instance, expected_version=expected_version)
    changes = {
        field: [_jsonable(getattr(instance, field)), _jsonable(value)]
        for field, value in values.items()
        if getattr(instance, field) != value
    }
    if not creating and not changes:
        return instance
    for field, value in values.items():
        setattr(instance, field, value)
    instance.full_clean()
    if not creating:
        changes.update(next_version(instance))
    instance.save()
    record_event(
        actor=actor,
        action=actions["CREATE" if creating else "UPDATE"],
        target=instance,
        changes=changes,
    )
    return instance


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)
