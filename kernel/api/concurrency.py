"""Optimistic concurrency over HTTP: a versioned row's ETag is its version, and a change must
name the version it starts from in If-Match (kernel/versioning.py does the comparing, as it
does for the edit forms).

A strong ETag `"<version>"` on every read of one record; a PATCH or PUT without If-Match is
refused with 428, one whose version is no longer the stored one with 412, so two integrations
writing the same customer never silently undo each other."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _
from rest_framework.request import Request

from kernel.api.problems import PreconditionFailed, PreconditionRequired
from kernel.models import Versioned

_ETAG = re.compile(r'^\s*(?:W/)?"(\d+)"\s*$')


def etag_of(record: Versioned) -> str:
    return f'"{record.row_version}"'


def expected_version(request: Request) -> int:
    """The version named by the request's If-Match header. Raises PreconditionRequired
    without the header, PreconditionFailed when it names no version of ours (`*` included:
    it would skip the check)."""
    header = request.headers.get("If-Match", "")
    if not header.strip():
        raise PreconditionRequired()
    match = _ETAG.match(header)
    if match is None:
        raise PreconditionFailed(_("If-Match must be the ETag of a version of this record."))
    return int(match.group(1))
