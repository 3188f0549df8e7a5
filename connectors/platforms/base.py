"""What every platform adapter states: how its deliveries are signed and named, which topics
it applies, and how its payloads and export files become neutral changes
(connectors/changes.py). The intake (connectors/intake.py), the worker (connectors/apply.py)
and the backfill (connectors/backfill.py) know platforms only through this."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import IO, Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from connectors.changes import NOT_AN_OBJECT, Change, PayloadError
from kernel.person_names import join_person_name

_SYSTEM_NAME_LENGTH = 50
_BAD_MOMENT = _("The payload has a date that cannot be read.")
_BAD_AMOUNT = _("The payload has an amount that cannot be read.")
_BAD_ADDRESS = _("Enter the shop's address, such as https://shop.example.com.")


def hmac_base64_matches(secret: str, body: bytes, signature: str) -> bool:
    """Whether `signature` is the base64 HMAC-SHA256 of `body` under `secret` (Shopify's and
    WooCommerce's scheme), compared in constant time."""
    if not signature or not secret:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, signature.strip().encode())


def moment(value: Any, *, assume_utc: bool = False) -> datetime.datetime | None:
    """An ISO 8601 time from a payload; one without an offset is UTC when `assume_utc`
    (WooCommerce's *_gmt fields), else in the configured time zone."""
    if value in (None, ""):
        return None
    try:
        parsed = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as error:
        raise PayloadError(_BAD_MOMENT) from error
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=datetime.UTC) if assume_utc else timezone.make_aware(parsed)
    return parsed


def money(value: Any) -> Decimal:
    if value in (None, ""):
        return Decimal(0)
    try:
        amount = Decimal(str(value))
    except InvalidOperation as error:
        raise PayloadError(_BAD_AMOUNT) from error
    if not amount.is_finite():
        raise PayloadError(_BAD_AMOUNT)
    return amount


def text(value: Any) -> str:
    """A payload's value as text; nothing for null (shops send null for every empty field)."""
    return "" if value is None else str(value).strip()


def customer_record(
    *,
    external_id: str = "",
    first_name: Any = None,
    last_name: Any = None,
    email: Any = None,
    phone: Any = None,
    address: Mapping[str, Any] | None = None,
    tags: Iterable[str] = (),
    consent_email: Any = None,
    consent_sms: Any = None,
) -> dict[str, Any]:
    """A customer import record (customers/imports/mapping.py CUSTOMER_FIELDS) of what a shop
    knows; empty values are left out, so that a shop's blank never erases what staff typed.
    `address` has street, city, province, country, postcode, company and phone."""
    address = address or {}
    given, family = text(first_name), text(last_name)
    record: dict[str, Any] = {
        "external_id": external_id,
        "given_name": given,
        "family_name": family,
        # The shop keeps a person's name in two parts; the customer's name is written from
        # them the way staff would (Chinese family name first: kernel/person_names.py).
        "name": join_person_name(family, given),
        "email": text(email),
        "phone": text(phone) or text(address.get("phone")),
        "street": text(address.get("street")),
        "city": text(address.get("city")),
        "province": text(address.get("province")),
        "country": text(address.get("country")),
        "postcode": text(address.get("postcode")),
        "company_name": text(address.get("company")),
        "tags": [tag for tag in (text(tag) for tag in tags) if tag],
        "consent_email": text(consent_email),
        "consent_sms": text(consent_sms),
    }
    return {key: value for key, value in record.items() if value not in ("", [])}


def street(*parts: Any) -> str:
    return " ".join(part for part in (text(part) for part in parts) if part)


class PlatformAdapter:
    """One platform. Subclasses state the class attributes and the parse methods."""

    key: str
    label: str
    signature_header: str
    topic_header: str
    delivery_id_header: str
    # Headers kept with a delivery (they name it; none holds personal data).
    kept_headers: tuple[str, ...] = ()
    # (topic, what it brings) for the settings page; these are the topics applied.
    topics: tuple[tuple[str, str | Promise], ...] = ()

    @property
    def handled_topics(self) -> frozenset[str]:
        return frozenset(topic for topic, _label in self.topics)

    def bound_to(self, connector: Any) -> PlatformAdapter:
        """The adapter reading `connector`'s deliveries: a shop platform's is the same for
        every shop."""
        return self

    # --- the intake --------------------------------------------------------------------------

    def verify(self, *, secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
        return hmac_base64_matches(secret, body, headers.get(self.signature_header, ""))

    def topic_of(self, headers: Mapping[str, str]) -> str:
        return headers.get(self.topic_header, "").strip()[:60]

    def delivery_id_of(self, headers: Mapping[str, str], body: bytes) -> str:
        """The platform's id of this delivery; without one, the body's digest (the same body
        sent twice is then stored once)."""
        given = headers.get(self.delivery_id_header, "").strip()
        return given[:100] if given else "sha256:" + hashlib.sha256(body).hexdigest()

    def headers_kept(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {name: headers[name][:200] for name in self.kept_headers if name in headers}

    def is_ping(self, headers: Mapping[str, str], body: bytes) -> bool:
        """A check the platform sends when a webhook is set up, answered 200 and not kept."""
        return False

    # --- payloads ----------------------------------------------------------------------------

    def payload(self, body: str) -> dict[str, Any]:
        try:
            data = json.loads(body)
        except ValueError as error:
            raise PayloadError(_("The body is not JSON.")) from error
        if not isinstance(data, dict):
            raise PayloadError(NOT_AN_OBJECT)
        return data

    def changes(self, topic: str, payload: Mapping[str, Any]) -> list[Change]:
        """The changes a delivery of a handled topic brings (none: nothing to apply). Raises
        PayloadError."""
        raise NotImplementedError

    def subject_ref(self, topic: str, payload: Mapping[str, Any]) -> str:
        """The shop's id of the customer a payload is about ("" when none or unknown)."""
        return ""

    def read_export(self, stream: IO[bytes]) -> Iterator[tuple[str, list[Change] | PayloadError]]:
        """The objects of the platform's bulk export, in file order: (the object's id, its
        changes or why it cannot be read)."""
        raise NotImplementedError

    # --- the shop ----------------------------------------------------------------------------

    def clean_shop_url(self, value: str) -> str:
        """The shop's address as stored ("https://host[/path]"). Raises ValidationError."""
        value = value.strip().rstrip("/")
        if "://" not in value:
            value = "https://" + value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or "." not in parts.hostname:
            raise ValidationError(_BAD_ADDRESS)
        return f"{parts.scheme}://{parts.hostname}{parts.path}"

    def system_name(self, shop_url: str) -> str:
        """The source system of the shop's ids: "<platform>:<host>", the host shortened with a
        digest when the whole would not fit."""
        host = urlsplit(shop_url).hostname or ""
        name = f"{self.key}:{host}"
        if len(name) <= _SYSTEM_NAME_LENGTH:
            return name
        digest = hashlib.sha256(host.encode()).hexdigest()[:8]
        return f"{self.key}:{host[: _SYSTEM_NAME_LENGTH - len(self.key) - 10]}~{digest}"
