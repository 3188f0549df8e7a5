"""The API's list and search latency at scale, beside the customer list page on the same
queries in the same run.

    DATABASE_URL=postgres://.../crm_bench .venv/bin/python bench/api.py [--samples 40]

Run after bench/generate.py. For each kind of search query (sampled from the loaded customers as
bench/search.py samples them) it prints p50 / p95 of:
- `API`: GET /api/v1/customers/?q=… with an API key (a Service role service account): the
  whole request through Django's test client (middleware, key check, rate limit, search, the
  first cursor page of 50, JSON);
- `page`: the customer list page on the same query (the baseline: what staff wait for).
Then the list without a search: the first page, a page 100 pages deep (following `next`
cursors), and a filter (lifecycle stage), each beside the list page with the same filter.
Not a test: nothing passes or fails on time.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from accounts.api_keys import create_api_key, create_service_account  # noqa: E402
from bench.search import _percentiles, _sample_queries  # noqa: E402
from bench.staff_clients import service_client  # noqa: E402
from customers.models import Customer  # noqa: E402
from customers.views import SEARCHES_SESSION_KEY  # noqa: E402
from privacy import roles  # noqa: E402

DEEP_PAGES = 100


def _api_client() -> APIClient:
    account = get_user_model().objects.filter(username="bench_api").first()
    if account is None:
        account = create_service_account(
            actor=None, username="bench_api", groups=[Group.objects.get(name=roles.SERVICE)]
        )
    secret = create_api_key(actor=None, account=account, name="bench").secret
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def _timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    response = function()
    elapsed = (time.perf_counter() - start) * 1000
    assert response.status_code == 200, response.status_code
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    page_client, _user = service_client()
    session = page_client.session
    api = _api_client()
    # A rate limit is per key; the benchmark's own calls must not be throttled.
    settings.API_RATE_LIMIT = "1000000/min"

    queries = _sample_queries(random.Random(args.seed), args.samples)
    total = Customer.objects.count()
    print(f"Database: {connection.vendor}, {total:,} customers; {args.samples} queries per kind")
    print("milliseconds, server side; p50 and p95 per kind\n")
    print(f"{'search kind':<28}{'API p50 p95':>16}{'page p50 p95':>16}")
    for kind, values in queries.items():
        through_api, through_page = [], []
        for query in values:
            session[SEARCHES_SESSION_KEY] = {"bench": query}
            session.save()
            through_api.append(_timed(lambda q=query: api.get("/api/v1/customers/", {"q": q})))
            through_page.append(_timed(lambda: page_client.get("/customers/", {"search": "bench"})))
        print(f"{kind:<28}{_percentiles(through_api):>16}{_percentiles(through_page):>16}")

    print(f"\n{'list':<28}{'API p50 p95':>16}{'page p50 p95':>16}")
    first_api = [_timed(lambda: api.get("/api/v1/customers/")) for _ in range(args.samples)]
    first_page = [_timed(lambda: page_client.get("/customers/")) for _ in range(args.samples)]
    print(f"{'first page':<28}{_percentiles(first_api):>16}{_percentiles(first_page):>16}")
    deep_api, deep_page = _deep_pages(api, page_client)
    print(
        f"{f'pages 2..{DEEP_PAGES}':<28}{_percentiles(deep_api):>16}{_percentiles(deep_page):>16}"
    )
    for stage in ("lead", "customer", "churned"):
        by_api = [
            _timed(lambda s=stage: api.get("/api/v1/customers/", {"lifecycle_stage": s}))
            for _ in range(max(5, args.samples // 4))
        ]
        by_page = [
            _timed(lambda s=stage: page_client.get("/customers/", {"lifecycle_stage": s}))
            for _ in range(max(5, args.samples // 4))
        ]
        label = f"filter stage={stage}"
        print(f"{label:<28}{_percentiles(by_api):>16}{_percentiles(by_page):>16}")
    return 0


def _deep_pages(api: APIClient, page_client) -> tuple[list[float], list[float]]:
    """Each next page, DEEP_PAGES deep, by the API's cursor and by the page's keyset link
    from the same position."""
    through_api, through_page = [], []
    url = api.get("/api/v1/customers/").json()["next"]
    for _page in range(DEEP_PAGES - 1):
        if url is None:
            break
        path = urlsplit(url)
        start = time.perf_counter()
        body = api.get(path.path + "?" + path.query).json()
        through_api.append((time.perf_counter() - start) * 1000)
        url = body["next"]
        last_id = body["results"][-1]["id"]
        start = time.perf_counter()
        response = page_client.get("/customers/", {"after": last_id})
        through_page.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    return through_api, through_page


if __name__ == "__main__":
    sys.exit(main())
