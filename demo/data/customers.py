"""The customer rows and what belongs to a customer: company contacts, the shops' external ids,
stage changes and tags. A duplicate registration re-derives the identity of the customer it
repeats."""

from __future__ import annotations

import datetime
import itertools
import random
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from customers.models import CustomerKind, Gender, SourceChannel, ValueGrade
from customers.normalize import name_sound, place_pinyin
from demo.data.draws import _CONTACTS, _PROFILE, _TAGS, DAY, _seed_of
from demo.data.people import (
    _CONTACT_TITLES,
    _cities,
    _cn_mobile,
    _company_identity,
    _Identity,
    _person_identity,
    _pinyin,
    _raw_cn_mobile,
    _raw_email,
    _zh_given_name,
    id_number_columns,
    pools,
)
from demo.data.plans import _draw_plan
from demo.data.purchases import _purchases, _stage_path, _summarise, value_grade
from demo.data.scenario import (
    ContactRow,
    CustomerPlan,
    CustomerRow,
    ExternalIdRow,
    GeneratedCustomer,
    Scenario,
    StageChangeRow,
)

TAGS = (
    # (name, colour, group)
    ("VIP", "#d4a017", "Value"),
    ("Wholesale", "#6f42c1", "Value"),
    ("Newsletter", "#0d6efd", "Marketing"),
    ("WeChat follower", "#198754", "Marketing"),
    ("Price sensitive", "#fd7e14", "Behaviour"),
    ("Early adopter", "#20c997", "Behaviour"),
    ("Complaint history", "#dc3545", "Service"),
    ("Do not call", "#6c757d", "Service"),
)

_SOURCE_DETAILS = {
    SourceChannel.MARKETPLACE: {
        "zh": ("天猫旗舰店", "京东自营店", "拼多多官方店"),
        "en": ("Tmall flagship store", "JD.com store"),
    },
    SourceChannel.ONLINE_SHOP: {"zh": ("官网商城", "小程序商城"), "en": ("Shopify store",)},
    SourceChannel.WECHAT: {"zh": ("公众号", "企业微信", "视频号直播"), "en": ("WeChat Work",)},
    SourceChannel.TRADE_FAIR: {
        "zh": ("广交会", "上海国际家居展"),
        "en": ("Canton Fair", "China Import Expo"),
    },
    SourceChannel.REFERRAL: {"zh": ("老客户推荐", "合作伙伴推荐"), "en": ("Referred by a member",)},
    SourceChannel.WEB_FORM: {"zh": ("官网咨询表单", "活动报名"), "en": ("Newsletter sign-up",)},
}

# fmt: off
_CUSTOMER_NOTES = {
    "zh": ("老客户，介绍过朋友购买。", "喜欢简约风格的产品。", "需要开增值税专用发票。",
           "只在工作日晚上接电话。", "对售后服务要求较高。"),
    "en": ("Long-standing customer; has referred friends.", "Prefers email over phone.",
           "Needs VAT invoices.", "Only reachable on weekday evenings.",
           "High expectations of after-sales service."),
}
# fmt: on


def _identity(scenario: Scenario, plan: CustomerPlan, rng: random.Random) -> _Identity:
    pool = pools(scenario.seed)
    today = scenario.now.date()
    if plan.kind == CustomerKind.COMPANY:
        return _company_identity(rng, plan, pool)
    if plan.duplicate_of < 0:
        return _person_identity(rng, plan, pool, today)
    original = _identity_of(scenario, plan.duplicate_of)
    # A second registration of the same person through another channel: same phone typed
    # differently, often with less data. Names are stored normalised, so they match exactly.
    phone_raw = original.phone_raw
    if original.phone.startswith("+86"):
        phone_raw = _raw_cn_mobile(rng, original.phone[3:])
    email = original.email if rng.random() < 0.6 else ""
    keep_id = rng.random() < 0.5
    keep_address = rng.random() < 0.5
    return original._replace(
        phone_raw=phone_raw,
        email=email,
        email_raw=_raw_email(rng, email) if email else "",
        id_document_kind=original.id_document_kind if keep_id else "",
        id_number=original.id_number if keep_id else "",
        # A resident ID states the birth date, so a kept ID keeps it too.
        birth_date=original.birth_date if keep_id or rng.random() < 0.5 else None,
        street=original.street if keep_address else "",
        postcode=original.postcode if keep_address else "",
    )


def _identity_of(scenario: Scenario, index: int) -> _Identity:
    """Re-derive the identity of customer ``index`` (for its duplicate registrations)."""
    rng = random.Random(_seed_of(scenario.seed, index, _PROFILE))  # noqa: S311  (synthetic data)
    plan = _draw_plan(scenario, index, rng)
    return _identity(scenario, plan, rng)


# --- Public generators -------------------------------------------------------------------------


def customers(scenario: Scenario, count: int) -> Iterator[GeneratedCustomer]:
    """Customers 0..count-1 with ids from ``scenario.customer_start_id``, streamed.

    ``row`` has the stage, value grade and last activity that the customer's purchases (see
    :func:`transactions`) and interactions imply; identity numbers are encrypted with
    :func:`id_number_columns`. ~70% Chinese persons, ~20% Latin-script persons (a third of
    them living in the US), ~10% companies; ~1.5% of persons are second registrations of an
    earlier person (same phone or ID, other channel), as every real customer base has.
    """
    rng = random.Random()  # noqa: S311  (synthetic data, not security)
    tz = scenario.now.tzinfo
    now_ts = scenario.now.timestamp()
    fromts = datetime.datetime.fromtimestamp
    table = _cities()
    for index in range(count):
        rng.seed(_seed_of(scenario.seed, index, _PROFILE))
        plan = _draw_plan(scenario, index, rng)
        ident = _identity(scenario, plan, rng)
        summary = _summarise(_purchases(scenario, plan))
        path = _stage_path(plan, summary, now_ts)
        encrypted, blind, masked = id_number_columns(ident.id_number)

        details = _SOURCE_DETAILS.get(plan.source_channel)
        source_detail = ""
        if plan.source_channel in (SourceChannel.STORE, SourceChannel.POS) and plan.city_key >= 0:
            store = table.cities[plan.city_key].store
            source_detail = store if plan.lang == "zh" else f"{ident.city_en} store"
        elif details and rng.random() < 0.7:
            source_detail = rng.choice(details[plan.lang])
        notes = ""
        if rng.random() < 0.05:
            notes = rng.choice(_CUSTOMER_NOTES[plan.lang])

        created_at = fromts(plan.created_ts, tz)
        last_activity_at = fromts(plan.last_ts, tz) if plan.last_ts is not None else None
        updated_ts = max(path[-1][1], plan.last_ts or plan.created_ts)
        sound = name_sound(ident.name)
        yield GeneratedCustomer(
            row=CustomerRow(
                id=plan.id,
                kind=plan.kind,
                name=ident.name,
                family_name=ident.family_name,
                given_name=ident.given_name,
                name_pinyin=sound[0],
                name_key=sound[1],
                gender=ident.gender,
                birth_date=ident.birth_date,
                phone=ident.phone,
                phone_raw=ident.phone_raw,
                email=ident.email,
                email_raw=ident.email_raw,
                phone_verified=False,
                email_verified=False,
                id_document_kind=ident.id_document_kind if ident.id_number else "",
                id_number_encrypted=encrypted,
                id_number_blind_index=blind,
                id_number_masked=masked,
                country=ident.country,
                province=ident.province,
                city=ident.city,
                city_pinyin=place_pinyin(ident.city),
                district=ident.district,
                street=ident.street,
                postcode=ident.postcode,
                company_name=ident.company_name,
                industry=ident.industry,
                company_size=ident.company_size,
                website=ident.website,
                lifecycle_stage=path[-1][0],
                value_grade=value_grade(summary.spend_cents),
                source_channel=plan.source_channel,
                source_detail=source_detail,
                owner_id=plan.owner_id,
                notes=notes,
                consent_email=bool(ident.email) and rng.random() < 0.45,
                consent_sms=bool(ident.phone) and rng.random() < 0.35,
                consent_phone=bool(ident.phone) and rng.random() < 0.2,
                created_at=created_at,
                updated_at=fromts(min(updated_ts, now_ts), tz),
                last_activity_at=last_activity_at,
                # The shared pool's idle clock starts when the demo is loaded (sales/pool).
                owner_active_at=fromts(now_ts, tz) if plan.owner_id else None,
                archived_at=None,
                merged_into_id=None,
            ),
            plan=plan,
            summary=summary,
            stage_path=tuple((stage, fromts(ts, tz)) for stage, ts in path),
        )


class Newcomer(NamedTuple):
    """A person new to the database as they would type themselves into a form: phone and
    email as typed (not normalised), the city in their own language."""

    lang: str
    name: str
    phone: str
    email: str
    city: str


def typed_mobile(rng: random.Random) -> str:
    """A Chinese mobile number as people type it."""
    return _raw_cn_mobile(rng, _cn_mobile(rng))


def newcomers(scenario: Scenario, *, after: int) -> Iterator[Newcomer]:
    """People with an email address whom the scenario draws as customers ``after``,
    ``after`` + 1, ... (not loaded by a run that loaded ``after`` customers, so unknown to
    it: every person's address is their own). Companies and re-registrations of earlier
    customers are left out. Endless: take what you need."""
    for index in itertools.count(after):
        rng = random.Random(_seed_of(scenario.seed, index, _PROFILE))  # noqa: S311  (synthetic data)
        plan = _draw_plan(scenario, index, rng)
        if plan.kind != CustomerKind.PERSON or plan.duplicate_of >= 0:
            continue
        ident = _identity(scenario, plan, rng)
        if ident.email:
            yield Newcomer(
                lang=plan.lang,
                name=ident.name,
                phone=ident.phone_raw,
                email=ident.email_raw.strip(),
                city=ident.city if plan.lang == "zh" else ident.city_en,
            )


def contacts(
    scenario: Scenario, plans: Iterable[CustomerPlan], *, start_id: int
) -> Iterator[ContactRow]:
    """People at the company customers among ``plans``: ``plan.n_contacts`` each, ids
    consecutive from ``start_id`` in plan order, the first of each company primary."""
    rng = random.Random()  # noqa: S311  (synthetic data, not security)
    tz = scenario.now.tzinfo
    now_ts = scenario.now.timestamp()
    pool = pools(scenario.seed)
    table = _cities()
    next_id = start_id
    for plan in plans:
        if not plan.n_contacts:
            continue
        rng.seed(_seed_of(scenario.seed, plan.index, _CONTACTS))
        company = _identity_of(scenario, plan.index)
        domain = company.email.partition("@")[2] or company.website.removeprefix("https://www.")
        for number in range(plan.n_contacts):
            chinese = plan.lang == "zh" or rng.random() < 0.5
            gender = Gender.FEMALE if rng.random() < 0.5 else Gender.MALE
            if chinese:
                family, family_py = table.surnames(rng)
                given = _zh_given_name(rng, gender, rng.randint(1965, 2000))
                name = family + given
                given_py = _pinyin(given)
                local = (
                    f"{given_py}.{family_py}" if given_py else f"{family_py}{rng.randint(1, 99)}"
                )
            else:
                first_pool = pool.en_first_female if gender == Gender.FEMALE else pool.en_first_male
                given, family = rng.choice(first_pool), rng.choice(pool.en_last)
                name = f"{given} {family}"
                local = f"{given}.{family}".lower().replace("'", "")
            title, role = rng.choice(_CONTACT_TITLES["zh" if chinese else "en"])
            national = _cn_mobile(rng) if rng.random() < 0.9 else ""
            email = f"{local}@{domain}" if domain and rng.random() < 0.75 else ""
            created_ts = min(plan.created_ts + number * rng.uniform(0, 200) * DAY, now_ts)
            yield ContactRow(
                id=next_id,
                customer_id=plan.id,
                name=name,
                title=title,
                decision_role=role,
                phone=f"+86{national}" if national else "",
                phone_raw=_raw_cn_mobile(rng, national) if national else "",
                email=email,
                email_raw=_raw_email(rng, email) if email else "",
                is_primary=number == 0,
                created_at=datetime.datetime.fromtimestamp(created_ts, tz),
                updated_at=datetime.datetime.fromtimestamp(created_ts, tz),
            )
            next_id += 1


def external_ids(
    scenario: Scenario, plans: Iterable[CustomerPlan], *, start_id: int
) -> Iterator[ExternalIdRow]:
    """The shop's id for customers who came from the online shop ("shopify") or the
    marketplace ("tmall"); derived from the customer id, so unique per system."""
    tz = scenario.now.tzinfo
    next_id = start_id
    for plan in plans:
        if plan.source_channel == SourceChannel.ONLINE_SHOP:
            system, value = "shopify", str(6_100_000_000_000 + plan.id * 7919)
        elif plan.source_channel == SourceChannel.MARKETPLACE:
            system, value = "tmall", f"tb{1_000_000_000 + plan.id * 7919}"
        else:
            continue
        yield ExternalIdRow(
            id=next_id,
            customer_id=plan.id,
            system=system,
            external_id=value,
            created_at=datetime.datetime.fromtimestamp(plan.created_ts, tz),
        )
        next_id += 1


def stage_changes(customer: GeneratedCustomer) -> Iterator[StageChangeRow]:
    """Every step of the customer's stage history, oldest first, by the system (no user);
    the last step's to_stage is the customer's current stage."""
    previous = ""
    for stage, reached_at in customer.stage_path:
        yield StageChangeRow(customer.row.id, previous, stage, reached_at, None)
        previous = stage


def customer_tags(
    scenario: Scenario, customer: GeneratedCustomer, *, complained: bool
) -> list[str]:
    """Names from :data:`TAGS` that fit the customer (VIP for grades A/B, Wholesale for
    companies, Complaint history when ``complained``, marketing tags from consents...)."""
    rng = random.Random(_seed_of(scenario.seed, customer.plan.index, _TAGS))  # noqa: S311  (synthetic data)
    row = customer.row
    names = []
    if row.value_grade in (ValueGrade.A, ValueGrade.B) and rng.random() < 0.9:
        names.append("VIP")
    if row.kind == CustomerKind.COMPANY:
        names.append("Wholesale")
    if row.consent_email and rng.random() < 0.7:
        names.append("Newsletter")
    if rng.random() < (0.9 if row.source_channel == SourceChannel.WECHAT else 0.15):
        names.append("WeChat follower")
    if row.kind == CustomerKind.PERSON and rng.random() < 0.12:
        names.append("Price sensitive")
    if rng.random() < 0.06:
        names.append("Early adopter")
    if complained:
        names.append("Complaint history")
    if row.phone and not row.consent_phone and rng.random() < 0.05:
        names.append("Do not call")
    return names
