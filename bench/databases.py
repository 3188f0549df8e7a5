"""Databases of their own for benchmarks that must not touch the loaded data set."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _admin(url: str):
    import psycopg

    return psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True)


def fresh_database(url: str) -> None:
    """Create the database `url` names afresh (dropped first if it exists) and migrate it;
    DATABASE_URL must name it too, for the migration."""
    name = url.rsplit("/", 1)[1]
    with _admin(url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--no-input", "-v", "0"],
        check=True,
        cwd=ROOT,
    )


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with _admin(url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
