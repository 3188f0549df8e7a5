"""Seeded random draws that every generator shares: the customer's independent streams,
weighted choice, Poisson counts and plausible hours of the day (demo/data/__init__.py says why
each customer has streams of its own)."""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Iterable
from decimal import Decimal

DAY = 86_400.0
HISTORY_YEARS = 3

# Independent random streams per customer (see demo/data/__init__.py).
_PROFILE, _HISTORY, _INTERACTIONS, _CONTACTS, _TAGS = range(5)


# --- Weighted choice ---------------------------------------------------------------------------


class _Weighted:
    """Weighted choice by bisection on cumulative weights: one ``random()`` per draw, about
    four times faster than ``rng.choices`` for the thousands of draws per second we need."""

    __slots__ = ("_cum", "_total", "values")

    def __init__(self, pairs: Iterable[tuple[object, float]]) -> None:
        pairs = list(pairs)
        self.values = [value for value, _weight in pairs]
        self._cum = list(itertools.accumulate(weight for _value, weight in pairs))
        self._total = self._cum[-1]

    def __call__(self, rng: random.Random):
        return self.values[bisect.bisect_right(self._cum, rng.random() * self._total)]


# Local hour of day at which things happen (shops open 10-22, phones ring in office hours).
_HOUR_OF_DAY = _Weighted(
    zip(
        range(24),
        (1, 0.5, 0.3, 0.2, 0.2, 0.3, 1, 2, 4, 6, 8, 9, 9, 8, 8, 8, 8, 8, 9, 10, 10, 8, 5, 2),
        strict=True,
    )
)  # fmt: skip


# --- Small helpers -----------------------------------------------------------------------------


def _seed_of(seed: int, index: int, stream: int) -> int:
    # Distinct (seed, index, stream) give distinct integers, hence independent MT19937 states.
    return ((seed * 0x1_0000_0000) + index) * 8 + stream


def _cents(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _poisson(rng: random.Random, lam: float) -> int:
    """Poisson draw: inversion for the small means we mostly see, normal beyond 30."""
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    threshold, count, product = math.exp(-lam), 0, rng.random()
    while product > threshold:
        count += 1
        product *= rng.random()
    return count


def _at_realistic_hour(rng: random.Random, ts: float, offset: float) -> float:
    """Keep the local day of ``ts`` but move it to a plausible hour of that day."""
    day_start = ts - (ts + offset) % DAY
    return day_start + _HOUR_OF_DAY(rng) * 3600 + rng.random() * 3600


def _clamp(ts: float, low: float, high: float) -> float:
    return low if ts < low else high if ts > high else ts


_WEIGHTED_CACHE: dict[object, _Weighted] = {}


def _weighted_cached(key: object, pairs: Iterable[tuple[object, float]]) -> _Weighted:
    chooser = _WEIGHTED_CACHE.get(key)
    if chooser is None:
        chooser = _WEIGHTED_CACHE[key] = _Weighted(pairs)
    return chooser
