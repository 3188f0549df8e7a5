"""What a backup holds, table by table, so that a restore can be checked against it.

Every table's row count and content checksum are taken from the same snapshot as the dump
itself (engines.py). The checksum is order-independent: the sum of a 64-bit slice of each row's
MD5, so it is computed in one pass without sorting and equals the restored table's exactly when
the same rows came back.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import asdict, dataclass, field

FORMAT = 1


@dataclass(frozen=True)
class TableSummary:
    rows: int
    checksum: str


@dataclass
class Manifest:
    engine: str
    created_at: str
    tables: dict[str, TableSummary]
    # The newest applied migration of each app at the time of the snapshot.
    migrations: dict[str, str] = field(default_factory=dict)
    # PostgreSQL: the encoding and locale the restored database is created with.
    locale: dict[str, str] = field(default_factory=dict)
    backup_run: int | None = None
    format: int = FORMAT

    @classmethod
    def taken_now(
        cls,
        engine: str,
        tables: dict[str, TableSummary],
        migrations: dict[str, str],
        locale: dict[str, str] | None = None,
    ) -> Manifest:
        return cls(
            engine=engine,
            created_at=datetime.datetime.now(tz=datetime.UTC).isoformat(),
            tables=tables,
            migrations=migrations,
            locale=locale or {},
        )

    @property
    def rows(self) -> int:
        return sum(table.rows for table in self.tables.values())

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> Manifest:
        data = json.loads(text)
        data["tables"] = {name: TableSummary(**table) for name, table in data["tables"].items()}
        return cls(**data)


@dataclass(frozen=True)
class Mismatch:
    table: str
    expected: TableSummary | None
    found: TableSummary | None

    def as_dict(self) -> dict:
        return {
            "table": self.table,
            "expected": asdict(self.expected) if self.expected else None,
            "found": asdict(self.found) if self.found else None,
        }


def compare(expected: dict[str, TableSummary], found: dict[str, TableSummary]) -> list[Mismatch]:
    """The tables whose rows or checksum differ, or that are missing on either side."""
    return [
        Mismatch(name, expected.get(name), found.get(name))
        for name in sorted(expected.keys() | found.keys())
        if expected.get(name) != found.get(name)
    ]
