"""Exports now; metrics and segments (issue 6) later."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models import BackgroundJob


class ExportFormat(models.TextChoices):
    CSV = "csv", _("CSV (Excel opens it with Chinese intact)")
    XLSX = "xlsx", _("Excel workbook (.xlsx)")


class ExportJob(BackgroundJob):
    """One list written to a file by the worker, for the person who asked for it only."""

    format = models.CharField(_("format"), max_length=5, choices=ExportFormat.choices)
    # The list's filter parameters, the search text if the list was a search, the saved view's
    # name if it came from one; the worker reads the same customers the list showed.
    filters = models.JSONField(default=dict, editable=False)
    search = models.CharField(max_length=200, blank=True, editable=False)
    view_name = models.CharField(_("saved view"), max_length=100, blank=True)
    columns = models.JSONField(default=list)
    # Personal data left unmasked: only for users holding export_personal_data.
    unmasked = models.BooleanField(_("unmasked"), default=False)
    file = models.FileField(upload_to="exports/%Y/%m/", max_length=300, blank=True)
    language = models.CharField(max_length=10, default="en", editable=False)

    class Meta(BackgroundJob.Meta):
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        indexes = [models.Index(fields=["created_by", "-created_at"], name="export_job_user_idx")]

    def __str__(self) -> str:
        return f"{self.get_format_display()} #{self.pk}"
