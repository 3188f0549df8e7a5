"""What the CRM writes under var/ is readable by its own account only (crm/__init__.py sets the
umask, settings the upload permissions), whatever the mask of the shell that started it."""

import os
import stat
import subprocess
import sys
from pathlib import Path

from django.conf import settings

PROGRAM = """
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection

connection.ensure_connection()
default_storage.save("imports/2026/01/upload.csv", ContentFile(b"name,phone"))
"""


def _shared(path: Path) -> bool:
    return bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def test_a_command_creates_the_database_and_uploads_private_under_a_permissive_umask(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PROGRAM],
        cwd=settings.BASE_DIR,
        env={
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'crm.sqlite3'}",
            "MEDIA_ROOT": str(tmp_path / "media"),
            "REDIS_URL": "",
        },
        # A login shell's usual mask, under which files come out readable by every local user.
        preexec_fn=lambda: os.umask(0o022),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    written = sorted(tmp_path.rglob("*"))
    assert tmp_path / "crm.sqlite3" in written
    assert tmp_path / "media" / "imports" / "2026" / "01" / "upload.csv" in written
    assert [path.name for path in written if _shared(path)] == []
