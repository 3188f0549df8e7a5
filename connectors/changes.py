"""What a shop says, whatever the platform: the neutral changes a platform adapter
(connectors/platforms/) makes of a webhook payload or of an export's object, and that
connectors/apply.py applies. A generic webhook (connectors/platforms/generic.py) brings
records its saved mapping made, of any import kind (MappedRecord)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _


class PayloadError(Exception):
    """A payload the adapter cannot read; `message` says why in the reader's language and
    holds no value from the payload."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


MISSING_ID = _("The payload has no id.")
NOT_AN_OBJECT = _("The payload is not a JSON object.")


@dataclass(frozen=True)
class CustomerChange:
    """A customer as the shop holds it: `record` has the customer import's fields
    (customers/imports/mapping.py CUSTOMER_FIELDS); `external_id` is empty for a guest, who is
    then matched by phone or email only."""

    external_id: str
    updated_at: datetime.datetime | None
    record: dict[str, Any]


@dataclass(frozen=True)
class OrderLine:
    sku: str
    product_name: str
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal = Decimal(0)


@dataclass(frozen=True)
class OrderChange:
    """An order: `status` a TransactionStatus value, or None while it is not paid yet (nothing
    is recorded then); `total` what the order came to before refunds, `refunds` each refund's
    amount by its id."""

    external_id: str
    updated_at: datetime.datetime | None
    number: str
    customer: CustomerChange
    occurred_at: datetime.datetime
    status: str | None
    currency: str
    total: Decimal
    discount: Decimal
    lines: tuple[OrderLine, ...]
    refunds: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundChange:
    order_external_id: str
    refund_id: str
    amount: Decimal


@dataclass(frozen=True)
class SubjectRequestChange:
    """A person's request passed on by the shop (Shopify's customers/redact and
    customers/data_request): `kind` a privacy RequestKind value."""

    kind: str
    customer_external_id: str
    email: str
    phone: str
    details: str


@dataclass(frozen=True)
class MappedRecord:
    """One record of a generic webhook's delivery, as its mapping makes it: `record` holds
    the import fields of `kind` (an ImportKind value) with the payload's values; `external_id`
    is the source's id of the customer, order or interaction (empty: matched by phone or
    email only, never compared); `policy` and `source_channel` as the import's options;
    `position` its place in the delivery (1 for the first);
    `problem` why it cannot be applied, when it cannot; `unmapped_keys` the record's keys
    the mapping leaves out (named in the delivery's note)."""

    kind: str
    policy: str
    source_channel: str
    position: int
    external_id: str
    updated_at: datetime.datetime | None
    record: dict[str, Any]
    problem: str = ""
    unmapped_keys: tuple[str, ...] = ()


Change = CustomerChange | OrderChange | RefundChange | SubjectRequestChange | MappedRecord
