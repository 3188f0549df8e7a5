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
from typing import Any

from django.db import models

from privacy.models import AuditChannel, AuditEvent


@dataclass(frozen=True)
class AuditContext:
    via: str
    ip_address: str | None = None
    user_agent: str = ""


SYSTEM_CONTEXT = AuditContext(via=AuditChannel.SYSTEM)
_current_context: ContextVar[AuditContext | None] = ContextVar("audit_context", default=None)


@contextlib.contextmanager
def audit_context(
    *, via: AuditChannel, ip_address: str | None = None, user_agent: str = ""
) -> Iterator[None]:
    """Attribute every event recorded inside the block to this channel and origin."""
    token = _current_context.set(
        AuditContext(via=via, ip_address=ip_address, user_agent=user_agent[:200])
    )
    try:
        yield
    finally:
        _current_context.reset(token)


def target_label(target: models.Model) -> str:
    return f"{target._meta.app_label}.{target._meta.model_name}"


def record_event(
    *,
    actor: Any,
    action: str,
    target: models.Model | None = None,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. `changes` must already be masked: it is stored as given."""
    context = _current_context.get() or SYSTEM_CONTEXT
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    return AuditEvent.objects.create(
        actor=actor if authenticated else None,
        actor_label=actor.get_username() if authenticated else "",
        action=action,
        target_type=target_label(target) if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        changes=changes or {},
        ip_address=context.ip_address,
        user_agent=context.user_agent,
        via=context.via,
    )


def save_reference_record(*, actor: Any, instance: models.Model, **values: Any) -> models.Model:
    """Set `values` on a record holding no personal data (a product, a tag), validate, save and
    audit it as `<model>.create` or `<model>.update` with old → new values. Raises
    ValidationError; writes nothing when no value changes."""
    creating = instance.pk is None
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
    instance.save()
    record_event(
        actor=actor,
        action=f"{instance._meta.model_name}.{'create' if creating else 'update'}",
        target=instance,
        changes=changes,
    )
    return instance


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)
