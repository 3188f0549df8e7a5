"""Customer plans: the first draws of a customer's profile stream (kind, language, source
channel, when it came and was last active, how many purchases, interactions and contacts, its
owner), cheap enough that every pass over the customers re-derives them."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

from customers.models import CustomerKind, SourceChannel
from demo.data.draws import (
    _PROFILE,
    DAY,
    HISTORY_YEARS,
    _at_realistic_hour,
    _poisson,
    _seed_of,
    _Weighted,
    _weighted_cached,
)
from demo.data.people import _cities
from demo.data.scenario import CustomerPlan, Scenario, _offset

_SOURCE_CHANNELS = {
    "person_zh": (
        (SourceChannel.STORE, 22),
        (SourceChannel.ONLINE_SHOP, 16),
        (SourceChannel.MARKETPLACE, 20),
        (SourceChannel.WECHAT, 17),
        (SourceChannel.POS, 8),
        (SourceChannel.WEB_FORM, 5),
        (SourceChannel.REFERRAL, 6),
        (SourceChannel.TRADE_FAIR, 1),
        (SourceChannel.PHONE, 5),
    ),
    "person_en": (
        (SourceChannel.STORE, 20),
        (SourceChannel.ONLINE_SHOP, 30),
        (SourceChannel.MARKETPLACE, 10),
        (SourceChannel.WECHAT, 8),
        (SourceChannel.POS, 7),
        (SourceChannel.WEB_FORM, 12),
        (SourceChannel.REFERRAL, 8),
        (SourceChannel.TRADE_FAIR, 2),
        (SourceChannel.PHONE, 3),
    ),
    "company": (
        (SourceChannel.TRADE_FAIR, 20),
        (SourceChannel.REFERRAL, 20),
        (SourceChannel.WEB_FORM, 18),
        (SourceChannel.PHONE, 15),
        (SourceChannel.STORE, 10),
        (SourceChannel.ONLINE_SHOP, 10),
        (SourceChannel.WECHAT, 7),
    ),
}


def _draw_plan(scenario: Scenario, index: int, rng: random.Random) -> CustomerPlan:
    """The first draws of a customer's profile stream; the profile continues from here."""
    now_ts = scenario.now.timestamp()
    roll = rng.random()
    if roll < 0.70:
        kind, lang, segment = CustomerKind.PERSON, "zh", "person_zh"
    elif roll < 0.90:
        kind, lang, segment = CustomerKind.PERSON, "en", "person_en"
    else:
        kind, segment = CustomerKind.COMPANY, "company"
        lang = "zh" if rng.random() < 0.7 else "en"
    abroad = lang == "en" and kind == CustomerKind.PERSON and rng.random() < 0.35
    cities = _cities()
    if abroad:
        city_key = -1
    elif lang == "en" and kind == CustomerKind.PERSON:
        city_key = cities.expat_choice(rng)
    else:
        city_key = cities.resident_choice(rng)
    source_channel = _weighted_cached(segment, _SOURCE_CHANNELS[segment])(rng)

    # More customers joined recently than three years ago (the business grew).
    age_days = HISTORY_YEARS * 365 * rng.random() ** 1.4
    created_ts = _at_realistic_hour(rng, now_ts - age_days * DAY, _offset(scenario))
    if created_ts > now_ts - 60:
        created_ts = now_ts - rng.uniform(60, 6 * 3600)  # earlier today, not in the future

    # A shared "engagement" (gamma, mean 1) makes purchases and interactions long-tailed
    # and correlated: many customers buy 0-2 times, a few 20+ times.
    engagement = rng.gammavariate(0.5, 2.0)
    # Companies buy 2.5 times as often; dividing by the mix's average (0.9 + 0.1 * 2.5) keeps
    # the overall mean at scenario.mean_purchases.
    company_factor = (2.5 if kind == CustomerKind.COMPANY else 1.0) / 1.15
    # Scale by how long the customer has been around relative to an average customer
    # (E[u ** 1.4] = 1 / 2.4 of the history).
    tenure = max(age_days, 1.0) / (HISTORY_YEARS * 365 / 2.4)
    n_purchases = _poisson(rng, scenario.mean_purchases * engagement * tenure * company_factor)
    n_purchases = min(n_purchases, 600)
    n_interactions = _poisson(
        rng, scenario.mean_interactions * (0.3 + 0.7 * engagement) * min(tenure, 3.0)
    )
    n_interactions = min(n_interactions, 400)

    # Some customers drift away: their activity stops well before today.
    end_ts = now_ts
    if age_days > 200 and rng.random() < 0.3:
        end_ts = created_ts + (now_ts - 60 * DAY - created_ts) * rng.uniform(0.05, 0.9)
    events = n_purchases + n_interactions
    last_ts = None
    last_is_purchase = False
    if events:
        # The latest of `events` uniform times: u ** (1 / n) is the maximum of n uniforms.
        last_ts = created_ts + (end_ts - created_ts) * rng.random() ** (1 / events)
        last_ts = _at_realistic_hour(rng, last_ts, _offset(scenario))
        if last_ts > now_ts - 60:
            # Later today than now: it happened earlier today instead.
            last_ts = now_ts - rng.uniform(60, 6 * 3600)
        last_ts = max(last_ts, created_ts)
        last_is_purchase = rng.random() < n_purchases / events

    owner_id = _owner_chooser(scenario.owner_weights)(rng)
    n_contacts = 1 + min(int(rng.expovariate(0.8)), 4) if kind == CustomerKind.COMPANY else 0
    basket_mu = rng.gauss(math.log(220_00), 0.55) + (0.4 if kind == CustomerKind.COMPANY else 0)

    duplicate_of = -1
    # ~1.5% of persons registered twice (another channel, another spelling): the duplicate
    # review queue needs real work. Only copies an earlier person of the same language.
    if kind == CustomerKind.PERSON and index > 0 and rng.random() < 0.015:
        candidate = index - 1 - min(int(rng.expovariate(1 / 300)), index - 1)
        other = customer_plan(scenario, candidate)
        if other.kind == CustomerKind.PERSON and other.lang == lang and other.abroad == abroad:
            duplicate_of = candidate

    return CustomerPlan(
        index=index,
        id=scenario.customer_start_id + index,
        kind=kind,
        lang=lang,
        abroad=abroad,
        source_channel=source_channel,
        created_ts=created_ts,
        last_ts=last_ts,
        last_is_purchase=last_is_purchase,
        n_purchases=n_purchases,
        n_interactions=n_interactions,
        n_contacts=n_contacts,
        city_key=city_key,
        owner_id=owner_id,
        basket_mu=basket_mu,
        duplicate_of=duplicate_of,
    )


def _owner_chooser(weights: tuple[tuple[int | None, float], ...]) -> _Weighted:
    return _weighted_cached(("owners", weights), weights)


def customer_plan(scenario: Scenario, index: int) -> CustomerPlan:
    """The plan of customer number ``index`` (0-based), derived from the seed alone."""
    return _draw_plan(scenario, index, random.Random(_seed_of(scenario.seed, index, _PROFILE)))  # noqa: S311  (synthetic data, not security)


def customer_plans(scenario: Scenario, count: int) -> Iterator[CustomerPlan]:
    """Plans of customers 0..count-1 in order: cheap (~15 µs each), so every pass over the
    customers (transactions, interactions, contacts) re-derives them instead of storing them.
    """
    rng = random.Random()  # noqa: S311  (synthetic data, not security)
    for index in range(count):
        rng.seed(_seed_of(scenario.seed, index, _PROFILE))
        yield _draw_plan(scenario, index, rng)
