"""Who may export, and the exports a user sees."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from analytics.models import ExportJob
from customers.models import SavedView


def may_export(user: Any) -> bool:
    return user.has_perm("customers.export_customers")


def exports_visible_to(user: Any) -> QuerySet[ExportJob]:
    """A user's own exports: an export holds data chosen for one person."""
    if not may_export(user):
        return ExportJob.objects.none()
    return ExportJob.objects.filter(created_by=user)


def saved_view_params(user: Any, name: str) -> dict[str, str]:
    """The filter parameters of a saved view the user may use (own or shared), by name."""
    from django.http import QueryDict

    from customers.selectors import saved_views_for

    view = saved_views_for(user).filter(name=name).order_by("-owner_id").first()
    if view is None:
        raise SavedView.DoesNotExist(name)
    return QueryDict(view.query).dict()
