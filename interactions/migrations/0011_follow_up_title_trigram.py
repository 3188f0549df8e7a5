"""A trigram index on follow-up titles for the top bar's search on PostgreSQL (crm/search.py
task_hits: the title contains the query, or starts with it below three characters). On
UPPER(title), which Django's icontains and istartswith compare (as customers' 0003 does).
pg_trgm only exists on PostgreSQL; on SQLite the step does nothing and the search reads the
table."""

from django.db import migrations

INDEX = "followup_title_trgm"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} "
            "ON interactions_followup USING gin (UPPER(title) gin_trgm_ops)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    # The pg_trgm extension is made by customers' 0002.
    dependencies = [
        ("customers", "0002_name_trigram_indexes"),
        ("interactions", "0010_interaction_direction"),
    ]

    operations = [migrations.RunPython(create_index, drop_index)]
