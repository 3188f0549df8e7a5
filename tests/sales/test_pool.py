"""The shared pool (公海): claiming within and over the quota, two people claiming at once,
returning a customer by hand, the nightly warning and return of idle customers (and its rerun),
the pool page's scope and masking, the history and the audit log."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import Team, TeamMembership
from customers.dedup.door import likely_duplicates
from customers.models import Customer
from customers.selectors import possible_duplicates
from customers.services import update_customer
from interactions.services import record_interaction
from notifications.models import Notification, NotificationKind
from privacy import roles
from privacy.models import AuditEvent
from privacy.registry import COPY_SECTIONS, SCRUBBERS, Erasure
from sales.models import OwnershipChange, OwnershipChangeKind
from sales.pool.selectors import pool_customers, pool_rules
from sales.pool.services import (
    claim_customer,
    release_customer,
    release_idle_customers,
    update_pool_rules,
)
from tests.customers.test_dedup import open_pairs, pair, scan
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def test_claim_makes_the_customer_yours_with_history_and_audit(sales_user):
    customer = CustomerFactory(name="池中客")
    claim_customer(actor=sales_user, customer=customer)
    customer.refresh_from_db()
    assert customer.owner == sales_user
    assert customer.owner_active_at is not None
    change = OwnershipChange.objects.get(customer=customer)
    assert (change.kind, change.to_owner, change.actor) == (
        OwnershipChangeKind.CLAIM,
        sales_user,
        sales_user,
    )
    event = AuditEvent.objects.get(action="pool.claim", target_id=str(customer.pk))
    assert event.changes["owner"] == [None, sales_user.pk]


def test_claim_over_the_quota_is_refused_with_a_clear_message_and_writes_nothing(sales_user):
    update_pool_rules(actor=None, claim_quota=2)
    CustomerFactory(owner=sales_user)
    claim_customer(actor=sales_user, customer=CustomerFactory())
    third = CustomerFactory()
    with pytest.raises(ValidationError, match="You already own 2 customers"):
        claim_customer(actor=sales_user, customer=third)
    third.refresh_from_db()
    assert third.owner is None
    assert not OwnershipChange.objects.filter(customer=third).exists()


def test_of_two_people_claiming_the_same_customer_one_wins(sales_user, other_sales_user):
    seen_by_first = CustomerFactory()
    seen_by_second = Customer.objects.get(pk=seen_by_first.pk)  # both loaded it unowned
    claim_customer(actor=other_sales_user, customer=seen_by_second)
    with pytest.raises(ValidationError, match="Someone else has just claimed"):
        claim_customer(actor=sales_user, customer=seen_by_first)
    seen_by_first.refresh_from_db()
    assert seen_by_first.owner == other_sales_user
    assert OwnershipChange.objects.filter(customer=seen_by_first).count() == 1


def test_claim_needs_the_permission(make_user):
    service = make_user(roles.SERVICE)
    with pytest.raises(PermissionDenied):
        claim_customer(actor=service, customer=CustomerFactory())


def test_owner_and_their_manager_may_release_with_a_reason_others_may_not(
    sales_user, other_sales_user, make_user
):
    customer = CustomerFactory(owner=sales_user)
    with pytest.raises(PermissionDenied):
        release_customer(actor=other_sales_user, customer=customer, reason="mine now")
    with pytest.raises(ValidationError):
        release_customer(actor=sales_user, customer=customer, reason="  ")
    manager = make_user(roles.SALES)
    TeamMembership.objects.create(
        team=Team.objects.create(name="East", manager=manager), user=sales_user
    )
    release_customer(actor=manager, customer=customer, reason="Moved to another city")
    customer.refresh_from_db()
    assert customer.owner is None
    assert customer.owner_active_at is None
    change = OwnershipChange.objects.get(customer=customer)
    assert (change.kind, change.from_owner, change.actor, change.reason) == (
        OwnershipChangeKind.RELEASE,
        sales_user,
        manager,
        "Moved to another city",
    )
    event = AuditEvent.objects.get(action="pool.release", target_id=str(customer.pk))
    assert event.changes == {"owner": [sales_user.pk, None], "reason": "Moved to another city"}


def _idle_since(customer: Customer, when: datetime.datetime) -> None:
    Customer.objects.filter(pk=customer.pk).update(owner_active_at=when)


def test_idle_customers_are_warned_then_returned_and_a_rerun_does_nothing_twice(
    sales_user, other_sales_user
):
    update_pool_rules(actor=None, release_days=30, warning_days=3)
    now = timezone.now()
    warned = CustomerFactory(owner=sales_user, name="快到期")
    _idle_since(warned, now - 28 * DAY)
    idle = CustomerFactory(owner=other_sales_user, name="久未跟进")
    _idle_since(idle, now - 31 * DAY)
    busy = CustomerFactory(owner=sales_user, name="常联系")
    _idle_since(busy, now - 5 * DAY)

    result = release_idle_customers(now=now)

    assert (result.warned, result.released) == (1, 1)
    warning = Notification.objects.get(kind=NotificationKind.POOL_RELEASE_WARNING)
    assert (warning.recipient, warning.customer_id) == (sales_user, warned.pk)
    idle.refresh_from_db()
    assert idle.owner is None
    change = OwnershipChange.objects.get(customer=idle)
    assert (change.kind, change.from_owner, change.actor) == (
        OwnershipChangeKind.AUTO_RELEASE,
        other_sales_user,
        None,
    )
    released = Notification.objects.get(kind=NotificationKind.POOL_RELEASED)
    assert (released.recipient, released.customer_id) == (other_sales_user, idle.pk)
    event = AuditEvent.objects.get(action="pool.auto_release")
    assert event.changes == {"customers": [idle.pk], "count": 1}

    rerun = release_idle_customers(now=now)
    assert rerun.released == 0
    assert Notification.objects.count() == 2
    assert OwnershipChange.objects.count() == 1

    # Four days later the warned customer is returned in turn.
    later = release_idle_customers(now=now + 4 * DAY)
    assert later.released == 1
    warned.refresh_from_db()
    assert warned.owner is None
    busy.refresh_from_db()
    assert busy.owner == sales_user


def test_the_owners_work_restarts_the_idle_clock_and_someone_elses_does_not(sales_user, make_user):
    update_pool_rules(actor=None, release_days=30, warning_days=3)
    service = make_user(roles.SERVICE)
    now = timezone.now()
    customer = CustomerFactory(owner=sales_user)
    _idle_since(customer, now - 40 * DAY)
    record_interaction(actor=service, customer=customer, kind="call", occurred_at=now)
    customer.refresh_from_db()
    assert customer.owner_active_at < now - 39 * DAY
    update_customer(actor=sales_user, customer=customer, notes="Called back")
    customer.refresh_from_db()
    assert customer.owner_active_at >= now
    assert release_idle_customers(now=now).released == 0


def test_switched_off_rules_release_nobody(sales_user):
    update_pool_rules(actor=None, auto_release=False)
    customer = CustomerFactory(owner=sales_user)
    _idle_since(customer, timezone.now() - 400 * DAY)
    assert release_idle_customers().released == 0


def test_rules_are_validated_and_audited(admin_user_role):
    with pytest.raises(ValidationError):
        update_pool_rules(actor=admin_user_role, release_days=5, warning_days=5)
    update_pool_rules(actor=admin_user_role, claim_quota=80)
    assert pool_rules().claim_quota == 80
    event = AuditEvent.objects.get(action="pool.rules")
    assert event.changes == {"claim_quota": [50, 80]}


# --- pages


def test_pool_page_lists_unowned_customers_masked_with_claim_buttons(
    client, sales_user, other_sales_user, django_assert_max_num_queries
):
    in_pool = [CustomerFactory(name=f"公海客户{n}", phone="13800138000") for n in range(3)]
    CustomerFactory(name="我的", owner=sales_user)
    CustomerFactory(name="别人的", owner=other_sales_user)
    client.force_login(sales_user)
    with django_assert_max_num_queries(12):
        response = client.get("/pool/")
    assert {c.pk for c in response.context["customers"]} == {c.pk for c in in_pool}
    body = response.content.decode()
    assert "13800138000" not in body
    assert "138****8000" in body
    assert f"/pool/{in_pool[0].pk}/claim/" in body


def test_at_the_quota_the_page_says_so_once_and_the_claim_buttons_are_off(client, sales_user):
    update_pool_rules(actor=None, claim_quota=1)
    CustomerFactory(name="公海客户", phone="13800138000")
    client.force_login(sales_user)
    assert 'id="pool-at-quota"' not in client.get("/pool/").content.decode()
    CustomerFactory(name="我的", owner=sales_user)
    body = client.get("/pool/").content.decode()
    assert "return one to the pool before claiming another" in body
    assert body.count(" disabled aria-label=") == 1


def test_pool_search_keeps_the_text_out_of_the_url(client, sales_user):
    wanted = CustomerFactory(name="王小明")
    CustomerFactory(name="李雷")
    client.force_login(sales_user)
    response = client.post("/pool/", {"q": "王小明"})
    assert "王" not in response["Location"]
    shown = client.get(response["Location"]).context["customers"]
    assert [c.pk for c in shown] == [wanted.pk]


def test_claim_button_then_customer_page_shows_the_history_and_a_release_form(client, sales_user):
    customer = CustomerFactory(name="按钮客户")
    client.force_login(sales_user)
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert f"/pool/{customer.pk}/claim/" in page
    response = client.post(f"/pool/{customer.pk}/claim/", {"back": "customer"})
    assert response["Location"] == f"/customers/{customer.pk}/"
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert "Claimed from the pool" in page
    assert f"/pool/{customer.pk}/release/" in page
    response = client.post(f"/pool/{customer.pk}/release/", {"reason": "Wrong region"})
    assert response.status_code == 302
    assert pool_customers(user=sales_user).filter(pk=customer.pk).exists()


def test_a_lost_race_on_the_page_says_so(client, sales_user, other_sales_user):
    customer = CustomerFactory()
    claim_customer(actor=other_sales_user, customer=customer)
    client.force_login(sales_user)
    # Now someone else's: out of the salesperson's scope.
    assert client.post(f"/pool/{customer.pk}/claim/").status_code == 404


def test_rules_page_saves_the_rules(client, admin_user_role):
    client.force_login(admin_user_role)
    response = client.post(
        "/pool/rules/",
        {"claim_quota": 20, "release_days": 14, "warning_days": 2, "auto_release": "on"},
    )
    assert response.status_code == 302
    rules = pool_rules()
    assert (rules.claim_quota, rules.release_days, rules.warning_days) == (20, 14, 2)
    bad = client.post("/pool/rules/", {"claim_quota": 0, "release_days": 14, "warning_days": 2})
    assert bad.status_code == 200
    assert bad.context["form"].errors


# --- duplicate checks cover the pool and owned customers alike


def test_the_door_flags_a_pool_customer_by_name_for_sales_and_by_phone_for_whoever_sees_it(
    sales_user, admin_user_role
):
    born = datetime.date(1990, 5, 1)
    pooled = CustomerFactory(name="陈静", phone="13800138000", city="上海", birth_date=born)
    matches = likely_duplicates(
        user=sales_user, values={"name": "陈静", "city": "上海市", "birth_date": born}
    )
    assert [match.customer.pk for match in matches] == [pooled.pk]
    # The salesperson may not see the pool customer's phone: matching on it would confirm it.
    assert possible_duplicates(user=sales_user, phone="+8613800138000") == []
    assert [c.pk for c in possible_duplicates(user=admin_user_role, phone="+8613800138000")] == [
        pooled.pk
    ]


def test_the_duplicate_scan_pairs_a_new_customer_with_another_reps_and_a_pool_customer(
    sales_user, other_sales_user
):
    theirs = CustomerFactory(name="陈静", phone="13800138000", owner=other_sales_user)
    pooled = CustomerFactory(name="赵磊", phone="13911112222")
    mine_a = CustomerFactory(name="陈婧", phone="+86 138-0013-8000", owner=sales_user)
    mine_b = CustomerFactory(name="赵磊", phone="139 1111 2222", owner=sales_user)
    scan()
    assert {pair(theirs, mine_a), pair(pooled, mine_b)} <= set(open_pairs())


def test_the_ownership_history_is_in_the_copy_and_erasure_clears_its_reasons(sales_user):
    customer = CustomerFactory()
    claim_customer(actor=sales_user, customer=customer)
    customer.refresh_from_db()
    release_customer(actor=sales_user, customer=customer, reason="Zhang Wei asked for another rep")

    section = next(s for s in COPY_SECTIONS if s.name == "ownership_changes")
    rows = list(section.rows([customer.pk]))
    assert [row.kind for row in rows] == [OwnershipChangeKind.CLAIM, OwnershipChangeKind.RELEASE]
    scrubber = next(s for s in SCRUBBERS if s.name == "ownership_changes")
    assert scrubber.scrub(Erasure(ids=[customer.pk], now=timezone.now(), evidence="")) == 1
    assert not OwnershipChange.objects.filter(customer=customer).exclude(reason="").exists()
