"""A trigram index on deal titles for the top bar's search on PostgreSQL (a title contains the
query: sales/deals/selectors.py search_deals). On UPPER(title), which Django's icontains
compares (as customers' 0003 does). pg_trgm only exists on PostgreSQL; on SQLite the step does
nothing and the search reads the table."""

from django.db import migrations

INDEX = "deal_title_trgm"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON sales_deal USING gin (UPPER(title) gin_trgm_ops)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    # The pg_trgm extension is made by customers' 0002.
    dependencies = [
        ("customers", "0002_name_trigram_indexes"),
        ("sales", "0005_deal_board_totals_index"),
    ]

    operations = [migrations.RunPython(create_index, drop_index)]
