from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import ImportKind, SourceChannel
from kernel.free_text import validate_readable_text


class FolderProblem(models.TextChoices):
    """Why the last scan could not read a folder (the operations page shows it as the
    folder's problem)."""

    NONE = "", _("None")
    MISSING = "missing", _("The folder does not exist.")
    UNREADABLE = "unreadable", _("The server may not read or write the folder.")
    OUTSIDE = "outside", _("The folder is outside the places drop folders may be.")


class DropFolder(models.Model):
    """A folder a POS (or any system) copies its exports into: every file that has finished
    arriving is imported once, by the import jobs (customers/imports/jobs.py), as `run_as`."""

    name = models.CharField(
        _("name"), max_length=100, unique=True, validators=[validate_readable_text]
    )
    # A name under DROP_FOLDER_ROOT, or an absolute path under one of DROP_FOLDER_ALLOWED_ROOTS
    # (dropfolders/paths.py).
    path = models.CharField(
        _("folder"),
        max_length=500,
        validators=[validate_readable_text],
        help_text=_(
            "A name (the folder is then made under the server's drop folder root) or the "
            "absolute path of a folder the server may read."
        ),
    )
    kind = models.CharField(_("what the files hold"), max_length=20, choices=ImportKind.choices)
    template = models.ForeignKey(
        "customers.ImportTemplate",
        verbose_name=_("import template"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Its columns and options; without one, columns are mapped by their headers."),
    )
    source_name = models.CharField(
        _("source system"),
        max_length=50,
        blank=True,
        validators=[validate_readable_text],
        help_text=_("The POS or system the files come from, e.g. “store-12”."),
    )
    source_channel = models.CharField(
        _("source channel"), max_length=20, choices=SourceChannel.choices, default=SourceChannel.POS
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner of new customers"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    run_as = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("import as"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The user the imports run as: they need the right to import."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    # The scanner's memory between two scans: {file name: [size, mtime_ns]} of the files it
    # saw, so that a file is taken only once it has stopped growing.
    sightings = models.JSONField(default=dict, editable=False)
    last_scan_at = models.DateTimeField(_("last scan"), null=True, blank=True, editable=False)
    problem = models.CharField(
        _("problem"),
        max_length=12,
        choices=FolderProblem.choices,
        blank=True,
        default=FolderProblem.NONE,
        editable=False,
    )
    # Files in the folder not yet taken (still arriving) at the last scan, and since when the
    # oldest of them has been seen.
    waiting = models.PositiveIntegerField(_("files waiting"), default=0, editable=False)
    oldest_waiting_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("drop folder")
        verbose_name_plural = _("drop folders")
        ordering = ["name", "pk"]
        permissions = [("manage_drop_folders", _("Manage drop folders"))]

    def __str__(self) -> str:
        return self.name


class DropFile(models.Model):
    """One file taken from a drop folder: the key that makes it be imported once (its folder
    and checksum, written in the transaction that creates its import job), the job, and where
    the file went afterwards."""

    folder = models.ForeignKey(DropFolder, on_delete=models.CASCADE, related_name="files")
    file_name = models.CharField(_("file"), max_length=255)
    checksum = models.CharField(_("SHA-256"), max_length=64)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    taken_at = models.DateTimeField(_("taken"), default=timezone.now)
    job = models.ForeignKey(
        "customers.ImportJob",
        verbose_name=_("import"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Why the file could not become an import, or its import could not start (translated,
    # without file content).
    refusal = models.CharField(_("refused because"), max_length=500, blank=True)
    # Where the file is now, relative to the folder ("processing/…", "processed/…",
    # "failed/…"); empty once deleted after DROP_FOLDER_KEEP_DAYS.
    stored_as = models.CharField(max_length=400, blank=True, editable=False)
    settled_at = models.DateTimeField(_("settled"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("dropped file")
        verbose_name_plural = _("dropped files")
        ordering = ["-taken_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["folder", "checksum"], name="drop_file_once"),
        ]
        indexes = [
            models.Index(fields=["folder", "-taken_at"], name="drop_file_recent"),
            models.Index(
                fields=["settled_at"],
                condition=models.Q(settled_at__isnull=True),
                name="drop_file_open",
            ),
        ]

    def __str__(self) -> str:
        return self.file_name
