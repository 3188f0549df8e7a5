"""The customers that earlier batches of a pass would have created, for a pass that writes
nothing: a dry run, and the validation before an all-or-nothing import.

Such a pass rolls each batch back, so a row that repeats a customer of an earlier batch (the
same phone a thousand rows later) finds nothing in the database and would be counted as a
second new customer, where the import itself updates the first one. The pass therefore keeps,
for every key of every customer it would create (kind and value, as customer_rows matches
them), the first row that carries it, and what that row said; a later row that finds nothing
else finds it here.

The keys of a million-row file (about four million) do not fit the worker's memory bound, so
they are kept in an SQLite database in a temporary folder of the pass's own, indexed on the
key, with a page cache of CACHE_KIB; the folder is removed when the pass ends. (SQLite's own
private temporary database, an empty file name, was tried first: it keeps its pages in memory
for as long as it can, 66 MB more at the peak of a 200,000-row dry run.) Nothing on disk needs
to survive a crash: a validation pass always starts over. No personal data goes to disk: keys
and values are stored as keyed BLAKE2 digests, under a key drawn for the pass and never
written down."""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Keys looked up per statement (SQLite's oldest limit on bound parameters is 999).
LOOKUP_CHUNK = 500
# The key set's page cache, in KiB: enough for the upper levels of its index, whatever its size.
CACHE_KIB = 8192


@dataclass(frozen=True)
class EarlierRow:
    """The first row of the file that carried a key, and a digest of its clean values; the
    customer it updates when it is one already in the database; whether the importer may
    match that customer by a personal value (phone, email, identity number, name)."""

    number: int
    values: bytes
    customer_id: int | None = None
    in_scope: bool = True


class EarlierRows:
    """A pass's keys of the customers it would have created, on disk; close() forgets them."""

    _lookup = (
        "SELECT key, row, vals, customer, in_scope FROM seen "  # noqa: S608
        f"WHERE key IN ({', '.join('?' * LOOKUP_CHUNK)})"
    )

    def __init__(self) -> None:
        self._secret = secrets.token_bytes(32)
        self._folder = tempfile.TemporaryDirectory(prefix="crm-import-keys-")
        self._database = sqlite3.connect(Path(self._folder.name) / "keys.sqlite3")
        for pragma in ("journal_mode = OFF", "synchronous = OFF", f"cache_size = -{CACHE_KIB}"):
            self._database.execute(f"PRAGMA {pragma}")
        self._database.execute(
            "CREATE TABLE seen (key BLOB PRIMARY KEY, row INTEGER, vals BLOB, customer INTEGER,"
            " in_scope INTEGER) WITHOUT ROWID"
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
        for start in range(0, len(digests), LOOKUP_CHUNK):
            chunk = digests[start : start + LOOKUP_CHUNK]
            # Always as many keys (the last chunk padded with its last one): one statement,
            # prepared once. Each length of list is a statement of its own, and sqlite3 keeps
            # 128 of them prepared; at a few thousand keys each, that took 70 MB.
            chunk += chunk[-1:] * (LOOKUP_CHUNK - len(chunk))
            for key, *earlier in self._database.execute(self._lookup, chunk):
                found[by_digest[key]] = EarlierRow(*earlier)
        return found

    def add(self, entries: Iterable[tuple[str, str, EarlierRow]]) -> None:
        """Remember (kind, value, its first row); a key already known keeps its first row."""
        self._database.executemany(
            "INSERT OR IGNORE INTO seen VALUES (?, ?, ?, ?, ?)",
            (
                (self._key(kind, value), row.number, row.values, row.customer_id, row.in_scope)
                for kind, value, row in entries
            ),
        )

    def close(self) -> None:
        self._database.close()
        self._folder.cleanup()
