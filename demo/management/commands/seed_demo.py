"""``manage.py seed_demo``: demo accounts (one per role) and a realistic customer base.

Run by ``make run`` on every start, so it is idempotent and quick when there is nothing to do:

- demo accounts and customers exist -> says where the passwords are and exits;
- customers exist but no demo accounts -> a real database: adds nothing;
- otherwise -> creates the missing demo accounts and loads the demo data in one transaction:
  customers and their history, a web form with its sign-ups and an empty POS drop folder
  (demo/capture.py).

Passwords are random, shown once and kept in ``var/demo-accounts.txt`` (mode 600), one section
per database, for whoever missed the output.
"""

from __future__ import annotations

import datetime
import os
import random
import secrets
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.utils import timezone

from accounts.models import Team
from accounts.team_services import create_team, place_in_team
from analytics.nightly import refresh_analytics
from customers.dedup.scan import SCAN_JOBS, create_scan
from customers.models import (
    Contact,
    Customer,
    ExternalId,
    LifecycleStage,
    LifecycleStageChange,
    ScanMode,
    SourceChannel,
    Tag,
)
from demo import capture
from demo.audit import DemoAction
from demo.custom_fields import create_demo_custom_fields
from demo.data import customers as demo_customers
from demo.data import interactions as demo_interactions
from demo.data import purchases as demo_purchases
from demo.data.scenario import CatalogItem, FollowUpRow, GeneratedCustomer, Scenario
from demo.deals import create_demo_deals
from interactions.models import (
    ArchivedInteraction,
    FollowUp,
    Interaction,
    InteractionKind,
    Product,
    Transaction,
    TransactionLine,
)
from kernel.models import JobStatus
from kernel.table_statistics import analyze_tables
from operations.backups.services import create_backup, run_drill
from privacy import consent
from privacy.audit.recording import audit_context, record_event
from privacy.models import (
    AuditChannel,
    ConsentRecord,
    ConsentSource,
    PrivacyPolicy,
    RequestChannel,
    RequestKind,
    VerificationMethod,
)
from privacy.roles import (
    ADMINISTRATOR,
    ANALYST,
    PRIVACY_OFFICER,
    SALES,
    SERVICE,
    ensure_roles,
)
from privacy.subjects import services as subject_requests

# (username, family name, given name, role, email); Django's first_name holds the given name.
DEMO_ACCOUNTS = (
    ("admin", "陈", "志强", ADMINISTRATOR, "chen.zhiqiang@example.com"),
    ("sales", "王", "丽娟", SALES, "wang.lijuan@example.com"),
    # Sales too, and manager of the team "East" the sales user is in: sees her customers.
    ("manager", "李", "建国", SALES, "li.jianguo@example.com"),
    ("service", "刘", "洋", SERVICE, "liu.yang@example.com"),
    ("analyst", "赵", "敏", ANALYST, "zhao.min@example.com"),
    ("privacy", "周", "晓梅", PRIVACY_OFFICER, "zhou.xiaomei@example.com"),
)
DEMO_TEAM = "East"
DEMO_USERNAMES = tuple(account[0] for account in DEMO_ACCOUNTS)
CREDENTIALS_FILE = Path(settings.BASE_DIR) / "var" / "demo-accounts.txt"
_SECTION = "# database: "
# No 0/O, 1/l/I: people copy these passwords from a terminal.
_PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # noqa: S105
BATCH_SIZE = 1000
# (label, days before today it took effect, what changed): the policy customers' consents
# refer to. Its text is what the public policy page and the web form's link show.
DEMO_POLICIES = (
    ("2024-01", 1_000, "First version."),
    ("2026-06", 170, "Web forms and the customer's own privacy page added."),
)
# One paragraph a line: the policy page keeps the text's line breaks.
DEMO_POLICY_TEXT = (
    "Demo Trading Co. keeps the details you give us (name, phone, email, address, purchases) "
    "to serve you as a customer and, only with your consent, to send you news and offers by "
    "email, SMS or phone, to tailor offers to your purchases, or to share them with our "
    "partners. You may withdraw any consent at any time, from the link in each message or on "
    "your privacy page, and ask us for a copy of your data or for its erasure. We keep "
    "invoices as long as the law requires.\n\n"
    "演示贸易有限公司保存您提供的信息（姓名、电话、电子邮箱、地址、购买记录），"
    "用于为您提供客户服务；仅在您同意后，才会通过电子邮件、短信或电话向您发送资讯和优惠、"
    "根据您的购买记录推荐优惠，或与合作伙伴共享。"
    "您可以随时通过每条消息中的链接或在您的隐私页面上撤回任何同意，"
    "并可申请获取您的数据副本或删除您的数据。发票按法律要求的期限保存。"
)


def _new_password(user: Any) -> str:
    """A random password in three groups of five that passes AUTH_PASSWORD_VALIDATORS."""
    while True:
        password = "-".join(
            "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(5)) for _ in range(3)
        )
        try:
            validate_password(password, user=user)
        except ValidationError:
            continue
        return password


def _database_label() -> str:
    """Which database a credentials section belongs to (never includes a password)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite {db['NAME']}"
    return (
        f"{connection.vendor} {db.get('HOST') or 'localhost'}:{db.get('PORT') or ''}/{db['NAME']}"
    )


def _write_credentials(rows: list[tuple[str, str, str, str]]) -> Path:
    """Replace this database's section of CREDENTIALS_FILE with ``rows``, keep the others
    (a developer may seed SQLite and PostgreSQL side by side); the file is mode 600."""
    label = _database_label()
    sections: dict[str, list[str]] = {}
    if CREDENTIALS_FILE.exists():
        current = None
        for line in CREDENTIALS_FILE.read_text(encoding="utf-8").splitlines():
            if line.startswith(_SECTION):
                current = line.removeprefix(_SECTION)
                sections[current] = []
            elif current is not None and line.strip():
                sections[current].append(line)
    sections[label] = [
        f"{username:<10} {password:<18} {role:<16} {name}"
        for username, password, role, name in rows
    ]
    text = "".join(
        f"{_SECTION}{name}\n" + "".join(f"{line}\n" for line in lines) + "\n"
        for name, lines in sections.items()
    )
    CREDENTIALS_FILE.parent.mkdir(parents=True, exist_ok=True)
    # Created with mode 600 (no window where others could read it), and chmod for a file that
    # already existed with looser permissions.
    descriptor = os.open(CREDENTIALS_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(
            "# Demo accounts created by `manage.py seed_demo`. Development only.\n\n" + text
        )
    CREDENTIALS_FILE.chmod(0o600)
    return CREDENTIALS_FILE


def ensure_products() -> tuple[CatalogItem, ...]:
    """Insert the demo catalogue's missing SKUs; return it with database ids (the bench
    generator uses this too)."""
    rows = demo_purchases.products(settings.DEFAULT_CURRENCY)
    existing = set(Product.objects.values_list("sku", flat=True))
    Product.objects.bulk_create(
        Product(
            sku=row.sku,
            name=row.name,
            category=row.category,
            price=row.price,
            currency=row.currency,
            is_active=row.is_active,
        )
        for row in rows
        if row.sku not in existing
    )
    ids = dict(Product.objects.values_list("sku", "pk"))
    return tuple(demo_purchases.catalog_item(ids[row.sku], row) for row in rows)


def _next_id(model: type[models.Model]) -> int:
    return (model.objects.aggregate(top=models.Max("pk"))["top"] or 0) + 1


def _bulk(model: type[models.Model], rows: Iterable[Any]) -> int:
    """bulk_create NamedTuple rows whose fields are the model's attnames; returns the count."""
    objects = [model(**row._asdict()) for row in rows]
    model.objects.bulk_create(objects, batch_size=BATCH_SIZE)
    return len(objects)


class Command(BaseCommand):
    help = (
        "Create one demo account per role and load ~3,000 realistic customers with their "
        "history. Does nothing when demo data (or any customer) is already there."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=3000, help="default 3000")
        parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")

    def handle(self, *args: Any, customers: int, seed: int, **options: Any) -> None:
        started = time.perf_counter()
        user_model = get_user_model()
        demo_users = set(
            user_model.objects.filter(username__in=DEMO_USERNAMES).values_list(
                "username", flat=True
            )
        )
        if Customer.objects.exists():
            if demo_users:
                where = (
                    f"passwords in {CREDENTIALS_FILE}"
                    if CREDENTIALS_FILE.exists()
                    else "their passwords were printed when they were created; reset one "
                    "with `manage.py changepassword <username>`"
                )
                self.stdout.write(
                    f"Demo data already loaded. Demo accounts {', '.join(DEMO_USERNAMES)}: {where}."
                )
            else:
                self.stdout.write(
                    "This database already holds customers and no demo accounts: seed_demo "
                    "adds nothing to it. For the demo, start from an empty database."
                )
            return

        with audit_context(via=AuditChannel.COMMAND), transaction.atomic():
            new_passwords = self._create_accounts(user_model)
            users = {
                user.username: user
                for user in user_model.objects.filter(username__in=DEMO_USERNAMES)
            }
            counts = self._load(customers=customers, seed=seed, users=users)
            counts["teams"] = self._ensure_team(users)
            counts["accounts_created"] = len(new_passwords)
            record_event(actor=None, action=DemoAction.SEED, changes=counts)

        # Only after the commit: a rolled-back run must not leave passwords for accounts
        # that do not exist.
        if new_passwords:
            path = _write_credentials(new_passwords)
            self._print_accounts(new_passwords, path)
        # The demo's duplicate registrations wait in the review queue from the start.
        # ... and metrics, churn risk, segments and dashboards are there to read.
        with audit_context(via=AuditChannel.COMMAND):
            scan = SCAN_JOBS.run(create_scan(mode=ScanMode.FULL).pk)
            counts["duplicate_pairs"] = scan.pairs_found
            analytics = refresh_analytics()
            if analytics.status != JobStatus.DONE:
                raise CommandError(analytics.failure)
            # The administrators' status page shows a backup that was restored and verified.
            backup = create_backup()
            if backup.failure:
                self.stderr.write(f"No demo backup: {backup.failure}")
            else:
                counts["verified_backups"] = 0 if run_drill().failure else 1
        elapsed = time.perf_counter() - started
        summary = ", ".join(f"{value:,} {name}" for name, value in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Demo data loaded in {elapsed:.1f} s: {summary}."))

    def _create_accounts(self, user_model: Any) -> list[tuple[str, str, str, str]]:
        """Create the missing demo accounts; returns (username, password, role, name) of the
        new ones. Existing accounts are left exactly as they are."""
        groups = ensure_roles()
        created = []
        for username, family, given, role, email in DEMO_ACCOUNTS:
            user, is_new = user_model.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": given,
                    "last_name": family,
                    "email": email,
                    "is_staff": role == ADMINISTRATOR,
                },
            )
            if not is_new:
                continue
            password = _new_password(user)
            user.set_password(password)
            user.save(update_fields=["password"])
            user.groups.add(groups[role])
            created.append((username, password, role, family + given))
        return created

    def _ensure_team(self, users: dict[str, Any]) -> int:
        """The team "East": the demo manager manages it, the demo sales user is in it."""
        team = Team.objects.filter(name=DEMO_TEAM).first()
        if team is None:
            team = create_team(actor=None, name=DEMO_TEAM, manager=users["manager"])
        place_in_team(actor=None, team=team, member=users["sales"])
        return 1

    def _print_accounts(self, rows: list[tuple[str, str, str, str]], path: Path) -> None:
        self.stdout.write("")
        self.stdout.write(self.style.MIGRATE_HEADING("Demo accounts (passwords shown once):"))
        self.stdout.write(f"  {'username':<10} {'password':<18} {'role':<16} name")
        for username, password, role, name in rows:
            self.stdout.write(f"  {username:<10} {password:<18} {role:<16} {name}")
        self.stdout.write(f"  Also saved to {path} (readable only by you).")
        self.stdout.write(
            "  Administrator and Privacy officer set up two-factor authentication (an"
            " authenticator app on a phone) at their first login."
        )
        self.stdout.write("")

    def _load(self, *, customers: int, seed: int, users: dict[str, Any]) -> dict[str, int]:
        """Generate and insert the demo data; returns counts per table."""
        now = timezone.localtime()
        counts: dict[str, int] = {}

        tags = {}
        for name, colour, group in demo_customers.TAGS:
            tags[name], _created = Tag.objects.get_or_create(
                name=name, defaults={"colour": colour, "group": group}
            )
        counts["tags"] = len(tags)

        catalog = ensure_products()
        counts["products"] = len(catalog)

        sales, service = users["sales"], users["service"]
        scenario = Scenario(
            seed=seed,
            now=now,
            catalog=catalog,
            customer_start_id=_next_id(Customer),
            mean_purchases=8 / 3,  # ~8,000 transactions for 3,000 customers
            mean_interactions=5.0,  # ~15,000 interactions
            # The sales user owns about a third, the service user some, the rest unassigned.
            owner_weights=((sales.pk, 0.34), (service.pk, 0.16), (None, 0.50)),
            sales_staff=(sales.pk,),
            service_staff=(service.pk,),
            currency=settings.DEFAULT_CURRENCY,
        )
        generated = list(demo_customers.customers(scenario, customers))
        plans = [customer.plan for customer in generated]
        contact_start = _next_id(Contact)
        contact_rows = list(demo_customers.contacts(scenario, plans, start_id=contact_start))
        interaction_rows = list(
            demo_interactions.interactions(
                scenario,
                plans,
                # Past archived ids too: an interaction keeps its id in the archive.
                start_id=max(_next_id(Interaction), _next_id(ArchivedInteraction)),
                contact_start_id=contact_start,
            )
        )
        complained = {
            row.customer_id for row in interaction_rows if row.kind == InteractionKind.COMPLAINT
        }
        # Service follows up complaints and open service tickets.
        needs_service = complained | {
            row.customer_id for row in interaction_rows if row.kind == InteractionKind.TICKET
        }
        follow_up_rows = self._follow_ups(scenario, generated, needs_service, sales, service)

        # A done follow-up is activity (interactions.services.complete_follow_up records it),
        # so last_activity_at must include it.
        done = {}
        for row in follow_up_rows:
            if row.done_at is not None:
                done[row.customer_id] = max(row.done_at, done.get(row.customer_id, row.done_at))
        customer_rows = []
        for customer in generated:
            row = customer.row
            done_at = done.get(row.id)
            if done_at is not None and (
                row.last_activity_at is None or row.last_activity_at < done_at
            ):
                row = row._replace(
                    last_activity_at=done_at, updated_at=max(row.updated_at, done_at)
                )
            customer_rows.append(row)

        # The rows come out of demo/data already normalised and consistent (phones in
        # E.164, ID numbers encrypted with blind index and mask exactly as
        # customers.services.apply_id_number does), so the per-row services, with a query
        # and an audit event per row, are skipped: one audit event covers the whole load.
        counts["customers"] = _bulk(Customer, customer_rows)
        counts["contacts"] = _bulk(Contact, contact_rows)
        counts["consent_records"] = self._consents(customer_rows, now)
        counts["external_ids"] = _bulk(
            ExternalId, demo_customers.external_ids(scenario, plans, start_id=_next_id(ExternalId))
        )
        counts["stage_changes"] = _bulk(
            LifecycleStageChange,
            (row for customer in generated for row in demo_customers.stage_changes(customer)),
        )
        through = Customer.tags.through
        links = [
            through(customer_id=customer.row.id, tag_id=tags[name].pk)
            for customer in generated
            for name in demo_customers.customer_tags(
                scenario, customer, complained=customer.row.id in complained
            )
        ]
        through.objects.bulk_create(links, batch_size=BATCH_SIZE)
        counts["tag_links"] = len(links)

        orders, lines = [], []
        for order, order_lines in demo_purchases.transactions(
            scenario,
            plans,
            start_id=_next_id(Transaction),
            line_start_id=_next_id(TransactionLine),
        ):
            orders.append(order)
            lines.extend(order_lines)
        counts["transactions"] = _bulk(Transaction, orders)
        counts["transaction_lines"] = _bulk(TransactionLine, lines)
        counts["interactions"] = _bulk(Interaction, interaction_rows)
        counts["follow_ups"] = _bulk(FollowUp, follow_up_rows)
        # Rows were inserted with explicit ids; PostgreSQL's sequences must move past them
        # (SQLite's AUTOINCREMENT bookkeeping follows explicit ids by itself).
        reset = connection.ops.sequence_reset_sql(
            no_style(),
            [Customer, Contact, ExternalId, Transaction, TransactionLine, Interaction],
        )
        with connection.cursor() as cursor:
            for statement in reset:
                cursor.execute(statement)
        counts["subject_requests"] = self._subject_requests(users["privacy"], now)
        # After the sequences' reset: winning a deal records its purchase through the services.
        counts["deals"] = create_demo_deals(sales=sales, seed=seed, now=now)
        # After the deals: some of their custom values are filled too.
        counts["custom_fields"] = create_demo_custom_fields(
            admin=users["admin"], staff=users["service"], seed=seed, now=now
        )
        # After the policies (_consents): the form's consents are kept with the one in force.
        form = capture.create_web_form(admin=users["admin"])
        counts["form_submissions"] = capture.fill_in_web_form(
            form, people=demo_customers.newcomers(scenario, after=customers), seed=seed, now=now
        )
        capture.create_drop_folder(admin=users["admin"])
        counts["drop_folders"] = 1
        # The duplicate scan and the metrics read these next, in the same run.
        analyze_tables(
            [
                Customer,
                Contact,
                ConsentRecord,
                ExternalId,
                LifecycleStageChange,
                through,
                Transaction,
                TransactionLine,
                Interaction,
                FollowUp,
            ]
        )
        return counts

    @staticmethod
    def _subject_requests(officer: Any, now: Any) -> int:
        """Three requests in the privacy officer's queue: a copy to prepare, a consent
        withdrawal close to its due date, and an erasure waiting for the identity check."""
        people = list(Customer.objects.filter(kind="person").exclude(email="").order_by("pk")[:3])
        waiting = (
            (RequestKind.ACCESS, RequestChannel.EMAIL, 2, "Please send me a copy of my data."),
            (RequestKind.WITHDRAW_CONSENT, RequestChannel.PHONE, 12, "No more marketing."),
            (RequestKind.ERASURE, RequestChannel.LETTER, 1, "Please delete my account."),
        )
        for customer, (kind, channel, days_ago, details) in zip(people, waiting, strict=False):
            request = subject_requests.log_request(
                actor=officer,
                customer=customer,
                kind=kind,
                channel=channel,
                details=details,
                received_at=now - datetime.timedelta(days=days_ago),
            )
            if kind == RequestKind.ACCESS:
                subject_requests.verify_identity(
                    actor=officer,
                    request=request,
                    method=VerificationMethod.EMAIL_CODE,
                    note="code confirmed",
                )
        return len(people)

    @staticmethod
    def _consents(customer_rows: list[Any], now: Any) -> int:
        """Two policy versions and, for every marketing consent a demo customer holds, the
        ledger entry that gave it: on the web form for web-form customers, else by staff,
        under the policy in force that day."""
        older, newer = (
            PrivacyPolicy.objects.get_or_create(
                version=version,
                defaults={
                    "effective_from": (now - datetime.timedelta(days=days)).date(),
                    "summary": summary,
                    "text": DEMO_POLICY_TEXT,
                },
            )[0]
            for version, days, summary in DEMO_POLICIES
        )
        records = [
            ConsentRecord(
                customer_id=row.id,
                purpose=purpose,
                granted=True,
                recorded_at=row.created_at,
                source=ConsentSource.FORM
                if row.source_channel == SourceChannel.WEB_FORM
                else ConsentSource.STAFF,
                evidence="demo data",
                policy=newer if row.created_at.date() >= newer.effective_from else older,
            )
            for row in customer_rows
            for field, purpose in consent.PURPOSES_BY_FIELD.items()
            if getattr(row, field, False)
        ]
        ConsentRecord.objects.bulk_create(records, batch_size=BATCH_SIZE)
        return len(records)

    @staticmethod
    def _follow_ups(
        scenario: Scenario,
        generated: list[GeneratedCustomer],
        needs_service: set[int],
        sales: Any,
        service: Any,
    ) -> list[FollowUpRow]:
        """~1 follow-up per 10 customers: sales follows up its own and unassigned customers
        (not the churned ones), service those with complaints or tickets and its own."""
        sales_work = [
            (c.row.id, c.plan.lang)
            for c in generated
            if c.row.owner_id in (sales.pk, None)
            and c.row.lifecycle_stage != LifecycleStage.CHURNED
        ]
        service_work = [
            (c.row.id, c.plan.lang)
            for c in generated
            if c.row.id in needs_service or c.row.owner_id == service.pk
        ]
        rng = random.Random(scenario.seed)  # noqa: S311  (synthetic data, not security)
        return list(
            demo_interactions.follow_ups(
                rng,
                now=scenario.now,
                assignments=[(sales.pk, sales_work), (service.pk, service_work)],
                count=max(10, len(generated) // 10),
            )
        )
