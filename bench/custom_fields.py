"""Custom fields at scale: the customer list filtered and sorted by custom values, and imports
and exports with custom columns, each beside the same without custom fields, in one run.

    DATABASE_URL=postgres://.../crm_bench .venv/bin/python bench/custom_fields.py

On the customers already loaded (bench/generate.py: 1M), it defines 20 custom fields of every
type (choices, several choices, numbers, amounts, dates, yes / no, text, a colleague, a
personal and a sensitive text), fills them for every customer in one UPDATE (generated from
the id, so the same data each run), and builds the fields' order indexes as the product's task
does. Then:

1. The customer list, whole request as a Service user, p50 / p95 over rotating values: filtered
   by a custom choice, by a custom number range, and sorted by a custom number, beside the
   built-in lifecycle-stage filter and the name order on the same page.
2. Import: a messy --import-rows customer CSV (bench/imports.py's) with and without five custom
   columns (labels in Chinese), end to end as the worker runs it, each in its own process.
3. Export: every customer to CSV with bench/exports.py's columns, and with the 20 custom
   columns added, each in its own process.

Rows written by the imports are removed afterwards; the custom fields and values stay (a later
run reuses them). Not a test: nothing passes or fails on time.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

from bench.processes import answer_case, measure_in_own_process, rate_line

# (English label, Chinese label, type, settings): the 20 fields, as a shop might define them.
# Choices as (English, Chinese) labels: a file names them in either language.
LEVELS = [
    ("Bronze", "铜卡"), ("Silver", "银卡"), ("Gold", "金卡"), ("Platinum", "白金卡"),
    ("Diamond", "钻石卡"),
]  # fmt: skip
INTERESTS = [
    ("Tea", "茶"), ("Wine", "酒"), ("Travel", "旅行"), ("Sports", "运动"), ("Books", "图书"),
    ("Music", "音乐"),
]  # fmt: skip
FIELDS = [
    ("Membership level", "会员等级", "choice", {"choices": LEVELS, "listed": True}),
    ("Store", "门店", "choice", {"choices": [f"Store {n}" for n in range(1, 41)]}),
    ("Preferred channel", "偏好渠道", "choice", {"choices": ["WeChat", "Phone", "Email", "Store"]}),
    ("Skin type", "肤质", "choice", {"choices": ["Dry", "Oily", "Mixed", "Sensitive"]}),
    ("Interests", "兴趣", "choices", {"choices": INTERESTS}),
    ("Sizes bought", "购买尺码", "choices", {"choices": ["S", "M", "L", "XL"]}),
    ("Points", "积分", "number", {"listed": True}),
    ("Shoe size", "鞋码", "number", {"decimals": 1}),
    ("Children", "子女数", "number", {}),
    ("Deposit", "储值余额", "money", {}),
    ("Credit limit", "信用额度", "money", {}),
    ("Member since", "入会日期", "date", {"listed": True}),
    ("Last store visit", "最近到店", "date", {}),
    ("Anniversary", "纪念日", "date", {}),
    ("Newsletter", "订阅简报", "yes_no", {}),
    ("Club member", "俱乐部会员", "yes_no", {}),
    ("Referral code", "推荐码", "text", {"identifying": True}),
    ("Company department", "所在部门", "text", {}),
    ("WeChat id", "微信号", "text", {"sensitivity": "personal"}),
    ("Health notes", "健康备注", "text", {"sensitivity": "sensitive"}),
]  # fmt: skip
IMPORT_CUSTOM_COLUMNS = ["会员等级", "积分", "入会日期", "兴趣", "微信号"]
EXPORT_COLUMNS = [
    "name", "gender", "birth_date", "phone", "email", "province", "city", "company_name",
    "lifecycle_stage", "value_grade", "source_channel", "owner", "tags",
]  # fmt: skip
REQUESTS = 60
# Imports and exports, each without and with custom columns: (title, [(case, label)]).
FILE_CASES = [
    ("import", [("import-plain", "without custom columns"), ("import-custom", "5 custom columns")]),
    ("export (CSV)", [("export-plain", "13 built-in columns"), ("export-custom", "and 20 custom")]),
]


def _setup(options) -> dict:
    """The fields, and a value of each for every customer (sealed ones excepted: a sealed value
    is encrypted one by one, which bench/privacy.py's figures already cover)."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from customers.custom_fields import services
    from customers.custom_fields.indexes import build_missing_order_indexes
    from customers.custom_fields.models import FieldDefinition
    from kernel.table_statistics import analyze_tables

    admin, _ = get_user_model().objects.get_or_create(
        username="bench-fields", defaults={"is_superuser": True}
    )
    for label_en, label_zh, kind, settings in FIELDS:
        if FieldDefinition.objects.filter(target="customer", label_en=label_en).exists():
            continue
        choices = [
            services.ChoiceSpec(*label) if isinstance(label, tuple) else services.ChoiceSpec(label)
            for label in settings.get("choices", [])
        ]
        options_ = {k: v for k, v in settings.items() if k != "choices"}
        services.save_field(
            actor=admin,
            target="customer",
            label_en=label_en,
            label_zh=label_zh,
            type=kind,
            choices=choices,
            **options_,
        )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(_FILL_SQL)
        filled = cursor.rowcount
    fill_seconds = time.perf_counter() - started
    started = time.perf_counter()
    built = build_missing_order_indexes()
    index_seconds = time.perf_counter() - started
    analyze_tables(["customers_customer"])
    return {
        "filled": filled,
        "fill_seconds": fill_seconds,
        "indexes": built,
        "index_seconds": index_seconds,
    }


# Values from the id (deterministic). Keys as save_field makes them from the English labels.
_FILL_SQL = """
UPDATE customers_customer SET custom = jsonb_strip_nulls(jsonb_build_object(
  'membership_level', (ARRAY['bronze','silver','gold','platinum','diamond'])[1 + (id * 7) % 5],
  'store', 'store_' || (1 + (id * 13) % 40),
  'preferred_channel', (ARRAY['wechat','phone','email','store'])[1 + (id * 3) % 4],
  'skin_type', CASE WHEN id % 3 = 0 THEN (ARRAY['dry','oily','mixed','sensitive'])[1 + id % 4] END,
  'interests', to_jsonb(ARRAY(
    SELECT interest
    FROM unnest(ARRAY['tea','wine','travel','sports','books','music'])
      WITH ORDINALITY AS t(interest, n)
    WHERE (id >> n::int) % 2 = 1 ORDER BY 1)),
  'sizes_bought', to_jsonb(ARRAY[(ARRAY['l','m','s','xl'])[1 + id % 4]]),
  'points', ((id * 37) % 20000)::text,
  'shoe_size', (35 + (id % 12))::text || '.' || (CASE WHEN id % 2 = 0 THEN '0' ELSE '5' END),
  'children', CASE WHEN id % 4 = 0 THEN (id % 3)::text END,
  'deposit', ((id * 11) % 500000)::text || '.' || lpad(((id * 7) % 100)::text, 2, '0'),
  'credit_limit', CASE WHEN id % 5 = 0 THEN ((id % 50) * 1000)::text || '.00' END,
  'member_since', to_char(date '2015-01-01' + ((id * 17) % 3900)::int, 'YYYY-MM-DD'),
  'last_store_visit', CASE WHEN id % 2 = 0
    THEN to_char(date '2024-01-01' + (id % 700)::int, 'YYYY-MM-DD') END,
  'anniversary', CASE WHEN id % 6 = 0
    THEN to_char(date '2000-01-01' + (id % 9000)::int, 'YYYY-MM-DD') END,
  'newsletter', (id % 3 = 0),
  'club_member', (id % 10 = 0),
  'referral_code', 'R' || lpad(id::text, 8, '0'),
  'company_department', CASE WHEN id % 8 = 0
    THEN (ARRAY['Sales','Finance','IT','HR'])[1 + id % 4] END,
  'wechat_id', CASE WHEN id % 2 = 1 THEN 'wx_' || id END
))
"""


def _list_case(options) -> dict:
    """p50 / p95 of the customer list's whole request per kind of query (this process)."""
    from django.urls import reverse

    from bench.staff_clients import p50_p95, service_client

    client, _user = service_client()
    url = reverse("customers:list")
    levels = ["bronze", "silver", "gold", "platinum", "diamond"]
    stages = ["lead", "prospect", "customer", "repeat", "at_risk"]
    kinds = {
        "built-in choice (stage)": lambda n: {"lifecycle_stage": stages[n % 5]},
        "custom choice (level)": lambda n: {"custom_membership_level": levels[n % 5]},
        "custom choice and stage": lambda n: {
            "custom_membership_level": levels[n % 5],
            "lifecycle_stage": stages[(n + 1) % 5],
        },
        "custom number range": lambda n: {
            "custom_points_min": str(1000 * (n % 15)),
            "custom_points_max": str(1000 * (n % 15) + 500),
        },
        "built-in order (name)": lambda n: {"order": "name"},
        "custom order (points)": lambda n: {"order": "custom:points"},
    }
    figures = {}
    for kind, params in kinds.items():
        client.get(url, params(0))  # warm
        timings = []
        for n in range(REQUESTS):
            started = time.perf_counter()
            response = client.get(url, params(n))
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
        figures[kind] = p50_p95(timings)
    return {"percentiles": figures}


def _import_file(path: Path, rows: int, *, custom: bool) -> None:
    from bench.imports import write_file

    plain = path.with_suffix(".plain.csv")
    if not plain.exists():
        write_file(plain, rows, seed=3)
    if not custom:
        path.write_bytes(plain.read_bytes())
        return
    with (
        plain.open(encoding="utf-8-sig", newline="") as source,
        path.open("w", encoding="utf-8-sig", newline="") as target,
    ):
        reader, writer = csv.reader(source), csv.writer(target)
        writer.writerow([*next(reader), *IMPORT_CUSTOM_COLUMNS])
        for index, row in enumerate(reader):
            writer.writerow(
                [
                    *row,
                    ["铜卡", "Silver", "gold", "白金卡", ""][index % 5],
                    f"{index % 9000:,}",
                    f"20{10 + index % 14}/{1 + index % 12}/{1 + index % 28}",
                    ["茶、旅行", "Wine, Books", "", "运动"][index % 4],
                    f"wx{index}" if index % 3 else "",
                ]
            )


def _import_case(case: str, options) -> dict:
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from bench.imports import product_import, remove_rows_after
    from customers.models import Customer

    settings.MEDIA_ROOT = settings.BASE_DIR / "var" / "bench" / "media"
    path = settings.BASE_DIR / "var" / "bench" / f"custom-import-{case}-{options.import_rows}.csv"
    if not path.exists():
        _import_file(path, options.import_rows, custom=case == "import-custom")
    actor, _ = get_user_model().objects.get_or_create(
        username="bench-importer", defaults={"is_superuser": True, "is_staff": True}
    )
    last_id = Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    try:
        seconds, job = product_import(path, actor)
    finally:
        remove_rows_after(last_id)
    return {
        "rows": options.import_rows,
        "seconds": seconds,
        "created": job.rows_created,
        "failed": job.rows_failed,
    }


def _export_case(case: str, options) -> dict:
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from analytics.exports.columns import export_columns
    from analytics.exports.jobs import EXPORT_JOBS
    from analytics.exports.services import start_export

    settings.MEDIA_ROOT = settings.BASE_DIR / "var" / "bench" / "media"
    admin, _ = get_user_model().objects.get_or_create(
        username="bench-exporter", defaults={"is_superuser": True}
    )
    columns = list(EXPORT_COLUMNS)
    if case == "export-custom":
        columns += [column.key for column in export_columns() if column.field is not None]
    started = time.perf_counter()
    job = start_export(actor=admin, params={}, columns=columns, format="csv", queue=False)
    EXPORT_JOBS.run(job.pk)
    job.refresh_from_db()
    seconds = time.perf_counter() - started
    job.file.delete()
    return {"rows": job.rows_done, "columns": len(columns), "seconds": seconds}


def _convert_case(options) -> dict:
    """A change of a field's settings that rewrites every stored value (the shoe size's
    decimals, 1 -> 2 -> 1: "38.5" -> "38.50" -> "38.5"), as the settings page makes it and
    its job (customers/custom_fields/conversion.py) carries it out, check pass included,
    beside a plain UPDATE rewriting the same values in SQL."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from customers.custom_fields import services
    from customers.custom_fields.conversion import CONVERSIONS, active_conversion
    from customers.custom_fields.models import FieldDefinition

    admin = get_user_model().objects.get(username="bench-fields")
    field = FieldDefinition.objects.get(target="customer", key="shoe_size")
    figures = {}
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE customers_customer SET custom = jsonb_set(custom, '{shoe_size}', "
            "to_jsonb((custom->>'shoe_size') || '0')) WHERE custom ? 'shoe_size'"
        )
        figures["sql"] = (cursor.rowcount, time.perf_counter() - started)
        transaction.set_rollback(True)
    for decimals in (2, 1):
        started = time.perf_counter()
        field = services.save_field(
            actor=admin,
            target="customer",
            field=field,
            label_en=field.label_en,
            type=field.type,
            decimals=decimals,
            queue=False,
        )
        job = CONVERSIONS.run_here(active_conversion(field))
        assert job.status == "done", job.failure
        field.refresh_from_db()
        figures[f"to {decimals}"] = (job.values_converted, time.perf_counter() - started)
    return figures


CASES = {
    "convert": _convert_case,
    "setup": _setup,
    "list": _list_case,
    "import-plain": lambda options: _import_case("import-plain", options),
    "import-custom": lambda options: _import_case("import-custom", options),
    "export-plain": lambda options: _export_case("export-plain", options),
    "export-custom": lambda options: _export_case("export-custom", options),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if answer_case(CASES, options):
        return
    extra = ["--import-rows", str(options.import_rows)]
    print("Custom fields: 20 fields on every customer (each case in its own process)")
    setup = measure_in_own_process(__file__, "setup", *extra)
    print(
        f"  values written for {setup['filled']:,} customers in one UPDATE: "
        f"{setup['fill_seconds']:.1f} s; {setup['indexes']} order indexes built "
        f"(CREATE INDEX CONCURRENTLY): {setup['index_seconds']:.1f} s"
    )
    print("\n  customer list, whole request, ms       p50     p95")
    listing = measure_in_own_process(__file__, "list", *extra)["percentiles"]
    for kind, (p50, p95) in listing.items():
        print(f"  {kind:36} {p50:7.1f} {p95:7.1f}")
    converted = measure_in_own_process(__file__, "convert", *extra)
    rows, seconds = converted["sql"]
    print(f"\n  a change of settings rewriting every value (shoe size decimals), {rows:,} values")
    print(f"    baseline: one SQL UPDATE of the same values      {seconds:7.1f} s")
    for case in ("to 2", "to 1"):
        values, seconds = converted[case]
        print(
            f"    product: decimals {case} (job: check, then rewrite)  {seconds:7.1f} s  "
            f"{values:,} values rewritten"
        )
    for title, cases in FILE_CASES:
        print(f"\n  {title}")
        for case, label in cases:
            figures = measure_in_own_process(__file__, case, *extra)
            print(f"    {rate_line(label, figures, width=28)}")


if __name__ == "__main__":
    main()
