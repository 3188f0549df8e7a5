"""The top bar's search of contact people reads their names with word separators as spaces
(crm/search.py words_of), so that a two-character query is one index probe for a word's start
after any separator ("约翰·史密斯"): the trigram index on UPPER(name) (0020) gives way to one on
that expression."""

from django.db import migrations

from kernel.gin_indexes import DropTrigramIndex, TrigramIndex, upper_with_spaces_for


class Migration(migrations.Migration):
    dependencies = [("customers", "0020_contact_search_trigrams")]

    operations = [
        DropTrigramIndex(
            table="customers_contact", name="contact_name_trgm", expression="UPPER(name)"
        ),
        TrigramIndex(
            table="customers_contact",
            name="contact_name_words_trgm",
            expression=upper_with_spaces_for("name", "：:，,-/·"),
        ),
    ]
