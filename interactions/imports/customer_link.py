"""How an order or interaction row names its customer (their id in the source system, a phone
or an email), and finding those customers for a batch, within the importer's scope."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from typing import Any

from django.utils.translation import gettext_lazy as _

from accounts.teams import works_on_behalf_of
from customers.imports.customer_rows import existing_matches
from customers.imports.fields import (
    NO_BATCH,
    BatchOptions,
    BatchValues,
    PreparedRow,
    first_valid,
)
from customers.imports.mapping import ADDRESS_PHONES, ImportField
from customers.models import Customer
from customers.normalize import NormalizationError
from customers.services import record_activity

CUSTOMER_FIELDS: tuple[ImportField, ...] = (
    ImportField(
        "customer_external_id",
        _("Customer id in the source system"),
        (
            "customer id",
            "客户编号",
            "会员号",
            "会员编号",
            "会员卡号",
            "customer",
            "buyer id",
            "member id",
            "客户id",
            "会员id",
        ),
    ),
    ImportField(
        "customer_phone",
        _("Customer's mobile phone"),
        (
            "phone",
            "mobile",
            "手机",
            "手机号",
            "手机号码",
            "电话",
            "联系电话",
            "客户手机",
            "联系手机",
            "买家手机",
            "买家手机号",
            *ADDRESS_PHONES,
        ),
        several=True,
        fallbacks=ADDRESS_PHONES,
    ),
    ImportField(
        "customer_email",
        _("Customer's email"),
        ("email", "e-mail", "邮箱", "客户邮箱", "电子邮箱"),
    ),
)
_KEYS = {
    "customer_external_id": "external_id",
    "customer_phone": "phone",
    "customer_email": "email",
}

# Also what a row naming a customer the importer may not change is told: that the customer
# exists, or whose it is, is not theirs to learn.
NO_CUSTOMER = _(
    "No customer you may change matches this row's customer id, phone or email. Import the "
    "customers first."
)


def link_errors(fields: set[str], *, source_name: str) -> list[Any]:
    errors = []
    if not fields & set(_KEYS):
        errors.append(_("Choose the column that names the customer: their id, phone or email."))
    if "customer_external_id" in fields and not source_name:
        errors.append(_("Name the source system: customer ids are unique only within it."))
    return errors


def prepare_customer_keys(row: PreparedRow, batch: BatchValues = NO_BATCH) -> None:
    """Normalise the customer columns of a row into row.values["customer_keys"]; with several
    phone columns (Phone, Billing Phone, Shipping Phone) the first valid one is the key and
    the others, in order, go to row.values["customer_other_phones"]: a customer none of
    the other keys finds is looked for by them too."""
    keys: dict[str, str] = {}
    phones = first_valid(row, "customer_phone", batch.phone)
    row.values["customer_other_phones"] = [phone for _header, _text, phone in phones[1:]]
    for field, kind in _KEYS.items():
        text = row.raw.get(field)
        if not text:
            continue
        try:
            if kind == "phone":
                text = batch.phone(text)
            elif kind == "email":
                text = batch.email(text)
        except NormalizationError as error:
            row.add_issue(field, error.message)
            continue
        keys[kind] = text
    if not keys and not row.failed:
        row.add_issue("", NO_CUSTOMER)
    row.values["customer_keys"] = keys


def customers_for(rows: Sequence[PreparedRow], options: BatchOptions) -> dict[int, Customer]:
    """Each row's customer, by row number; rows whose customer is missing or out of the
    importer's scope get the same error instead. Phones and emails match only customers whose
    personal data the importer may see (`existing_matches`); only the keys in
    `options.match_on` are used."""
    source_name = options.source_name
    keyed = [
        {
            kind: value
            for kind, value in row.values["customer_keys"].items()
            if kind in options.match_on and (kind != "external_id" or source_name)
        }
        for row in rows
    ]
    more_phones = {
        row.number: row.values.get("customer_other_phones", ())
        if "phone" in options.match_on
        else ()
        for row in rows
    }
    other_phones = [{"phone": phone} for phones in more_phones.values() for phone in phones]
    found = existing_matches(keyed + other_phones, source_name, actor=options.actor)
    wanted = {}
    for row, keys in zip(rows, keyed, strict=True):
        customer_id = next(
            (
                found[kind][keys[kind]]
                for kind in ("external_id", "phone", "email")
                if kind in keys and keys[kind] in found[kind]
            ),
            None,
        ) or next(
            (found["phone"][phone] for phone in more_phones[row.number] if phone in found["phone"]),
            None,
        )
        if customer_id is None:
            row.add_issue("", NO_CUSTOMER)
        else:
            wanted[row.number] = customer_id
    customers = Customer.objects.in_bulk(set(wanted.values()))
    actor = options.actor
    scoped = actor.has_perm("customers.view_all_customers")
    result = {}
    for row in rows:
        customer = customers.get(wanted.get(row.number))
        if customer is None:
            continue
        if (
            not scoped
            and customer.owner_id is not None
            and not works_on_behalf_of(actor, customer.owner_id)
        ):
            row.add_issue("", NO_CUSTOMER)
            continue
        result[row.number] = customer
    return result


def record_latest_activity(moments: Iterable[tuple[int, datetime.datetime]]) -> None:
    """Move each customer's last activity forward to the latest of its new moments (one
    UPDATE per customer, never backwards)."""
    latest: dict[int, datetime.datetime] = {}
    for customer_id, at in moments:
        latest[customer_id] = max(at, latest.get(customer_id, at))
    for customer_id, at in latest.items():
        record_activity(customer_id=customer_id, at=at)
