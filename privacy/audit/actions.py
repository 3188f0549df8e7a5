"""The audit log's actions: every code `record_event` stores is a member of a TextChoices enum
owned by the app that records it, registered here (from that app's AppConfig.ready(); the
kernel registers its job kinds' actions as the kinds are registered), so that the audit
pages label the codes of apps privacy does not import, and a code no enum knows is refused
before it enters the hash-chained log, where it could never be renamed.

The codes stay as they were first stored: old events keep them. A code no longer in any enum
is shown as itself.
"""

from __future__ import annotations

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db.models import TextChoices

_ACTIONS: dict[str, TextChoices] = {}


def register_actions(*enums: type[TextChoices]) -> None:
    """Make the members of these enums codes `record_event` accepts. Registering the same enum
    again does nothing; a code already registered by another enum is refused."""
    for member in (member for actions in enums for member in actions):
        known = _ACTIONS.setdefault(member.value, member)
        if known is not member:
            raise ImproperlyConfigured(
                f"Audit action {member.value!r} is registered by {type(known).__qualname__} "
                f"and {type(member).__qualname__}."
            )


def is_known(code: str) -> bool:
    return code in _ACTIONS


def known_action(action: str) -> str:
    """The code of `action` (an enum member, or its code), as stored; raises ValueError for a
    code no registered enum knows."""
    code = str(action)
    if not is_known(code):
        raise ValueError(
            f"{code!r} is not a registered audit action: add it to its app's actions enum."
        )
    return code


def action_label(code: str) -> str:
    """What the action means, in the current language; the code itself when no enum knows
    it (events of an action since removed)."""
    member = _ACTIONS.get(code)
    return str(member.label) if member is not None else code


def action_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Every registered action as (code, label), grouped under the name of the app owning its
    enum and sorted by label, in the current language: the choices of a select."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for member in registered_actions():
        owner = apps.get_containing_app_config(type(member).__module__)
        group = str(owner.verbose_name) if owner is not None else ""
        groups.setdefault(group, []).append((member.value, str(member.label)))
    return [
        (group, sorted(groups[group], key=lambda choice: choice[1])) for group in sorted(groups)
    ]


def registered_actions() -> list[TextChoices]:
    return list(_ACTIONS.values())
