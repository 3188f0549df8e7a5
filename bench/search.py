"""Search and list latency at scale, beside a plain `icontains` baseline on the same data.

    DATABASE_URL=postgres://.../crm_bench .venv/bin/python bench/search.py [--samples 40]
        [--follow-ups N]

Run after bench/generate.py, which makes no follow-ups: `--follow-ups N` (PostgreSQL) replaces
them with about N, one per customer spread over the id range, titled with a phrase and the
customer's name ("回访 王小明", "Call Grace Lee"), a fifth open, so that the top bar's tasks group
has something to search (load deals for its deals group with bench/deals.py).

Queries are sampled from the loaded customers (a 3-character part
of a Chinese name, a Latin surname part, a 2-character Chinese name start, the last 4 digits of
a phone, a whole phone as typed, part of an email with and without "@", a Chinese name spelt in
pinyin, given name first: "Jiawei Yu"). For each kind it prints p50 / p95 of:
- `view`: the whole customer-list request through Django's test client (middleware, session,
  search, first page of 50, template) — the server time a user waits for;
- `ORM`: the first page of the project's search (search_customers + keyset page);
- `icontains`: the first page of the naive search a CRM starts with,
  `name|phone|email|company ICONTAINS q ORDER BY id DESC LIMIT 51`, on the same queries;
- `top bar`: the top bar's search as you type (crm/search.py), the whole suggestions request
  through the test client: every group (customers, contacts, tasks, and any group added) for
  the same query, measured in the same run as the list; then each group's provider alone
  (`top bar, per group`), to tell which one the time goes to. Alone, the customers and deals
  groups each read the matching customers, which the whole request reads once for both.
Then the places the segment builder suggests (customers.selectors.common_places, uncached:
a GROUP BY over the partial city / province indexes) beside the same query with index scans
switched off (PostgreSQL; the sequential scan a table without the indexes gets).
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

import django

django.setup()

from django.core.cache import cache  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Q  # noqa: E402

from analytics.segments.vocabulary import PLACE_FIELDS  # noqa: E402
from bench.staff_clients import p50_p95, service_client  # noqa: E402
from crm.search import SEARCH_GROUPS, SUGGESTION_LIMIT, SearchRequest  # noqa: E402
from customers.models import Customer  # noqa: E402
from customers.normalize import normalize_name  # noqa: E402
from customers.selectors import (  # noqa: E402
    CustomerOrder,
    common_places,
    customer_page,
    newest_matches,
    search_customers,
)
from customers.views import PAGE_SIZE, SEARCHES_SESSION_KEY  # noqa: E402
from interactions.models import FollowUp  # noqa: E402
from kernel.table_statistics import analyze_tables  # noqa: E402

TOP_BAR_SUGGESTIONS = "/search/suggestions/"


def _sample_queries(rng: random.Random, samples: int) -> dict[str, list[str]]:
    """Real values from the loaded data, spread over the id range."""
    top = Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    picks = [rng.randint(1, top) for _ in range(samples * 30)]
    rows = list(
        Customer.objects.filter(pk__in=picks).values(
            "name", "name_pinyin", "phone", "phone_raw", "email"
        )
    )
    rng.shuffle(rows)

    def take(values: list[str]) -> list[str]:
        return values[:samples]

    chinese_rows = [r for r in rows if "\u4e00" <= r["name"][:1] <= "\u9fff"]
    chinese = [r["name"] for r in chinese_rows]
    latin = [r["name"] for r in rows if r["name"][:1].isascii() and " " in r["name"]]
    return {
        "name, 3 Chinese chars": take([n[:3] for n in chinese if len(n) >= 3]),
        "name, 2 Chinese chars": take([n[:2] for n in chinese]),
        "name, Latin part": take([n.split()[-1][:5] for n in latin]),
        "phone, last 4 digits": take([r["phone"][-4:] for r in rows if r["phone"]]),
        "phone, as typed": take([r["phone_raw"] for r in rows if r["phone_raw"]]),
        "email, part": take([r["email"].split("@")[0][:6] + "@" for r in rows if r["email"]]),
        "email, part without @": take(
            [r["email"].split("@")[0][:6] for r in rows if len(r["email"].split("@")[0]) >= 3]
        ),
        "name, pinyin given first": take([_given_first(r["name_pinyin"]) for r in chinese_rows]),
    }


def _given_first(name_pinyin: str) -> str:
    """王小明 ("wang xiao ming") as an English form writes it: "Xiaoming Wang"."""
    family, *given = name_pinyin.split()
    return f"{''.join(given).title()} {family.title()}"


FOLLOW_UP_PHRASES = ("回访", "发送报价给", "续约提醒", "Call", "Send the quote to", "Visit")


def _load_follow_ups(count: int, assignee) -> None:
    """About `count` follow-ups instead of the ones there are, one per customer (every n-th)."""
    if connection.vendor != "postgresql":
        raise SystemExit("--follow-ups needs PostgreSQL")
    total = Customer.objects.count()
    step = max(1, total // max(count, 1))
    phrases = ", ".join(f"'{phrase}'" for phrase in FOLLOW_UP_PHRASES)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM interactions_followup")
        cursor.execute(
            f"""
            INSERT INTO interactions_followup
                (title, notes, due_at, done_at, created_at, assignee_id, customer_id, version)
            SELECT (ARRAY[{phrases}])[1 + mod(c.id, {len(FOLLOW_UP_PHRASES)})] || ' ' || c.name, '',
                now() + (mod(c.id, 400) - 300) * interval '1 day',
                CASE WHEN mod(c.id, 5) = 0 THEN NULL ELSE now() END, now(), %s, c.id, 0
            FROM customers_customer c
            WHERE mod(c.id, %s) = 0
            """,
            [assignee.pk, step],
        )
    analyze_tables([FollowUp])


def _project_page(user, query: str) -> list[Customer]:
    matches = newest_matches(search_customers(user=user, query=query))
    return customer_page(
        Customer.objects.filter(pk__in=matches),
        order=CustomerOrder.NEWEST,
        after=None,
        size=PAGE_SIZE,
    )[0]


def _naive_page(query: str) -> list[Customer]:
    condition = (
        Q(name__icontains=query)
        | Q(phone__icontains=query)
        | Q(email__icontains=query)
        | Q(company_name__icontains=query)
    )
    return list(
        Customer.objects.filter(condition, merged_into__isnull=True).order_by("-pk")[
            : PAGE_SIZE + 1
        ]
    )


def _timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return (time.perf_counter() - start) * 1000


def _percentiles(values: list[float]) -> str:
    if not values:
        return "          –"
    p50, p95 = p50_p95(values)
    return f"{p50:7.1f} {p95:7.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--follow-ups", type=int, default=None)
    args = parser.parse_args()
    client, user = service_client()
    session = client.session
    if args.follow_ups is not None:
        _load_follow_ups(args.follow_ups, user)

    queries = _sample_queries(random.Random(args.seed), args.samples)
    total = Customer.objects.count()
    print(
        f"Database: {connection.vendor}, {total:,} customers, "
        f"{FollowUp.objects.count():,} follow-ups; {args.samples} queries per kind"
    )
    print("milliseconds; p50 and p95 per kind; view = whole request, server side\n")
    print(
        f"{'query kind':<24}{'view p50 p95':>16}{'ORM p50 p95':>16}{'icontains p50 p95':>20}"
        f"{'top bar p50 p95':>18}"
    )
    groups: dict[str, dict[str, list[float]]] = {
        kind: {group.kind: [] for group in SEARCH_GROUPS} for kind in queries
    }
    for kind, values in queries.items():
        view, orm, naive, top_bar = [], [], [], []
        for query in values:
            session[SEARCHES_SESSION_KEY] = {"bench": query}
            session.save()
            orm.append(_timed(lambda query=query: _project_page(user, query)))
            view.append(_timed(lambda: client.get("/customers/", {"search": "bench"})))
            naive.append(_timed(lambda query=query: _naive_page(query)))
            top_bar.append(
                _timed(lambda query=query: client.post(TOP_BAR_SUGGESTIONS, {"q": query}))
            )
            for group in SEARCH_GROUPS:
                groups[kind][group.kind].append(
                    _timed(
                        lambda group=group, query=query: group.provider(
                            SearchRequest(
                                user=user, query=normalize_name(query), limit=SUGGESTION_LIMIT
                            )
                        )
                    )
                )
        print(
            f"{kind:<24}{_percentiles(view):>16}{_percentiles(orm):>16}{_percentiles(naive):>20}"
            f"{_percentiles(top_bar):>18}"
        )
    _groups(groups)
    _places()
    return 0


def _groups(groups: dict[str, dict[str, list[float]]]) -> None:
    kinds = [group.kind for group in SEARCH_GROUPS]
    print(f"\n{'top bar, per group':<24}" + "".join(f"{kind + ' p50 p95':>18}" for kind in kinds))
    for query_kind, timings in groups.items():
        print(f"{query_kind:<24}" + "".join(f"{_percentiles(timings[kind]):>18}" for kind in kinds))


def _places() -> None:
    print(f"\n{'builder places':<24}{'indexed':>16}{'no index scan':>16}{'cached':>20}")
    for field in PLACE_FIELDS:
        indexed, scanned, cached = [], [], []
        for _round in range(5):
            cache.delete(f"customers:common_places:{field}")
            indexed.append(_timed(lambda field=field: common_places(field)))
            cached.append(_timed(lambda field=field: common_places(field)))
            if connection.vendor == "postgresql":
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute("SET LOCAL enable_indexscan = off")
                    cursor.execute("SET LOCAL enable_indexonlyscan = off")
                    cursor.execute("SET LOCAL enable_bitmapscan = off")
                    cache.delete(f"customers:common_places:{field}")
                    scanned.append(_timed(lambda field=field: common_places(field)))
        print(
            f"{field:<24}{_percentiles(indexed):>16}{_percentiles(scanned):>16}"
            f"{_percentiles(cached):>20}"
        )


if __name__ == "__main__":
    sys.exit(main())
