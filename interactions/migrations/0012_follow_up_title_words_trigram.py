"""The top bar's search of tasks reads follow-up titles with word separators as spaces
(crm/search.py words_of), so that a two-character query is one index probe for a word's start
after any separator: the trigram index on UPPER(title) (0011) gives way to one on that
expression."""

from django.db import migrations

from kernel.gin_indexes import DropTrigramIndex, TrigramIndex, upper_with_spaces_for

TABLE = "interactions_followup"


class Migration(migrations.Migration):
    dependencies = [("interactions", "0011_follow_up_title_trigram")]

    operations = [
        DropTrigramIndex(table=TABLE, name="followup_title_trgm", expression="UPPER(title)"),
        TrigramIndex(
            table=TABLE,
            name="followup_title_words_trgm",
            expression=upper_with_spaces_for("title", "：:，,-/·"),
        ),
    ]
