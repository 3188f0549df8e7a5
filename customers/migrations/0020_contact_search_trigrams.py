"""Trigram indexes for the top bar's search of contact people on PostgreSQL (crm/search.py
contact_hits): on UPPER(name), which Django's icontains and istartswith compare (as 0003 does
for customers), for a name containing the query or starting with it below three characters;
on phone and email, as 0003 has them for customers, for the last digits of a phone and part of
an email. pg_trgm only exists on PostgreSQL; on SQLite the step does nothing and the search
reads the table."""

from django.db import migrations

TRIGRAM_INDEXES = {
    "contact_name_trgm": "UPPER(name)",
    "contact_phone_trgm": "phone",
    "contact_email_trgm": "email",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for index, expression in TRIGRAM_INDEXES.items():
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {index} "
                f"ON customers_contact USING gin ({expression} gin_trgm_ops)"
            )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for index in TRIGRAM_INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {index}")


class Migration(migrations.Migration):
    # The pg_trgm extension is made by 0002.
    dependencies = [("customers", "0019_customer_owner_active_at")]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
