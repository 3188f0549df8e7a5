"""The board's parts that repeat on every card, built once per column: a board draws up to
BOARD_CARDS_PER_STAGE cards in each column, and a template loop over the stages inside each
card's move form made the options most of the page's time (bench/deals.py)."""

from __future__ import annotations

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag
def stage_options(columns, selected_pk: int) -> SafeString:
    """The `<option>`s of the board's stages, `selected_pk` selected: one string for all the
    cards of a column."""
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        (
            (
                column.stage.pk,
                " selected" if column.stage.pk == selected_pk else "",
                column.stage.display_name,
            )
            for column in columns
        ),
    )
