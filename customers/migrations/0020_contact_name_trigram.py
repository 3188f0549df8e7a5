"""A trigram index on contact people's names for the top bar's search on PostgreSQL (crm/search.py
contact_hits: the name contains the query, or starts with it below three characters). On
UPPER(name), which Django's icontains and istartswith compare (as 0003 does for customers).
pg_trgm only exists on PostgreSQL; on SQLite the step does nothing and the search reads the
table."""

from django.db import migrations

INDEX = "contact_name_trgm"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} "
            "ON customers_contact USING gin (UPPER(name) gin_trgm_ops)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    # The pg_trgm extension is made by 0002.
    dependencies = [("customers", "0019_customer_owner_active_at")]

    operations = [migrations.RunPython(create_index, drop_index)]
