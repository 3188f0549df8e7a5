"""Deny by default: a view set names the permissions each of its actions needs, and an action
it does not name is refused to everyone. Scope (which records) is the selectors' business, as on
the pages: an object outside it answers 404."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request


class ActionPermissions(BasePermission):
    """Reads `view.action_permissions`: {action: (permission, ...)}; every one is needed."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated and request.user.is_active):
            return False
        needed = getattr(view, "action_permissions", {}).get(view.action)
        if needed is None:
            return False
        return request.user.has_perms(needed)
