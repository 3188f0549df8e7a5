"""Dumping and restoring the database, one class per engine.

PostgreSQL: a REPEATABLE READ transaction exports its snapshot; `pg_dump --snapshot` dumps
exactly that snapshot in custom format (compressed) while the same transaction counts and
checksums every table, so the manifest describes the very rows in the dump. A restore goes into
a fresh database with `pg_restore --jobs`, from a template0 copy in the source's encoding and
locale (the trigram indexes on Chinese names need a UTF-8 locale).

SQLite: the online backup API copies the live file page by page into a consistent copy,
which is then checksummed and compressed. A restore decompresses into a new file.

Targets are named databases (PostgreSQL, on the live database's server, or a full URL) or
file paths (SQLite). Checksums are computed the same way on the source and on a restore, with
session settings pinned so that a row prints the same whatever the server's defaults.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import re
import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import environ
import psycopg
from django.conf import settings
from django.db import connection
from django.utils.translation import gettext as _
from psycopg import sql

from operations.backups.manifest import Manifest, TableSummary

# What a database may raise at any step (a lost connection, a full disk, a refused DDL).
DATABASE_ERRORS = (psycopg.Error, sqlite3.Error)
_DATABASE_NAME = re.compile(r"[A-Za-z0-9_-]{1,63}")
DUMP_MEMBER = "database.dump"
SQLITE_MEMBER = "database.sqlite3.gz"
COPY_BLOCK = 1024 * 1024


class BackupError(Exception):
    """A step of a backup or restore failed; the message is translated and has no personal
    data (at most a tool's own error line)."""


@dataclass(frozen=True)
class Target:
    """A database to dump or restore into: a PostgreSQL database (connection settings as in
    DATABASES) or an SQLite file."""

    engine: str
    name: str
    host: str = ""
    port: str = ""
    user: str = ""
    password: str = ""
    options: tuple[tuple[str, str], ...] = ()

    @classmethod
    def live(cls) -> Target:
        return cls.from_settings(settings.DATABASES["default"])

    @classmethod
    def from_settings(cls, database: dict) -> Target:
        engine = "sqlite" if "sqlite" in database["ENGINE"] else "postgresql"
        return cls(
            engine=engine,
            name=str(database["NAME"]),
            host=database.get("HOST") or "",
            port=str(database.get("PORT") or ""),
            user=database.get("USER") or "",
            password=database.get("PASSWORD") or "",
            options=tuple(
                (key, str(value))
                for key, value in (database.get("OPTIONS") or {}).items()
                if key in ("sslmode", "sslrootcert", "sslcert", "sslkey")
            ),
        )

    def elsewhere(self, name_or_url: str) -> Target:
        """Another database: on PostgreSQL a name on the same server or a full URL; on SQLite
        a file path."""
        if self.engine == "sqlite":
            return replace(self, name=str(Path(name_or_url).resolve()))
        if "://" in name_or_url:
            other = Target.from_settings(environ.Env.db_url_config(name_or_url))
            if other.engine != self.engine:
                raise BackupError(_("A PostgreSQL backup restores into PostgreSQL only."))
            return other
        if not _DATABASE_NAME.fullmatch(name_or_url):
            raise BackupError(
                _("A database name is letters, digits, “_” and “-”, at most 63 of them.")
            )
        return replace(self, name=name_or_url)

    def same_database(self, other: Target) -> bool:
        if self.engine == "sqlite":
            return Path(self.name).resolve() == Path(other.name).resolve()
        return (self.host or "localhost", self.port or "5432", self.name) == (
            other.host or "localhost",
            other.port or "5432",
            other.name,
        )

    def describe(self) -> str:
        if self.engine == "sqlite":
            return self.name
        return f"{self.name} on {self.host or 'localhost'}:{self.port or 5432}"


def engine_for(target: Target) -> PostgresEngine | SqliteEngine:
    return PostgresEngine() if target.engine == "postgresql" else SqliteEngine()


def _row_hash(text: bytes) -> int:
    return int.from_bytes(hashlib.md5(text, usedforsecurity=False).digest()[:8], "big", signed=True)


def _latest_migrations(rows: list[tuple[str, str]]) -> dict[str, str]:
    latest: dict[str, str] = {}
    for app, name in rows:  # ordered by id: the last one of each app wins
        latest[app] = name
    return latest


# --- PostgreSQL -------------------------------------------------------------------------------

# Pinned so that row::text is the same on the source and on a restore whatever the server's or
# the role's defaults are.
_PINNED_SESSION = (
    "SET LOCAL TimeZone = 'UTC'",
    "SET LOCAL DateStyle = 'ISO, YMD'",
    "SET LOCAL IntervalStyle = 'postgres'",
    "SET LOCAL extra_float_digits = 1",
    "SET LOCAL bytea_output = 'hex'",
)


class PostgresEngine:
    name = "postgresql"

    # -- connections --
    @staticmethod
    def _libpq_env(target: Target, *, database: str | None = None) -> dict[str, str]:
        env = {
            **os.environ,
            "PGDATABASE": database or target.name,
            "PGHOST": target.host or "localhost",
            "PGPORT": target.port or "5432",
            "PGUSER": target.user or "postgres",
            # Passwords travel in the environment, never on a command line others can list.
            "PGPASSWORD": target.password,
            "PGAPPNAME": "crm-backup",
        }
        for key, value in target.options:
            env[f"PG{key.upper()}"] = value
        return env

    @staticmethod
    def connect(target: Target, *, database: str | None = None, autocommit: bool = False):
        return psycopg.connect(
            dbname=database or target.name,
            host=target.host or "localhost",
            port=target.port or "5432",
            user=target.user or "postgres",
            password=target.password or None,
            autocommit=autocommit,
            application_name="crm-backup",
            **dict(target.options),
        )

    def _maintenance(self, target: Target):
        return self.connect(target, database="postgres", autocommit=True)

    @staticmethod
    def _run(command: list[str], env: dict[str, str], what: str) -> None:
        # A fixed tool with arguments built here, never a shell.
        result = subprocess.run(  # noqa: S603
            command, env=env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            # The tool's last line says what went wrong (a connection, a version, a full disk);
            # pg_dump and pg_restore do not print row data.
            lines = result.stderr.strip().splitlines()
            detail = lines[-1] if lines else f"exit code {result.returncode}"
            raise BackupError(_("%(what)s failed: %(detail)s") % {"what": what, "detail": detail})

    # -- the manifest --
    @staticmethod
    def _tables(cursor) -> list[str]:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
        )
        return [name for (name,) in cursor.fetchall()]

    def _summaries(self, cursor) -> dict[str, TableSummary]:
        for statement in _PINNED_SESSION:
            cursor.execute(statement)
        summaries = {}
        for table in self._tables(cursor):
            cursor.execute(
                sql.SQL(
                    "SELECT count(*), coalesce(sum(('x' || substr(md5(t::text), 1, 16))"
                    "::bit(64)::bigint), 0)::text FROM {} AS t"
                ).format(sql.Identifier(table))
            )
            rows, checksum = cursor.fetchone()
            summaries[table] = TableSummary(rows=rows, checksum=checksum)
        return summaries

    @staticmethod
    def _migrations(cursor) -> dict[str, str]:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY id")
        return _latest_migrations(cursor.fetchall())

    def summarise(self, target: Target) -> dict[str, TableSummary]:
        with self.connect(target) as conn, conn.cursor() as cursor:
            cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            return self._summaries(cursor)

    # -- dump --
    def dump(self, target: Target, work_dir: Path) -> tuple[list[Path], Manifest]:
        """`pg_dump` of one exported snapshot, and the manifest of the same snapshot computed
        beside it."""
        dump_path = work_dir / DUMP_MEMBER
        with self.connect(target) as conn, conn.cursor() as cursor:
            cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            (snapshot,) = cursor.fetchone()
            dumping = _Background(
                self._run,
                [
                    "pg_dump",
                    "--format=custom",
                    f"--compress={settings.BACKUP_COMPRESSION_LEVEL}",
                    f"--snapshot={snapshot}",
                    f"--file={dump_path}",
                ],
                self._libpq_env(target),
                "pg_dump",
            )
            # The snapshot must stay open until pg_dump has attached to it, so the checksums
            # run in this transaction while pg_dump works (the two cores share the job).
            tables = self._summaries(cursor)
            migrations = self._migrations(cursor)
            cursor.execute(
                "SELECT pg_encoding_to_char(encoding), datcollate, datctype "
                "FROM pg_database WHERE datname = current_database()"
            )
            locale = dict(zip(("encoding", "collate", "ctype"), cursor.fetchone(), strict=True))
            dumping.join()
        return [dump_path], Manifest.taken_now(self.name, tables, migrations, locale)

    # -- restore --
    def exists(self, target: Target) -> bool:
        with self._maintenance(target) as conn:
            return (
                conn.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", [target.name]
                ).fetchone()
                is not None
            )

    def is_empty(self, target: Target) -> bool:
        with self.connect(target) as conn:
            return not self._tables(conn.cursor())

    def drop(self, target: Target) -> None:
        with self._maintenance(target) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(target.name)
                )
            )

    def restore(self, manifest: Manifest, files: dict[str, Path], into: Target) -> None:
        """Create `into` afresh (it must not exist), in the encoding and locale the source had,
        and restore the dump into it."""
        locale = manifest.locale
        with self._maintenance(into) as conn:
            conn.execute(
                sql.SQL(
                    "CREATE DATABASE {} TEMPLATE template0 ENCODING {} LC_COLLATE {} LC_CTYPE {}"
                ).format(
                    sql.Identifier(into.name),
                    sql.Literal(locale.get("encoding", "UTF8")),
                    sql.Literal(locale.get("collate", "C.UTF-8")),
                    sql.Literal(locale.get("ctype", "C.UTF-8")),
                )
            )
        self._run(
            [
                "pg_restore",
                "--no-owner",
                "--no-acl",
                "--exit-on-error",
                f"--jobs={settings.BACKUP_RESTORE_JOBS}",
                f"--dbname={into.name}",
                str(files[DUMP_MEMBER]),
            ],
            self._libpq_env(into),
            "pg_restore",
        )
        # Fresh statistics, as the server would after a while: the restored copy gets realistic
        # plans at once.
        with self.connect(into, autocommit=True) as conn:
            conn.execute("ANALYZE")

    def check_dump(self, files: dict[str, Path]) -> None:
        """The dump's table of contents can be read (what `pg_restore` needs first)."""
        self._run(
            ["pg_restore", "--list", str(files[DUMP_MEMBER])],
            {**os.environ},
            "pg_restore --list",
        )

    def swap_in(self, restored: Target, live: Target, *, keep_as: str) -> None:
        """Put `restored` in place of `live`, which is renamed `keep_as` (kept, not dropped).
        Every other session on `live` is ended first: the application must be stopped."""
        connection.close()
        with self._maintenance(live) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [live.name],
            )
            conn.execute(_rename(live.name, keep_as))
            conn.execute(_rename(restored.name, live.name))

    def replace(self, restored: Target, target: Target) -> None:
        """Put `restored` in place of `target`, dropping `target`."""
        self.drop(target)
        with self._maintenance(target) as conn:
            conn.execute(_rename(restored.name, target.name))

    def scratch(self, target: Target, suffix: str) -> Target:
        # PostgreSQL names are at most 63 bytes.
        return replace(target, name=f"{target.name[: 62 - len(suffix)]}_{suffix}")


def _rename(database: str, to: str) -> sql.Composed:
    return sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
        sql.Identifier(database), sql.Identifier(to)
    )


class _Background:
    """Run a function in a thread and re-raise its exception on join."""

    def __init__(self, function, *args) -> None:
        self._error: BaseException | None = None

        def run() -> None:
            try:
                function(*args)
            except BaseException as error:  # handed to join()
                self._error = error

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def join(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error


# --- SQLite -----------------------------------------------------------------------------------


class SqliteEngine:
    name = "sqlite"

    @staticmethod
    @contextlib.contextmanager
    def _open(path: Path | str) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(path)
        try:
            yield conn
        finally:
            conn.close()

    @staticmethod
    def _tables(conn: sqlite3.Connection) -> list[str]:
        return [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY 1"
            )
        ]

    def _summaries_of(self, conn: sqlite3.Connection) -> dict[str, TableSummary]:
        summaries = {}
        for table in self._tables(conn):
            quoted = '"' + table.replace('"', '""') + '"'
            rows, total = 0, 0
            # The name comes from sqlite_master and is quoted.
            for row in conn.execute(f"SELECT * FROM {quoted}"):  # noqa: S608
                rows += 1
                total += _row_hash(repr(row).encode())
            summaries[table] = TableSummary(rows=rows, checksum=str(total))
        return summaries

    def summarise(self, target: Target) -> dict[str, TableSummary]:
        with self._open(target.name) as conn:
            return self._summaries_of(conn)

    def dump(self, target: Target, work_dir: Path) -> tuple[list[Path], Manifest]:
        copy_path = work_dir / "database.sqlite3"
        with self._open(target.name) as live, self._open(copy_path) as copy:
            live.backup(copy)
        with self._open(copy_path) as copy:
            tables = self._summaries_of(copy)
            migrations = _latest_migrations(
                copy.execute("SELECT app, name FROM django_migrations ORDER BY id").fetchall()
            )
        compressed = work_dir / SQLITE_MEMBER
        with (
            open(copy_path, "rb") as source,
            gzip.open(compressed, "wb", compresslevel=settings.BACKUP_COMPRESSION_LEVEL) as sink,
        ):
            shutil.copyfileobj(source, sink, COPY_BLOCK)
        copy_path.unlink()
        return [compressed], Manifest.taken_now(self.name, tables, migrations)

    def exists(self, target: Target) -> bool:
        return Path(target.name).exists()

    def is_empty(self, target: Target) -> bool:
        with self._open(target.name) as conn:
            return not self._tables(conn)

    def drop(self, target: Target) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(target.name + suffix).unlink(missing_ok=True)

    def restore(self, manifest: Manifest, files: dict[str, Path], into: Target) -> None:
        Path(into.name).parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(files[SQLITE_MEMBER], "rb") as compressed, open(into.name, "xb") as sink:
            shutil.copyfileobj(compressed, sink, COPY_BLOCK)
        # No ANALYZE, unlike PostgreSQL's restore: the planner's statistics (sqlite_stat1) are
        # a table in the file, restored as they were when the backup was taken.
        with self._open(into.name) as conn:
            (verdict,) = conn.execute("PRAGMA integrity_check").fetchone()
        if verdict != "ok":
            raise BackupError(_("The restored database fails SQLite's integrity check."))

    def check_dump(self, files: dict[str, Path]) -> None:
        try:
            with gzip.open(files[SQLITE_MEMBER], "rb") as compressed:
                header = compressed.read(16)
                while compressed.read(COPY_BLOCK):
                    pass
        except (OSError, EOFError) as error:
            raise BackupError(_("The database copy in the backup is damaged.")) from error
        if header != b"SQLite format 3\x00":
            raise BackupError(_("The database copy in the backup is not an SQLite database."))

    def swap_in(self, restored: Target, live: Target, *, keep_as: str) -> None:
        """Copy the live file aside as `keep_as`, then copy the restored pages into the live
        database through the backup API (under its lock, so open connections see either the
        old or the new database, never a mix)."""
        connection.close()
        with self._open(live.name) as current, self._open(keep_as) as kept:
            current.backup(kept)
        with self._open(restored.name) as source, self._open(live.name) as current:
            source.backup(current)
        self.drop(restored)

    def replace(self, restored: Target, target: Target) -> None:
        self.drop(target)
        os.replace(restored.name, target.name)

    def scratch(self, target: Target, suffix: str) -> Target:
        return replace(target, name=f"{target.name}.{suffix}")
