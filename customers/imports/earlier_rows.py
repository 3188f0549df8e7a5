"""The customers that earlier batches of a pass would have created, for a pass that writes
nothing: a dry run, and the validation before an all-or-nothing import.

Such a pass rolls each batch back, so a row that repeats a customer of an earlier batch (the
same phone a thousand rows later) finds nothing in the database and would be counted as a
second new customer, where the import itself updates the first one. The pass therefore keeps,
for every key of every customer it would create (kind and value, as customer_rows matches
them), the first row that carries it, and what that row said; a later row that finds nothing
else finds it here.

The keys of a million-row file do not fit the worker's memory bound, so they are kept in a
private on-disk SQLite database (an empty file name: SQLite creates it in its temporary
folder and deletes it when the connection closes), indexed on the key. No personal data goes
to disk: keys and values are stored as keyed BLAKE2 digests, under a key drawn for the pass
and never written down."""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# SQLite binds at most this many parameters in one statement (SQLITE_MAX_VARIABLE_NUMBER is
# 32,766 since 3.32; a batch has a few keys per row).
_LOOKUP_CHUNK = 30_000


@dataclass(frozen=True)
class EarlierRow:
    """The first row of the file that carried a key, and a digest of its clean values."""

    number: int
    values: bytes


class EarlierRows:
    """A pass's keys of the customers it would have created, on disk; close() forgets them."""

    def __init__(self) -> None:
        self._secret = secrets.token_bytes(32)
        self._database = sqlite3.connect("")
        self._database.execute(
            "CREATE TABLE seen (key BLOB PRIMARY KEY, row INTEGER, vals BLOB) WITHOUT ROWID"
        )

    def digest(self, text: str) -> bytes:
        return hashlib.blake2b(text.encode(), key=self._secret, digest_size=16).digest()

    def values_digest(self, values: dict[str, Any]) -> bytes:
        """What a row's clean values say, for comparing two rows of one customer."""
        return self.digest(repr(sorted(values.items(), key=lambda item: item[0])))

    def _key(self, kind: str, value: str) -> bytes:
        return self.digest(f"{kind}\x1f{value}")

    def find(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], EarlierRow]:
        """The earlier row of each of `keys` (kind, value) that an earlier batch carried."""
        by_digest = {self._key(kind, value): (kind, value) for kind, value in keys}
        found = {}
        digests = list(by_digest)
        for start in range(0, len(digests), _LOOKUP_CHUNK):
            chunk = digests[start : start + _LOOKUP_CHUNK]
            marks = ", ".join("?" * len(chunk))
            for key, number, values in self._database.execute(
                f"SELECT key, row, vals FROM seen WHERE key IN ({marks})",  # noqa: S608
                chunk,
            ):
                found[by_digest[key]] = EarlierRow(number, values)
        return found

    def add(self, entries: Iterable[tuple[str, str, EarlierRow]]) -> None:
        """Remember (kind, value, its first row); a key already known keeps its first row."""
        self._database.executemany(
            "INSERT OR IGNORE INTO seen VALUES (?, ?, ?)",
            ((self._key(kind, value), row.number, row.values) for kind, value, row in entries),
        )

    def close(self) -> None:
        self._database.close()
