"""Row counts for dashboards that must not count(*) a table of millions on every page view."""

from django.db import connection, models


def estimated_row_count(model: type[models.Model]) -> int:
    """PostgreSQL's planner estimate (kept fresh by autovacuum's ANALYZE) for the model's
    table; an exact count where there is no estimate yet, and on SQLite."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                [model._meta.db_table],
            )
            row = cursor.fetchone()
        if row and row[0] > 0:
            return row[0]
    return model._default_manager.count()
