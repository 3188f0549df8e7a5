"""The scenario (everything that determines the generated data) and the row types the
generators yield: NamedTuples whose fields are the model's column attnames, in column order."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple


class CatalogItem(NamedTuple):
    """A product as the purchase generator needs it (``id`` is the database id)."""

    id: int
    sku: str
    name_zh: str
    name_en: str
    price_cents: int
    is_active: bool


@dataclass(frozen=True)
class Scenario:
    """Everything that determines the generated data: same scenario, same rows.

    ``now`` must be timezone-aware; times of day are drawn in its zone, so pass
    ``timezone.localtime()``. ``owner_weights`` spreads customers over owners (``None`` =
    unassigned). ``sales_staff`` and ``service_staff`` are user ids that log interactions and
    record store sales (empty: those columns stay NULL). ``mean_purchases`` and
    ``mean_interactions`` are per-customer means of long-tailed distributions.
    """

    seed: int
    now: datetime.datetime
    catalog: tuple[CatalogItem, ...]
    customer_start_id: int = 1
    mean_purchases: float = 2.7
    mean_interactions: float = 5.0
    owner_weights: tuple[tuple[int | None, float], ...] = ((None, 1.0),)
    sales_staff: tuple[int, ...] = ()
    service_staff: tuple[int, ...] = ()
    currency: str = "CNY"

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError("Scenario.now must be timezone-aware")
        if not self.catalog:
            raise ValueError("Scenario.catalog must not be empty")


class ProductRow(NamedTuple):
    sku: str
    name: str
    category: str
    price: Decimal
    currency: str
    is_active: bool
    name_zh: str
    name_en: str


class CustomerPlan(NamedTuple):
    """What every pass needs to know about a customer, re-derivable from (seed, index)."""

    index: int
    id: int
    kind: str
    lang: str  # "zh" or "en": names, addresses and texts
    abroad: bool
    source_channel: str
    created_ts: float
    last_ts: float | None  # last activity: the latest paid purchase or interaction
    last_is_purchase: bool
    n_purchases: int
    n_interactions: int
    n_contacts: int
    city_key: int  # index into the city table; -1 for customers living abroad
    owner_id: int | None
    basket_mu: float  # log of the typical line price this customer buys
    duplicate_of: int  # index of the customer this one re-registers, or -1


class CustomerRow(NamedTuple):
    id: int
    kind: str
    name: str
    family_name: str
    given_name: str
    name_pinyin: str
    name_key: str
    gender: str
    birth_date: datetime.date | None
    phone: str
    phone_raw: str
    email: str
    email_raw: str
    phone_verified: bool
    email_verified: bool
    id_document_kind: str
    id_number_encrypted: str
    id_number_blind_index: str
    id_number_masked: str
    country: str
    province: str
    city: str
    city_pinyin: str
    district: str
    street: str
    postcode: str
    company_name: str
    industry: str
    company_size: str
    website: str
    lifecycle_stage: str
    value_grade: str
    source_channel: str
    source_detail: str
    owner_id: int | None
    notes: str
    consent_email: bool
    consent_sms: bool
    consent_phone: bool
    created_at: datetime.datetime
    updated_at: datetime.datetime
    last_activity_at: datetime.datetime | None
    owner_active_at: datetime.datetime | None
    archived_at: datetime.datetime | None
    merged_into_id: int | None


class HistorySummary(NamedTuple):
    paid_count: int
    spend_cents: int
    first_paid_ts: float | None
    second_paid_ts: float | None
    last_paid_ts: float | None


class GeneratedCustomer(NamedTuple):
    """One customer: the row to write, its plan and the facts derived from its history."""

    row: CustomerRow
    plan: CustomerPlan
    summary: HistorySummary
    stage_path: tuple[tuple[str, datetime.datetime], ...]  # (stage, reached at), oldest first


class ContactRow(NamedTuple):
    id: int
    customer_id: int
    name: str
    title: str
    decision_role: str
    phone: str
    phone_raw: str
    email: str
    email_raw: str
    is_primary: bool
    created_at: datetime.datetime
    updated_at: datetime.datetime


class ExternalIdRow(NamedTuple):
    id: int
    customer_id: int
    system: str
    external_id: str
    created_at: datetime.datetime


class TransactionRow(NamedTuple):
    id: int
    customer_id: int
    source_system: str
    external_ref: str
    occurred_at: datetime.datetime
    channel: str
    status: str
    amount: Decimal
    currency: str
    recorded_by_id: int | None
    created_at: datetime.datetime


class LineRow(NamedTuple):
    id: int
    transaction_id: int
    product_id: int
    description: str
    quantity: int
    unit_price: Decimal
    line_total: Decimal


class InteractionRow(NamedTuple):
    id: int
    customer_id: int
    contact_id: int | None
    kind: str
    channel: str
    occurred_at: datetime.datetime
    subject: str
    body: str
    satisfaction: int | None
    staff_id: int | None
    source_system: str
    external_ref: str
    created_at: datetime.datetime


class StageChangeRow(NamedTuple):
    customer_id: int
    from_stage: str
    to_stage: str
    changed_at: datetime.datetime
    changed_by_id: int | None


class FollowUpRow(NamedTuple):
    customer_id: int
    title: str
    notes: str
    due_at: datetime.datetime
    assignee_id: int
    done_at: datetime.datetime | None
    created_by_id: int | None
    created_at: datetime.datetime


def _offset(scenario: Scenario) -> float:
    offset = scenario.now.utcoffset()
    return offset.total_seconds() if offset else 0.0
