from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count, Q
from django.utils import timezone

from customers.models import (
    Contact,
    Customer,
    DuplicateCandidate,
    ExternalId,
    LifecycleStage,
    LifecycleStageChange,
)
from customers.normalize import normalize_email, normalize_phone
from customers.services import ID_NUMBER_CONTEXT
from demo import capture
from demo.management.commands import seed_demo
from dropfolders.models import DropFolder
from interactions.models import FollowUp, Interaction, Transaction, TransactionLine
from mailboxes.models import Mailbox
from operations.connections import connections
from privacy import consent, crypto, roles
from privacy.models import AuditEvent, ConsentRecord
from sales.models import Deal
from tests.planner_statistics import forget_statistics, unanalysed
from webforms.models import FormSubmission, WebForm

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _drop_root(settings, tmp_path):
    """The demo's drop folder is made under the test's own DROP_FOLDER_ROOT, not ./var."""
    settings.DROP_FOLDER_ROOT = tmp_path / "drop"


@pytest.fixture
def credentials_file(tmp_path, monkeypatch):
    path = tmp_path / "demo-accounts.txt"
    monkeypatch.setattr(seed_demo, "CREDENTIALS_FILE", path)
    return path


def test_seed_demo_creates_one_account_per_role_and_consistent_data(credentials_file, capsys):
    call_command("seed_demo", customers=300, seed=7)
    users = get_user_model().objects.filter(
        username__in=["admin", "sales", "service", "analyst", "privacy"]
    )
    # Every person's role (the shop connectors' group is for their service accounts).
    assert {u.groups.get().name for u in users} == set(roles.ROLE_PERMISSIONS) - {
        roles.SHOP_CONNECTOR
    }
    output = capsys.readouterr().out
    saved = dict(
        line.split()[:2]
        for line in credentials_file.read_text().splitlines()
        if line.strip() and line.split()[0] in {u.username for u in users}
    )
    assert set(saved) == {"admin", "sales", "service", "analyst", "privacy"}
    for username, password in saved.items():
        assert password in output
        assert get_user_model().objects.get(username=username).check_password(password)
    assert credentials_file.stat().st_mode & 0o077 == 0

    customers = Customer.objects.all()
    assert customers.count() >= 300
    # The demo's re-registrations wait in the duplicate review queue.
    assert DuplicateCandidate.objects.filter(status="open").exists()
    assert customers.filter(name__regex=r"^[\u4e00-\u9fff]").exists()
    assert customers.filter(name__regex=r"^[A-Za-z]").exists()
    for customer in customers.exclude(phone=""):
        assert normalize_phone(customer.phone_raw, region="CN") == customer.phone
    for customer in customers.exclude(email=""):
        assert normalize_email(customer.email_raw) == customer.email
    with_id = customers.exclude(id_number_encrypted="").first()
    number = crypto.decrypt(with_id.id_number_encrypted, context=ID_NUMBER_CONTEXT)
    assert crypto.blind_index(number, context=ID_NUMBER_CONTEXT) == with_id.id_number_blind_index

    # Stages follow the purchase history: leads have not bought, repeat customers bought twice.
    paid = Count("transactions", filter=Q(transactions__status="paid"))
    assert (
        not customers.filter(lifecycle_stage=LifecycleStage.LEAD)
        .annotate(n=paid)
        .filter(n__gt=0)
        .exists()
    )
    assert (
        not customers.filter(lifecycle_stage=LifecycleStage.REPEAT)
        .annotate(n=paid)
        .filter(n__lt=2)
        .exists()
    )
    assert Transaction.objects.exists()
    assert AuditEvent.objects.filter(action="demo.seed").count() == 1
    # Deals across the default pipeline's stages; the won ones recorded their purchase.
    deals = Deal.objects.filter(owner__username="sales")
    assert deals.count() >= 30
    assert set(deals.values_list("stage__kind", flat=True)) == {"open", "won", "lost"}
    assert not deals.filter(won_at__isnull=False, purchase__isnull=True).exists()
    # Every marketing consent the demo customers hold has the ledger entry that gave it.
    for purpose, field in consent.STATUS_FIELDS.items():
        holders = set(customers.filter(**{field: True}).values_list("pk", flat=True))
        granted = set(
            ConsentRecord.objects.filter(purpose=purpose, granted=True).values_list(
                "customer_id", flat=True
            )
        )
        assert holders == granted, purpose
    assert ConsentRecord.objects.filter(policy__isnull=True).count() == 0


def test_seed_demo_shows_a_web_form_with_sign_ups_that_came_through_its_door(
    credentials_file, mailoutbox
):
    call_command("seed_demo", customers=120, seed=7)
    form = WebForm.objects.get()
    assert form.name == capture.FORM_NAME
    assert form.allowed_origins == ["http://127.0.0.1:8000"]
    assert [field["key"] for field in form.fields] == ["name", "phone", "email", "city"]
    [consent] = form.consents
    assert (consent["purpose"], consent["policy"]) == ("marketing_email", "2026-06")
    assert consent["text_en"]
    assert consent["text_zh"]
    submissions = FormSubmission.objects.filter(form=form)
    outcomes = Counter(submissions.values_list("outcome", flat=True))
    assert outcomes == {
        "created": capture.NEW_PEOPLE,
        "updated": capture.COMPLETING,
        "unchanged": capture.REPEATING,
        "failed": capture.MISTYPED,
    }
    # Each through the import's door, as the form's own service account.
    door = AuditEvent.objects.filter(action="import.bulk_upsert", actor=form.service_account)
    assert door.count() == submissions.count()
    refused = submissions.filter(outcome="failed")
    assert [submission.failed_fields for submission in refused] == [["email"]] * capture.MISTYPED
    # Newsletter: the confirmations were mailed (kept in memory, never sent to the fictional
    # people's real mail domains), two wait for their person, the first was confirmed.
    asked = submissions.exclude(pending_purposes=[]).order_by("received_at")
    assert asked.count() == capture.ASKING_FOR_NEWS
    assert all(submission.mailed_at for submission in asked)
    assert [submission.confirmed_at is not None for submission in asked] == [True, False, False]
    assert mailoutbox == []
    confirmed = asked[0].customer
    assert confirmed.consent_email is True
    entry = ConsentRecord.objects.get(customer=confirmed, purpose="marketing_email")
    assert (entry.source, entry.policy.version) == ("form", "2026-06")
    assert "by the link mailed to the address on record" in entry.evidence
    assert not ConsentRecord.objects.filter(
        customer__in=[submission.customer for submission in asked[1:]], source="form"
    ).exists()
    # The refused sign-ups are older than a day: a first look at the operations page is calm.
    [health] = [item for item in connections() if item.name == capture.FORM_NAME]
    assert health.errors_last_day == 0
    assert health.level(timezone.now()) == "success"


def test_seed_demo_makes_an_empty_pos_drop_folder(credentials_file, settings):
    call_command("seed_demo", customers=30, seed=3)
    folder = DropFolder.objects.get()
    assert (folder.name, folder.path, folder.kind, folder.source_channel) == (
        capture.FOLDER_NAME,
        capture.FOLDER_PATH,
        "customers",
        "pos",
    )
    assert folder.run_as.username == "admin"
    directory = settings.DROP_FOLDER_ROOT / capture.FOLDER_PATH
    assert directory.is_dir()
    assert list(directory.iterdir()) == []
    assert not Mailbox.objects.exists()


def test_seed_demo_is_idempotent(credentials_file):
    call_command("seed_demo", customers=100, seed=7)
    before = Customer.objects.count(), FormSubmission.objects.count()
    call_command("seed_demo", customers=100, seed=7)
    assert (Customer.objects.count(), FormSubmission.objects.count()) == before
    assert (WebForm.objects.count(), DropFolder.objects.count()) == (1, 1)
    assert AuditEvent.objects.filter(action="demo.seed").count() == 1


def test_seed_demo_leaves_the_tables_it_loaded_analysed(credentials_file):
    # Issue 18: the duplicate scan and metrics that follow read them at once.
    tables = (
        Customer,
        Contact,
        ExternalId,
        LifecycleStageChange,
        Transaction,
        TransactionLine,
        Interaction,
        FollowUp,
    )
    forget_statistics(*tables)
    call_command("seed_demo", customers=30, seed=3)
    assert unanalysed(*tables) == []
