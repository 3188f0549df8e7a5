"""Load a CRM-sized synthetic data set and report how fast each table loads.

    DJANGO_SETTINGS_MODULE=crm.settings DATABASE_URL=postgres://... \\
        python bench/generate.py [--customers 1000000] [--interactions 10000000] \\
        [--transactions 3000000] [--seed 1] [--truncate]

Rows come from demo/data/ (the same generator as ``manage.py seed_demo``). On PostgreSQL
they stream through psycopg's ``COPY ... FROM STDIN``; on SQLite through ``executemany`` in
batches of 5,000 (portable, much slower). First, in the same run, a baseline: Django's
``bulk_create`` of 20,000 customers (batch 1,000) into the same table, deleted afterwards.

Memory stays bounded whatever the sizes: customers are processed in chunks of 5,000, and for
each chunk its customers, contacts, external ids, transactions with lines and interactions
are written (one COPY per table per chunk) before the next chunk is generated. Each table's
time is measured around its writes and includes generating its rows, exactly like the
baseline's. Indexes and constraints stay in place and are maintained during the load;
nothing is dropped or recreated. With ``--truncate`` the CRM tables are emptied first.
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

import django

django.setup()

from django.apps import apps  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management.color import no_style  # noqa: E402
from django.db import connection, models, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from customers.models import Contact, Customer, ExternalId  # noqa: E402
from demo.data import customers as demo_customers  # noqa: E402
from demo.data import interactions as demo_interactions  # noqa: E402
from demo.data import purchases as demo_purchases  # noqa: E402
from demo.data.people import pools  # noqa: E402
from demo.data.scenario import (  # noqa: E402
    ContactRow,
    CustomerPlan,
    CustomerRow,
    ExternalIdRow,
    GeneratedCustomer,
    InteractionRow,
    LineRow,
    Scenario,
    TransactionRow,
)
from demo.management.commands.seed_demo import ensure_products  # noqa: E402
from interactions.models import Interaction, Transaction, TransactionLine  # noqa: E402
from kernel.table_statistics import analyze_tables  # noqa: E402

CHUNK_CUSTOMERS = 5_000
SQLITE_BATCH = 5_000
BASELINE_BATCH = 1_000
PROGRESS_EVERY = 100_000  # customers

# Tables emptied by --truncate (PostgreSQL's CASCADE, or the SQLite equivalent below, also
# empties whatever else references them, e.g. tag links, stage history, follow-ups).
TRUNCATE_APPS = ("customers", "interactions")


class Stopwatch:
    """Rows, seconds and the part of those seconds spent generating, per table."""

    def __init__(self) -> None:
        self.rows: dict[str, int] = {}
        self.seconds: dict[str, float] = {}
        self.generating: dict[str, float] = {}

    def add(self, table: str, rows: int, seconds: float, generating: float) -> None:
        self.rows[table] = self.rows.get(table, 0) + rows
        self.seconds[table] = self.seconds.get(table, 0.0) + seconds
        self.generating[table] = self.generating.get(table, 0.0) + generating


class Metered:
    """Wraps a row iterator and adds up the time spent producing rows, so that a table's
    time splits into generating and writing (two clock reads per row: well under 1%)."""

    def __init__(self, rows: Iterable) -> None:
        self._rows = iter(rows)
        self.seconds = 0.0

    def __iter__(self) -> Metered:
        return self

    def __next__(self) -> Any:
        started = time.perf_counter()
        try:
            return next(self._rows)
        finally:
            self.seconds += time.perf_counter() - started


class CopyWriter:
    """PostgreSQL: one ``COPY table (columns) FROM STDIN`` per call, rows sent as they come.

    Django's connection is in autocommit mode, so each COPY commits on its own: a crash
    loses at most the current chunk, and no transaction grows to millions of rows.
    """

    method = "COPY FROM STDIN (psycopg 3, text format)"

    def __init__(self) -> None:
        connection.ensure_connection()
        self.raw = connection.connection
        quote = connection.ops.quote_name
        self._quote = quote

    def write(self, model: type[models.Model], columns: Sequence[str], rows: Iterable) -> int:
        sql = (
            f"COPY {self._quote(model._meta.db_table)} "
            f"({', '.join(self._quote(column) for column in columns)}) FROM STDIN"
        )
        count = 0
        with self.raw.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count


class InsertWriter:
    """SQLite (or any other engine): ``executemany`` INSERTs in batches, one transaction per
    call. Aware datetimes go through the backend's adapter (SQLite stores UTC text)."""

    method = f"executemany INSERT, batches of {SQLITE_BATCH:,} (portable fallback, slower)"

    def write(self, model: type[models.Model], columns: Sequence[str], rows: Iterable) -> int:
        fields = {field.column: field for field in model._meta.concrete_fields}
        adapt_datetime = connection.ops.adapt_datetimefield_value
        adapters = [
            adapt_datetime if isinstance(fields[column], models.DateTimeField) else None
            for column in columns
        ]
        positions = [i for i, adapter in enumerate(adapters) if adapter is not None]
        quote = connection.ops.quote_name
        sql = (
            f"INSERT INTO {quote(model._meta.db_table)} "
            f"({', '.join(quote(column) for column in columns)}) "
            f"VALUES ({', '.join(['%s'] * len(columns))})"
        )
        count = 0
        iterator = iter(rows)
        with transaction.atomic(), connection.cursor() as cursor:
            while batch := list(itertools.islice(iterator, SQLITE_BATCH)):
                params = []
                for row in batch:
                    values = list(row)
                    for i in positions:
                        values[i] = adapt_datetime(values[i])
                    params.append(values)
                cursor.executemany(sql, params)
                count += len(batch)
        return count


def _check_columns(model: type[models.Model], row_type: type) -> Sequence[str]:
    """The row type's fields, which must all be columns of the model (fails loudly when the
    models and demo/data/scenario.py drift apart), then the model's NOT NULL columns with a
    default that the row type lacks (added by later migrations): COPY would leave them null.
    A column with a database default (Customer.custom) is left to the database."""
    columns = {field.column for field in model._meta.concrete_fields}
    missing = [name for name in row_type._fields if name not in columns]
    if missing:
        raise SystemExit(f"{model.__name__} has no columns {missing}: update demo/data/scenario.py")
    return (*row_type._fields, *(field.column for field in _defaulted_fields(model, row_type)))


def _defaulted_fields(model: type[models.Model], row_type: type) -> list[models.Field]:
    return [
        field
        for field in model._meta.concrete_fields
        if field.column not in row_type._fields
        and not field.null
        and not field.has_db_default()
        and field.get_default() is not None
    ]


def _with_defaults(model: type[models.Model], row_type: type, rows: Iterable) -> Iterator[tuple]:
    """The rows with the values of `_defaulted_fields` appended, in `_check_columns` order."""
    defaults = tuple(field.get_default() for field in _defaulted_fields(model, row_type))
    return (tuple(row) + defaults for row in rows)


def _next_id(model: type[models.Model]) -> int:
    return (model.objects.aggregate(top=models.Max("pk"))["top"] or 0) + 1


def _crm_models() -> list[type[models.Model]]:
    # The metrics point at customers without a database constraint (see CustomerMetrics), so
    # CASCADE would not reach them: named here.
    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.app_label in TRUNCATE_APPS
    ] + [apps.get_model("analytics", "CustomerMetrics")]


def truncate() -> list[str]:
    """Empty the CRM tables (and everything referencing them); ids restart at 1."""
    crm = _crm_models()
    if connection.vendor == "postgresql":
        tables = [model._meta.db_table for model in crm]
        with connection.cursor() as cursor:
            cursor.execute(
                f"TRUNCATE {', '.join(connection.ops.quote_name(t) for t in tables)} "
                "RESTART IDENTITY CASCADE"
            )
        return tables
    # Elsewhere, also every model that points at one of them, however indirectly (what
    # CASCADE does on PostgreSQL). Foreign keys are deferred, so the order does not matter.
    doomed = set(crm)
    grew = True
    while grew:
        grew = False
        for model in apps.get_models(include_auto_created=True):
            if model not in doomed and any(
                field.is_relation and field.related_model in doomed
                for field in model._meta.concrete_fields
            ):
                doomed.add(model)
                grew = True
    tables = sorted(model._meta.db_table for model in doomed)
    with transaction.atomic(), connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")
        if connection.vendor == "sqlite":
            cursor.execute(
                f"DELETE FROM sqlite_sequence WHERE name IN ({', '.join(['%s'] * len(tables))})",
                tables,
            )
    return tables


def baseline(scenario: Scenario, count: int) -> tuple[float, float]:
    """ORM ``bulk_create`` of ``count`` customers (batch 1,000) into the customers table,
    then delete them again.

    Returns (seconds generating the rows, seconds building model objects and inserting):
    the second part is what the ORM costs, to compare with COPY's writing time.
    """
    started = time.perf_counter()
    rows = [customer.row for customer in demo_customers.customers(scenario, count)]
    generated = time.perf_counter()
    Customer.objects.bulk_create(
        (Customer(**row._asdict()) for row in rows), batch_size=BASELINE_BATCH
    )
    inserted = time.perf_counter()
    Customer.objects.filter(
        pk__gte=scenario.customer_start_id, pk__lt=scenario.customer_start_id + count
    ).delete()
    return generated - started, inserted - generated


def _timed(
    watch: Stopwatch,
    table: str,
    write: Callable[[type[models.Model], Sequence[str], Iterable], int],
    model: type[models.Model],
    columns: Sequence[str],
    rows: Iterable,
) -> int:
    """Run one write and book its rows and time to ``table``. The write pulls the lazy
    generator it is given, so the time includes generating the rows (measured apart)."""
    metered = Metered(rows)
    started = time.perf_counter()
    count = write(model, columns, metered)
    watch.add(table, count, time.perf_counter() - started, metered.seconds)
    return count


def _rows_keeping_plans(
    customers: Iterable[GeneratedCustomer], plans: list[CustomerPlan]
) -> Iterator[CustomerRow]:
    for customer in customers:
        plans.append(customer.plan)
        yield customer.row


def _orders_keeping_lines(
    pairs: Iterable[tuple[TransactionRow, list[LineRow]]],
    lines: list[LineRow],
) -> Iterator[TransactionRow]:
    # One connection cannot run two COPYs at once: lines wait for their chunk's orders.
    for order, order_lines in pairs:
        lines.extend(order_lines)
        yield order


def load(writer: CopyWriter | InsertWriter, scenario: Scenario, count: int) -> Stopwatch:
    """Stream ``count`` customers and their history into the database, chunk by chunk.

    Ids are assigned by demo/data/ from the current maximum of each table, so children
    reference their parents without reading anything back.
    """
    watch = Stopwatch()
    row_types = {
        Customer: CustomerRow,
        Contact: ContactRow,
        ExternalId: ExternalIdRow,
        Transaction: TransactionRow,
        TransactionLine: LineRow,
        Interaction: InteractionRow,
    }
    columns = {model: _check_columns(model, row_type) for model, row_type in row_types.items()}

    def write(label: str, model: type[models.Model], rows: Iterable) -> int:
        # Every table gets the defaults of the columns later migrations added (a row version,
        # say), which demo/data/'s rows do not carry.
        rows = _with_defaults(model, row_types[model], rows)
        return _timed(watch, label, writer.write, model, columns[model], rows)

    next_contact = _next_id(Contact)
    next_external = _next_id(ExternalId)
    next_order = _next_id(Transaction)
    next_line = _next_id(TransactionLine)
    next_interaction = _next_id(Interaction)

    customers = demo_customers.customers(scenario, count)
    started = time.perf_counter()
    done = 0
    while done < count:
        plans: list[CustomerPlan] = []
        chunk = itertools.islice(customers, CHUNK_CUSTOMERS)
        written = write("customers", Customer, _rows_keeping_plans(chunk, plans))

        contact_base = next_contact
        contacts = demo_customers.contacts(scenario, plans, start_id=contact_base)
        next_contact += write("contacts", Contact, contacts)
        externals = demo_customers.external_ids(scenario, plans, start_id=next_external)
        next_external += write("external ids", ExternalId, externals)

        lines: list[LineRow] = []
        pairs = demo_purchases.transactions(
            scenario, plans, start_id=next_order, line_start_id=next_line
        )
        orders = _orders_keeping_lines(pairs, lines)
        next_order += write("transactions", Transaction, orders)
        next_line += write("transaction lines", TransactionLine, lines)

        interactions = demo_interactions.interactions(
            scenario, plans, start_id=next_interaction, contact_start_id=contact_base
        )
        next_interaction += write("interactions", Interaction, interactions)

        previous, done = done, done + written
        if done // PROGRESS_EVERY != previous // PROGRESS_EVERY or done == count:
            print(
                f"  {done:>10,} customers {watch.rows['transactions']:>11,} transactions "
                f"{watch.rows['interactions']:>12,} interactions "
                f"{time.perf_counter() - started:7.0f} s",
                flush=True,
            )
    return watch


def reset_sequences() -> None:
    """Move the id sequences past the explicitly numbered rows (PostgreSQL; a no-op on SQLite,
    whose AUTOINCREMENT follows explicit ids)."""
    statements = connection.ops.sequence_reset_sql(
        no_style(), [Customer, Contact, ExternalId, Transaction, TransactionLine, Interaction]
    )
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def index_counts(model_classes: Sequence[type[models.Model]]) -> dict[str, int]:
    """Indexes (including primary keys and unique constraints) per table."""
    counts = {}
    with connection.cursor() as cursor:
        for model in model_classes:
            table = model._meta.db_table
            constraints = connection.introspection.get_constraints(cursor, table)
            counts[table] = sum(1 for c in constraints.values() if c["index"] or c["primary_key"])
    return counts


def _rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}" if seconds > 0 else "-"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--interactions", type=int, default=10_000_000)
    parser.add_argument("--transactions", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--baseline", type=int, default=20_000, help="rows (0 to skip)")
    parser.add_argument("--truncate", action="store_true", help="empty the CRM tables first")
    args = parser.parse_args(argv)
    if args.customers <= 0:
        parser.error("--customers must be positive")

    run_started = time.perf_counter()
    postgres = connection.vendor == "postgresql"
    writer: CopyWriter | InsertWriter = CopyWriter() if postgres else InsertWriter()
    db = connection.settings_dict
    print(f"Database: {connection.display_name} {db['NAME']} ({connection.vendor})")
    print(f"Load method: {writer.method}")
    if not postgres:
        print("Not PostgreSQL: using the portable INSERT fallback; expect it to be much slower.")

    if args.truncate:
        tables = truncate()
        print(f"Truncated {len(tables)} tables: {', '.join(tables)}")

    users = list(
        get_user_model()
        .objects.filter(is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)[:5]
    )
    # A third of the customers have an owner among the existing staff, as in the demo.
    owners: tuple[tuple[int | None, float], ...] = ((None, 1.0),)
    if users:
        owners = (*((pk, 1 / 3 / len(users)) for pk in users), (None, 2 / 3))
    scenario = Scenario(
        seed=args.seed,
        now=timezone.localtime(),
        catalog=ensure_products(),
        customer_start_id=_next_id(Customer),
        mean_purchases=args.transactions / args.customers,
        mean_interactions=args.interactions / args.customers,
        owner_weights=owners,
        sales_staff=tuple(users),
        service_staff=tuple(users),
        currency=settings.DEFAULT_CURRENCY,
    )
    pools(args.seed)  # Faker start-up is not part of any table's time

    loaded_tables = [Customer, Contact, ExternalId, Transaction, TransactionLine, Interaction]
    indexes = index_counts(loaded_tables)
    print(
        "Indexes are kept and maintained during the load: "
        + ", ".join(f"{table} {n}" for table, n in indexes.items())
    )

    baseline_parts = None
    if args.baseline:
        print(
            f"Baseline: ORM bulk_create of {args.baseline:,} customers "
            f"(batch {BASELINE_BATCH:,}), deleted again afterwards"
        )
        baseline_parts = baseline(replace(scenario, seed=args.seed + 1), args.baseline)

    print(
        f"Loading {args.customers:,} customers, ~{args.transactions:,} transactions, "
        f"~{args.interactions:,} interactions (seed {args.seed}):"
    )
    watch = load(writer, scenario, args.customers)
    reset_sequences()
    # Fresh statistics, so that queries benchmarked next get realistic plans.
    started = time.perf_counter()
    analyze_tables(loaded_tables)
    analyze_s = time.perf_counter() - started

    print()
    print(
        f"{'table':<20}{'rows':>13}{'seconds':>9}{'rows/s':>10}"
        f"{'generate s':>12}{'write s':>9}{'write rows/s':>14}"
    )

    def line(table: str, rows: int, seconds: float, generating: float) -> None:
        writing = seconds - generating
        print(
            f"{table:<20}{rows:>13,}{seconds:>9.1f}{_rate(rows, seconds):>10}"
            f"{generating:>12.1f}{writing:>9.1f}{_rate(rows, writing):>14}"
        )

    if baseline_parts is not None:
        gen_s, orm_s = baseline_parts
        line("customers (ORM)", args.baseline, gen_s + orm_s, gen_s)
    for table, rows in watch.rows.items():
        line(table, rows, watch.seconds[table], watch.generating[table])
    line(
        "all tables",
        sum(watch.rows.values()),
        sum(watch.seconds.values()),
        sum(watch.generating.values()),
    )
    print(
        "rows/s includes generating the rows (Python, demo/data/); write rows/s is the "
        "database side: COPY or INSERT, index maintenance, constraints."
    )
    if baseline_parts is not None:
        gen_s, orm_s = baseline_parts
        rows = watch.rows["customers"]
        seconds, generating = watch.seconds["customers"], watch.generating["customers"]
        method = "COPY" if postgres else "executemany"
        print(
            f"\nCustomers, {method} vs ORM bulk_create: "
            f"{(rows / seconds) / (args.baseline / (gen_s + orm_s)):.1f}x end to end, "
            f"{(rows / (seconds - generating)) / (args.baseline / orm_s):.1f}x on the write side"
        )
    print(f"ANALYZE: {analyze_s:.1f} s")
    print("Indexes were maintained during the load (none dropped or recreated).")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"Peak RSS: {peak_mb:,.0f} MB")
    print(f"Total elapsed: {time.perf_counter() - run_started:,.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
