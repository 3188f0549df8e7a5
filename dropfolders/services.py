"""Every write to drop folders made by people (the pages): one transaction each, audited. The
scanner's own writes are in dropfolders/scan.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from customers.imports.jobs import may_import
from dropfolders import paths
from dropfolders.audit import DropFolderAction
from dropfolders.models import DropFolder
from kernel.actors import Actor
from privacy.audit.recording import record_event

# The fields a folder's form may change.
EDITABLE_FIELDS = (
    "name",
    "path",
    "kind",
    "template",
    "source_name",
    "source_channel",
    "owner",
    "run_as",
    "is_active",
)


def _validate(folder: DropFolder) -> None:
    errors: dict[str, Any] = {}
    try:
        folder.path = paths.check_path(folder.path)
    except ValidationError as refused:
        errors["path"] = refused.messages
    if folder.template is not None and folder.template.kind != folder.kind:
        errors["template"] = _("This template is for another kind of file.")
    if folder.run_as_id is not None and not may_import(folder.run_as):
        errors["run_as"] = _("This user may not import.")
    if errors:
        raise ValidationError(errors)
    folder.full_clean()
    _make_named_folder(folder.path)


def _make_named_folder(path: str) -> None:
    """A folder given by name is the product's to make under DROP_FOLDER_ROOT (README "Drop
    folders"): without it the first scan would report it missing, and the POS would have
    nowhere to write. An absolute path is the operator's, and must exist already."""
    if Path(path).is_absolute():
        return
    try:
        paths.resolve(path).mkdir(parents=True, exist_ok=True)
    except OSError as failed:
        raise ValidationError(
            {"path": _("The server could not make this folder: %(error)s") % {"error": failed}}
        ) from failed


def _snapshot(folder: DropFolder) -> dict[str, Any]:
    return {
        field: getattr(folder, f"{field}_id" if field in ("template", "owner", "run_as") else field)
        for field in EDITABLE_FIELDS
    }


@transaction.atomic
def create_folder(*, actor: Actor, **values: Any) -> DropFolder:
    """A new drop folder (EDITABLE_FIELDS). Raises ValidationError per field: a path outside
    the allowed roots (dropfolders/paths.py), a template of another kind, an import user
    without the right to import, a named folder the server could not make. A folder given by
    name is made under DROP_FOLDER_ROOT. Audited (`dropfolder.create`)."""
    folder = DropFolder(
        **{
            field: value.strip() if isinstance(value, str) else value
            for field, value in values.items()
        },
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    _validate(folder)
    folder.save()
    record_event(
        actor=actor, action=DropFolderAction.CREATE, target=folder, changes=_snapshot(folder)
    )
    return folder


@transaction.atomic
def update_folder(*, actor: Actor, folder: DropFolder, **changes: Any) -> DropFolder:
    """Change a folder's settings; files already taken keep the import they started. Raises
    ValidationError as create_folder does. Audited (`dropfolder.update`) when something
    changed."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Not editable: {sorted(unknown)}")
    folder = DropFolder.objects.select_for_update().get(pk=folder.pk)
    before = _snapshot(folder)
    for field, value in changes.items():
        setattr(folder, field, value.strip() if isinstance(value, str) else value)
    after = _snapshot(folder)
    if after == before:
        return folder
    _validate(folder)
    if after["path"] != before["path"]:
        # What was seen arriving in the old folder says nothing about the new one.
        folder.sightings, folder.waiting, folder.oldest_waiting_at = {}, 0, None
    folder.save()
    record_event(
        actor=actor,
        action=DropFolderAction.UPDATE,
        target=folder,
        changes={key: [before[key], after[key]] for key in after if after[key] != before[key]},
    )
    return folder
