import datetime

from django import template

from operations.connections import ConnectionHealth
from operations.status import format_seconds

register = template.Library()


@register.filter
def duration(seconds: float | None) -> str:
    """Seconds as people read them ("42 s", "3 min 5 s"); "" for none."""
    return "" if seconds is None else format_seconds(seconds)


@register.filter
def connection_level(source: ConnectionHealth, now: datetime.datetime) -> str:
    """A connected source's state as a Bootstrap colour: success, warning or danger."""
    return source.level(now)
