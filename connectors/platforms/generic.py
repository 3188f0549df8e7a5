"""A generic webhook: a system without an adapter of its own (有赞, a POS, a form tool) posts
signed JSON, and the field mapping an administrator saved on the connector (GenericFeed) turns
each record in it into an import record of one kind — customers, orders or interactions — so
that it is cleaned, matched and written by the import itself (customers/imports/).

The body is a JSON object, an array of objects, or an object holding either under a named key
(`data`; 有赞云's push holds its message as URL-encoded JSON text under `msg`). A record's
nested keys are read flattened with dots (`buyer_info.mobile`), a list of plain values as one
value joined by commas, a list of objects by position (`items.0.sku`). The mapping page's
guesses come from the import's own header synonyms (customers/imports/mapping.py).

Signatures: the hex HMAC-SHA256 of the raw body under the shared secret in a header of the
administrator's choice (`X-Signature: sha256=<hex>`, GitHub's scheme, which many POS use), or
有赞云's push (`Event-Sign`: hex MD5 of client id + body + client secret)."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from typing import IO, Any
from urllib.parse import unquote_plus

from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from connectors.changes import Change, MappedRecord, PayloadError
from connectors.models import Connector, GenericFeed, Platform, SignatureScheme
from connectors.platforms.base import PlatformAdapter, moment, text
from customers.imports.jobs import rows_module
from customers.imports.mapping import IGNORE, ImportField, suggest_mapping
from customers.imports.records import MAX_RECORDS
from customers.models import ImportKind

_HMAC_PREFIX = "sha256="
_YOUZAN_SIGN_HEADER = "Event-Sign"
_KEY_LENGTH = 100
# Epoch times in milliseconds are beyond this many seconds (the year 5138).
_MILLISECONDS_FROM = 1e11
_SYSTEM_NAME = re.compile(r"^[\w.\-]{1,50}$")
# The import field holding the source's own id of what a record is about: compared with what
# the source said last (SourceRecord).
RECORD_ID_FIELD = {
    ImportKind.CUSTOMERS: "external_id",
    ImportKind.TRANSACTIONS: "external_ref",
    ImportKind.INTERACTIONS: "external_ref",
}
_NO_MAPPING = _(
    "No field mapping is saved yet. Save one on the connector's page, then retry this delivery."
)
_NO_RECORDS = _("The body holds no record.")
_NOT_RECORDS = _("Each record should be a JSON object.")
_TOO_MANY = _("A delivery holds at most %(count)d records.")
_NO_RECORDS_KEY = _("The body has no “%(key)s” holding the records.")
_BAD_SYSTEM_NAME = _("Use letters, digits, dots, dashes and underscores, such as youzan or pos-1.")


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """A record's plain values by dotted key: {"buyer_info": {"mobile": …}} gives
    {"buyer_info.mobile": …}; a list of plain values is one value, joined by ", "; a list of
    objects is read by position ("items.0.sku")."""
    flat: dict[str, Any] = {}
    if isinstance(value, Mapping):
        for key, item in value.items():
            flat.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(value, list) and any(isinstance(item, Mapping | list) for item in value):
        for index, item in enumerate(value):
            flat.update(flatten(item, f"{prefix}.{index}"))
    elif isinstance(value, list):
        flat[prefix] = ", ".join(text(item) for item in value if text(item))
    else:
        flat[prefix] = value
    return flat


def _decoded(value: str) -> Any:
    """JSON written into a text value: as is, or URL-encoded (有赞云's `msg`)."""
    for candidate in (value, unquote_plus(value)):
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    raise PayloadError(_NOT_RECORDS)


def records_of(data: Any, records_key: str = "") -> list[dict[str, Any]]:
    """The records of a parsed body: the body itself (an object or an array of objects), or
    what it holds under `records_key` (dotted for a nested key; JSON text is read too). Raises
    PayloadError."""
    if records_key:
        for part in records_key.split("."):
            if not isinstance(data, Mapping) or part not in data:
                raise PayloadError(_NO_RECORDS_KEY % {"key": records_key})
            data = data[part]
        if isinstance(data, str):
            data = _decoded(data)
    items = data if isinstance(data, list) else [data]
    if not items:
        raise PayloadError(_NO_RECORDS)
    if not all(isinstance(item, Mapping) for item in items):
        raise PayloadError(_NOT_RECORDS)
    return items


def parse_body(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError as error:
        raise PayloadError(_("The body is not JSON.")) from error


def sample_keys(sample: str, records_key: str = "") -> list[str]:
    """The flattened keys of a sample body's records, in the order they first appear. Raises
    PayloadError."""
    keys: dict[str, None] = {}
    for item in records_of(parse_body(sample), records_key)[:MAX_RECORDS]:
        keys.update(dict.fromkeys(key[:_KEY_LENGTH] for key in flatten(item)))
    return list(keys)


def guess_mapping(kind: str, keys: Sequence[str]) -> list[str]:
    """The import's guess of each key's field (or IGNORE), as for a file's headers: by the
    whole key, else by its last part ("buyer_info.mobile" as "mobile")."""
    fields = rows_module(kind).fields()
    whole = suggest_mapping(fields, kind, keys)
    names = [
        key if guess else key.rsplit(".", 1)[-1] for key, guess in zip(keys, whole, strict=True)
    ]
    return suggest_mapping(fields, kind, names)


def mapped_record(
    fields: Sequence[ImportField], mapping: Mapping[str, str], flat: Mapping[str, Any]
) -> dict[str, Any]:
    """The import record of a flattened record: each mapped key's value under its field; keys
    of a field several may feed joined (a street in two parts, tags) or, for a field that
    takes one of several (a phone), the first given."""
    found: dict[str, list[tuple[str, Any]]] = {}
    for key, value in flat.items():
        field_key = mapping.get(key, IGNORE)
        if field_key and text(value):
            found.setdefault(field_key, []).append((key, value))
    record: dict[str, Any] = {}
    for import_field in fields:
        given = found.get(import_field.key)
        if not given:
            continue
        if import_field.joins:
            record[import_field.key] = [text(value) for _key, value in given]
        elif import_field.several:
            record[import_field.key] = min(given, key=lambda kv: import_field.preference(kv[0]))[1]
        else:
            record[import_field.key] = given[0][1]
    return record


def source_moment(value: Any) -> datetime.datetime | None:
    """The source's updated time: ISO 8601 ("2024-03-01 12:00:00" in the configured time
    zone) or seconds (or milliseconds) since the epoch. Raises PayloadError."""
    digits = text(value)
    if digits.isdigit() and not isinstance(value, bool):
        seconds = int(digits)
        if seconds > _MILLISECONDS_FROM:
            seconds //= 1000
        try:
            return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
        except (OverflowError, OSError, ValueError) as error:
            raise PayloadError(_("The payload has a date that cannot be read.")) from error
    return moment(value)


def clean_system_name(value: str) -> str:
    """A generic webhook's source system name as stored. Raises ValidationError."""
    value = value.strip()
    if not _SYSTEM_NAME.match(value):
        raise ValidationError(_BAD_SYSTEM_NAME)
    return value


class GenericWebhook(PlatformAdapter):
    """Unbound (ADAPTERS), it names the platform; bound to a connector (`bound_to`), it reads
    that connector's deliveries with its GenericFeed."""

    key = Platform.GENERIC.value
    label = _("Generic webhook")
    topic_header = ""

    def __init__(self, feed: GenericFeed | None = None) -> None:
        self.feed = feed

    def bound_to(self, connector: Connector) -> PlatformAdapter:
        return GenericWebhook(connector.feed)

    @property
    def _feed(self) -> GenericFeed:
        if self.feed is None:
            raise TypeError("a generic webhook reads deliveries bound to its connector")
        return self.feed

    @property
    def signature_header(self) -> str:  # type: ignore[override]
        if self._feed.signature_scheme == SignatureScheme.YOUZAN:
            return _YOUZAN_SIGN_HEADER
        return self._feed.signature_header

    @property
    def delivery_id_header(self) -> str:  # type: ignore[override]
        return self._feed.delivery_id_header

    @property
    def kept_headers(self) -> tuple[str, ...]:  # type: ignore[override]
        return (self.delivery_id_header,) if self.delivery_id_header else ()

    @property
    def topics(self) -> tuple[tuple[str, str | Promise], ...]:  # type: ignore[override]
        # A delivery's "topic" is the kind of records the connector took it for.
        kind = ImportKind(self._feed.kind)
        return ((kind.value, kind.label),)

    # --- the intake --------------------------------------------------------------------------

    def verify(self, *, secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
        given = headers.get(self.signature_header, "").strip()
        if not given or not secret:
            return False
        if self._feed.signature_scheme == SignatureScheme.YOUZAN:
            signed = self._feed.client_id.encode() + body + secret.encode()
            expected = hashlib.md5(signed).hexdigest()  # noqa: S324 (有赞云's scheme)
        else:
            if given[: len(_HMAC_PREFIX)].casefold() == _HMAC_PREFIX:
                given = given[len(_HMAC_PREFIX) :]
            expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected.encode(), given.casefold().encode())

    def topic_of(self, headers: Mapping[str, str]) -> str:
        return self._feed.kind

    def delivery_id_of(self, headers: Mapping[str, str], body: bytes) -> str:
        """The header named, else the key named in the body, else the body's digest."""
        if self._feed.delivery_id_key and not headers.get(self.delivery_id_header, "").strip():
            try:
                data = json.loads(body)
            except ValueError:
                data = None
            if isinstance(data, Mapping):
                given = text(flatten(data).get(self._feed.delivery_id_key))
                if given:
                    return given[:100]
        return super().delivery_id_of(headers, body)

    # --- payloads ----------------------------------------------------------------------------

    def payload(self, body: str) -> Any:  # type: ignore[override]
        return parse_body(body)

    def changes(self, topic: str, payload: Any) -> list[Change]:
        feed = self._feed
        if not feed.mapping:
            raise PayloadError(_NO_MAPPING)
        items = records_of(payload, feed.records_key)
        if len(items) > MAX_RECORDS:
            raise PayloadError(_TOO_MANY % {"count": MAX_RECORDS})
        fields = rows_module(topic).fields()
        read_apart = {feed.updated_at_key, feed.delivery_id_key}
        changes: list[Change] = []
        for position, item in enumerate(items, start=1):
            flat = flatten(item)
            record = mapped_record(fields, feed.mapping, flat)
            problem, updated_at = "", None
            if feed.updated_at_key:
                try:
                    updated_at = source_moment(flat.get(feed.updated_at_key))
                except PayloadError as error:
                    problem = str(error.message)
            changes.append(
                MappedRecord(
                    kind=topic,
                    policy=feed.policy,
                    source_channel=feed.source_channel,
                    position=position,
                    external_id=text(record.get(RECORD_ID_FIELD[ImportKind(topic)]))[:100],
                    updated_at=updated_at,
                    record=record,
                    problem=problem,
                    unmapped_keys=tuple(
                        key[:_KEY_LENGTH]
                        for key in flat
                        if key not in feed.mapping and key not in read_apart
                    ),
                )
            )
        return changes

    def subject_ref(self, topic: str, payload: Any) -> str:
        """The customer's id in the source when the delivery is about one customer."""
        changes = self.changes(topic, payload)
        if len(changes) != 1 or not isinstance(changes[0], MappedRecord):
            return ""
        record = changes[0].record
        # An order's or interaction's customer is named by customer_external_id.
        return text(record.get("customer_external_id") or record.get("external_id"))[:100]

    def read_export(self, stream: IO[bytes]) -> Any:
        raise PayloadError(_("A generic webhook has no export to load."))
