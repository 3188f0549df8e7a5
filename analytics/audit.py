"""The audit actions analytics records (registered in analytics/apps.py; see
privacy/audit/actions.py). The codes are those stored since the first events: never rename
one."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ExportAction(models.TextChoices):
    START = "export.start", _("Customer export started")
    DOWNLOAD = "export.download", _("Customer export downloaded")


class MetricsAction(models.TextChoices):
    REFRESH = "metrics.refresh", _("Customer metrics computed")


class SegmentAction(models.TextChoices):
    SAVE = "segment.save", _("Segment saved")
    DELETE = "segment.delete", _("Segment deleted")
    ADD_MEMBERS = "segment.add_members", _("Customers added to a static list")
    REMOVE_MEMBERS = "segment.remove_members", _("Customers removed from a static list")


class DashboardAction(models.TextChoices):
    DOWNLOAD = "dashboard.download", _("Dashboard figures downloaded")


ACTIONS = (ExportAction, MetricsAction, SegmentAction, DashboardAction)
