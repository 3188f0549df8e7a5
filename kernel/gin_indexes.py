"""Migration operations for PostgreSQL's GIN indexes: pg_trgm ones, which serve Django's
`icontains` and `istartswith` (on UPPER(expression), which those lookups compare), and jsonb
containment ones, which serve `contains` (@>) on a JSONField for every key at once. Both exist
only on PostgreSQL (customers' 0002 makes the pg_trgm extension): on SQLite these operations do
nothing and the same queries read the table."""

from __future__ import annotations

from typing import Any

from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.operations.base import Operation
from django.db.migrations.state import ProjectState

Editor = BaseDatabaseSchemaEditor


def upper_with_spaces_for(column: str, separators: str) -> str:
    """The SQL Django compiles for UPPER of `column` with each of `separators` replaced by a
    space (crm/search.py words_of), for an index that query must match exactly."""
    expression = column
    for separator in separators:
        expression = f"REPLACE({expression}, '{separator}', ' ')"
    return f"UPPER({expression})"


class GinIndex(Operation):
    """Create a GIN index with `opclass` on `expression` of `table` (drop it when unapplied),
    partial when a `condition` (SQL) is given."""

    opclass = ""
    reversible = True
    reduces_to_sql = False
    creates = True

    def __init__(self, *, table: str, name: str, expression: str, condition: str = "") -> None:
        self.table = table
        self.name = name
        self.expression = expression
        self.condition = condition

    def deconstruct(self) -> tuple[str, list[Any], dict[str, str]]:
        keywords = {"table": self.table, "name": self.name, "expression": self.expression}
        if self.condition:
            keywords["condition"] = self.condition
        return (self.__class__.__qualname__, [], keywords)

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        """The index is not part of any model's state: Django's autodetector never sees it."""

    def _apply(self, editor: Editor, *, create: bool) -> None:
        if editor.connection.vendor != "postgresql":
            return
        if create:
            where = f" WHERE {self.condition}" if self.condition else ""
            editor.execute(
                f"CREATE INDEX IF NOT EXISTS {self.name} "
                f"ON {self.table} USING gin ({self.expression} {self.opclass}){where}"
            )
        else:
            editor.execute(f"DROP INDEX IF EXISTS {self.name}")

    # Django passes the states before and after; the index is in neither.
    def database_forwards(self, app_label: str, editor: Editor, *states: ProjectState) -> None:
        self._apply(editor, create=self.creates)

    def database_backwards(self, app_label: str, editor: Editor, *states: ProjectState) -> None:
        self._apply(editor, create=not self.creates)

    def describe(self) -> str:
        verb = "Create" if self.creates else "Drop"
        return f"{verb} GIN index {self.name} ({self.opclass}) on {self.table}"


class TrigramIndex(GinIndex):
    """A GIN trigram index on `expression` (text) of `table`."""

    opclass = "gin_trgm_ops"


class DropTrigramIndex(TrigramIndex):
    """Drop a trigram index made by an earlier migration (recreate it when unapplied)."""

    creates = False


class JsonContainmentIndex(GinIndex):
    """Create a GIN jsonb_path_ops index on the jsonb column `expression` of `table`: one index
    that finds rows whose JSON contains a given key and value, whatever the key."""

    opclass = "jsonb_path_ops"
