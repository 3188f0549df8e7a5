from django.db import models
from django.utils.translation import gettext_lazy as _

from kernel.models import SystemJob


class BackupRun(SystemJob):
    """One backup (operations/backups): when, how big, how long, and whether it finished. The file
    in BACKUP_DIR is the backup; this row is what the status page and the health endpoint
    read. Run as a job (operations/backups/services.py BackupJobKind): a run whose worker was
    killed is failed, never started again (its half-written file never counts)."""

    engine = models.CharField(_("database engine"), max_length=20)
    file_name = models.CharField(_("file"), max_length=200, blank=True)
    size_bytes = models.BigIntegerField(_("size (bytes)"), null=True, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    tables = models.PositiveIntegerField(_("tables"), null=True, blank=True)
    rows = models.BigIntegerField(_("rows"), null=True, blank=True)
    seconds = models.FloatField(_("seconds"), null=True, blank=True)
    # Set when rotation deleted the file.
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)

    class Meta(SystemJob.Meta):
        verbose_name = _("backup")
        verbose_name_plural = _("backups")
        permissions = [
            ("view_operations", _("Can see the operations status page")),
            ("run_backup", _("Can start a backup or a restore drill")),
        ]

    def __str__(self) -> str:
        return self.file_name or f"{self.started_at or self.created_at:%Y-%m-%d %H:%M}"


class RestoreDrill(SystemJob):
    """One scheduled (or requested) proof that a backup restores: the backup restored into a
    scratch database, its tables compared with the manifest, `migrate --check` run on it. Run
    as a job like backups (operations/backups/services.py RestoreDrillKind)."""

    backup_file = models.CharField(_("backup"), max_length=200, blank=True)
    restore_seconds = models.FloatField(_("time to restore (s)"), null=True, blank=True)
    tables_compared = models.PositiveIntegerField(_("tables compared"), null=True, blank=True)
    rows_compared = models.BigIntegerField(_("rows compared"), null=True, blank=True)
    # [{"table": ..., "expected": {...}, "found": {...}}] for tables that differ.
    mismatches = models.JSONField(_("differences"), default=list, blank=True)
    migrations_ok = models.BooleanField(_("migrations up to date"), null=True)

    class Meta(SystemJob.Meta):
        verbose_name = _("restore drill")
        verbose_name_plural = _("restore drills")

    def __str__(self) -> str:
        return f"{self.started_at or self.created_at:%Y-%m-%d %H:%M} {self.backup_file}"
