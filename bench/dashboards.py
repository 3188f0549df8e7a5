"""Dashboard latency: the page and each chart fragment, cold beside warm, in the same run.

    DATABASE_URL=postgres://.../crm_bench .venv/bin/python bench/dashboards.py [--repeats 20]

Requests go through Django's test client logged in as an Analyst, for the default period
(last 12 months) and for all time. Baseline: each chart computed cold, the cache cleared before
its request (what the first reader after a refresh would wait for if nothing were warmed).
Product: the same request answered from the cache, as after `warm_dashboards()` (timed too:
what the nightly task adds after the refresh). The page itself computes nothing and is timed
once per period. Needs a finished metrics refresh (bench/metrics.py or `manage.py
refresh_metrics`); without one the figures run up to now. Not a test: nothing passes or fails
on time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

import django

django.setup()

from django.core.cache import cache  # noqa: E402
from django.test import Client  # noqa: E402

from analytics.dashboards.cache import data_version, warm_dashboards  # noqa: E402
from analytics.dashboards.charts import CHARTS  # noqa: E402
from bench.staff_clients import client_in_role, p50_p95  # noqa: E402
from customers.models import Customer  # noqa: E402
from interactions.models import Interaction, Transaction  # noqa: E402
from privacy import roles  # noqa: E402

PERIODS = ("12m", "all")


def _get_ms(client: Client, url: str) -> float:
    start = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - start) * 1000
    assert response.status_code == 200, (url, response.status_code)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    client, _user = client_in_role(roles.ANALYST, "bench_analyst")
    version = data_version()
    print(
        f"Dashboards: {Customer.objects.count():,} customers, "
        f"{Transaction.objects.count():,} transactions, {Interaction.objects.count():,} "
        f"interactions; figures as of {version.as_of:%Y-%m-%d %H:%M} "
        f"({'refresh #' + str(version.run_id) if version.run_id else 'no refresh yet'})"
    )
    print(f"{'request':<34}{'period':>7}{'cold ms':>10}{'warm p50':>10}{'warm p95':>10}")
    _get_ms(client, "/dashboards/")  # first request: templates and URL resolvers load
    for period in PERIODS:
        cache.clear()
        timings = [_get_ms(client, f"/dashboards/?period={period}") for _ in range(args.repeats)]
        p50, p95 = p50_p95(timings)
        print(f"{'page (computes nothing)':<34}{period:>7}{'':>10}{p50:>10.1f}{p95:>10.1f}")
        for key in CHARTS:
            url = f"/dashboards/charts/{key}/?period={period}"
            cache.clear()
            cold = _get_ms(client, url)
            warm = [_get_ms(client, url) for _ in range(args.repeats)]
            p50, p95 = p50_p95(warm)
            print(f"{'chart: ' + key:<34}{period:>7}{cold:>10.1f}{p50:>10.1f}{p95:>10.1f}")
    cache.clear()
    began = time.perf_counter()
    charts = warm_dashboards()
    print(
        f"warm_dashboards(): {charts} charts (every preset, every segment's default) in "
        f"{time.perf_counter() - began:.1f} s"
    )


if __name__ == "__main__":
    main()
