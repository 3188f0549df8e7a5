"""Cursor pages: no counts, no offsets.

The cursor is the last id seen, so a page costs one index range scan however deep the caller
has read, and rows inserted while a client pages through (newer ids) never shift or repeat the
rows still to come. `limit` chooses the page size (up to MAX_PAGE_SIZE)."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class IdCursorPagination(CursorPagination):
    ordering = "-id"
    page_size = PAGE_SIZE
    page_size_query_param = "limit"
    max_page_size = MAX_PAGE_SIZE
