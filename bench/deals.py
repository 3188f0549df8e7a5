"""Deals at scale: the board for a salesperson (own deals) and an administrator (all), the
dashboards' deal charts and the segment rules on deals, each beside a baseline on the same
table in the same run.

    DATABASE_URL=postgres://.../crm_bench .venv/bin/python bench/deals.py [--deals N] [--repeats 20]

Run after bench/generate.py. Loads `--deals` deals (default: one per loaded customer, so
BENCH_ARGS' --customers scales it; the deals and their bench owners are replaced at each run)
with COPY: spread over the customers, 50 salespeople as owners, the default pipeline's stages
(about 70 % open, 18 % won, 12 % lost), 5 % in another currency, close dates over two years.
The deals table is then vacuumed, as autovacuum does after a bulk insert in production
(index-only scans need its visibility map; bench servers may run with autovacuum off).
Then prints p50 / p95 of:
- the board page (`/deals/`, the default pipeline: the open columns complete, won and lost the
  last 30 days; one aggregate over those deals and the newest cards of each column) through
  Django's test client, for a salesperson and an administrator, twice each: with the column
  totals computed (the first view after a deal was written: sales/deals/board_totals.py) and
  with them from the cache (any other view within its 30 seconds); the baselines are a
  primary-key lookup and an indexed count of one stage's deals on the same table;
- each deal chart of the dashboards computed uncached for the last 12 months;
- counting a segment's members for "has an open deal in stage X" and "won a deal in the last
  90 days", beside counting the customers with a plain condition on the customer table.
Not a test: nothing passes or fails on time.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_otp import DEVICE_ID_SESSION_KEY  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402

from analytics.dashboards.cache import data_version  # noqa: E402
from analytics.dashboards.charts import CHARTS, Scope  # noqa: E402
from analytics.dashboards.periods import PeriodPreset, preset_period  # noqa: E402
from analytics.segments.compilation import matching_customers  # noqa: E402
from analytics.segments.validation import validate  # noqa: E402
from bench.generate import CopyWriter  # noqa: E402
from bench.staff_clients import client_in_role, p50_p95  # noqa: E402
from customers.models import Customer  # noqa: E402
from kernel.table_statistics import analyze_tables  # noqa: E402
from privacy import roles  # noqa: E402
from sales.deals import board_totals  # noqa: E402
from sales.deals.defaults import ensure_default_pipeline  # noqa: E402
from sales.models import Deal, Pipeline, Stage, StageKind  # noqa: E402

SALESPEOPLE = 50
DEAL_CHARTS = ("pipeline", "win-rate", "forecast")
COLUMNS = (
    "version",
    "customer_id",
    "title",
    "amount",
    "currency",
    "expected_close_date",
    "pipeline_id",
    "stage_id",
    "owner_id",
    "notes",
    "lost_reason",
    "won_at",
    "lost_at",
    "closed_at",
    "created_at",
    "updated_at",
)


def _salespeople() -> list[int]:
    """SALESPEOPLE users in the Sales role (bench_deals_0 …), created once."""
    group = Group.objects.get(name=roles.SALES)
    ids = []
    for index in range(SALESPEOPLE):
        user, _created = get_user_model().objects.get_or_create(username=f"bench_deals_{index}")
        user.groups.set([group])
        ids.append(user.pk)
    return ids


def _rows(count: int, owners: list[int], rng: random.Random) -> Iterator[tuple]:
    pipeline = Pipeline.objects.get(is_default=True)
    stages = list(pipeline.stages.order_by("order"))
    open_stages = [s for s in stages if s.kind == StageKind.OPEN]
    won = next(s for s in stages if s.kind == StageKind.WON)
    lost = next(s for s in stages if s.kind == StageKind.LOST)
    ids = Customer.objects.order_by("pk").values_list("pk", flat=True)
    first, last = ids.first(), ids.last()
    now = timezone.now()
    today = timezone.localdate()
    for index in range(count):
        created = now - datetime.timedelta(minutes=rng.randint(0, 730 * 24 * 60))
        draw = rng.random()
        stage = rng.choice(open_stages) if draw < 0.70 else won if draw < 0.88 else lost
        closed = created + (now - created) * rng.random() if stage in (won, lost) else None
        yield (
            1,
            rng.randint(first, last),
            f"Deal {index}",
            f"{rng.randint(1, 50_000)}.00",
            "USD" if rng.random() < 0.05 else settings.DEFAULT_CURRENCY,
            today + datetime.timedelta(days=rng.randint(-180, 540)),
            pipeline.pk,
            stage.pk,
            rng.choice(owners),
            "",
            "",
            closed if stage is won else None,
            closed if stage is lost else None,
            closed,
            created,
            closed or created,
        )


def load(count: int) -> float:
    """Replace the deals by `count` generated ones; returns the seconds it took."""
    began = time.perf_counter()
    ensure_default_pipeline()
    owners = _salespeople()
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE sales_dealstagechange, sales_dealline, sales_deal RESTART IDENTITY"
        )
    writer = CopyWriter()
    rng = random.Random(1)
    rows = _rows(count, owners, rng)
    chunk = 50_000
    written = 0
    while written < count:
        batch = [row for _, row in zip(range(chunk), rows, strict=False)]
        written += writer.write(Deal, COLUMNS, batch)
    analyze_tables([Deal, Stage, Pipeline])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM sales_deal")
    return time.perf_counter() - began


def _second_factor_passed(client, user) -> None:
    """Administrators need two-factor authentication: the bench's session counts as having
    passed the code step, as the test suite's staff client does."""
    device, _created = TOTPDevice.objects.get_or_create(
        user=user, name="bench", defaults={"confirmed": True}
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def _timed(action: Callable[[], object], repeats: int) -> tuple[float, float]:
    action()  # warm-up: connection, templates, plans
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        timings.append((time.perf_counter() - start) * 1000)
    return p50_p95(timings)


def _line(label: str, figures: tuple[float, float], baseline_label: str = "", baseline=None):
    p50, p95 = figures
    text = f"{label:<58}{p50:>10.1f}{p95:>10.1f}"
    if baseline is not None:
        text += f"   {baseline_label}: {baseline[0]:.1f} / {baseline[1]:.1f}"
    print(text)


def _get(client, url: str, *, after_a_write: bool = False) -> Callable[[], None]:
    def action() -> None:
        if after_a_write:
            board_totals.deals_changed()
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    return action


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=0, help="default: one per customer")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument(
        "--reuse", action="store_true", help="keep the deals already loaded (at least one)"
    )
    args = parser.parse_args()
    customers = Customer.objects.count()
    if args.reuse and Deal.objects.exists():
        count = Deal.objects.count()
        print(f"Deals: {count:,} deals on {customers:,} customers, kept from the last run")
    else:
        count = args.deals or customers
        seconds = load(count)
        print(
            f"Deals: {count:,} deals on {customers:,} customers, loaded in {seconds:.1f} s (COPY)"
        )
    repeats = args.repeats
    sales_client, sales_user = client_in_role(roles.SALES, "bench_deals_0")
    admin_client, admin = client_in_role(roles.ADMINISTRATOR, "bench_deals_admin")
    _second_factor_passed(admin_client, admin)
    stage = Pipeline.objects.get(is_default=True).stages.filter(kind=StageKind.OPEN).first()
    some_deal = Deal.objects.order_by("-pk").values_list("pk", flat=True).first()
    baseline_pk = _timed(lambda: Deal.objects.filter(pk=some_deal).first(), repeats)
    baseline_count = _timed(lambda: Deal.objects.filter(stage=stage).count(), repeats)
    own = Deal.objects.filter(owner=sales_user).count()
    print(f"{'ms':<58}{'p50':>10}{'p95':>10}   baseline p50 / p95")
    for label, client, baseline_label, baseline in (
        (f"salesperson ({own:,} own deals)", sales_client, "primary-key lookup", baseline_pk),
        ("administrator (all deals)", admin_client, "indexed count of one stage", baseline_count),
    ):
        _line(
            f"board, {label}, totals computed",
            _timed(_get(client, "/deals/", after_a_write=True), repeats),
            baseline_label,
            baseline,
        )
        _line(
            f"board, {label}, totals cached",
            _timed(_get(client, "/deals/"), repeats),
            baseline_label,
            baseline,
        )
    version = data_version()
    scope = Scope(
        period=preset_period(PeriodPreset.LAST_12_MONTHS, reference=version.reference_date),
        as_of=version.as_of,
    )
    for key in DEAL_CHARTS:
        chart = CHARTS[key]
        _line(
            f"dashboard chart: {key} (uncached)",
            _timed(lambda c=chart: c.compute(scope), max(3, repeats // 4)),
            "indexed count of one stage",
            baseline_count,
        )
    plain = {"match": "all", "rules": [{"field": "kind", "operator": "is", "value": "company"}]}
    baseline_segment = _timed(
        lambda: matching_customers(validate(plain)).count(), max(3, repeats // 4)
    )
    for label, rule in (
        (
            "segment count: open deal in a stage",
            {"field": "open_deal", "operator": "has", "value": {"stage": stage.pk}},
        ),
        (
            "segment count: won a deal, last 90 days",
            {"field": "deal_won", "operator": "yes", "value": {"days": 90}},
        ),
    ):
        rules = {"match": "all", "rules": [rule]}
        _line(
            label,
            _timed(lambda r=rules: matching_customers(validate(r)).count(), max(3, repeats // 4)),
            "customers of one kind",
            baseline_segment,
        )


if __name__ == "__main__":
    main()
