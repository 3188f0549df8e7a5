"""Merging duplicates: values, every related row, tombstones, atomicity, undo, permissions."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from customers import merge as merging
from customers.models import Contact, Customer, CustomerMerge, ExternalId, Tag
from interactions.models import FollowUp, Interaction, Transaction
from privacy.models import AuditEvent
from tests.factories import CustomerFactory, InteractionFactory, TransactionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def duplicates(service_user):
    vip, new = Tag.objects.create(name="VIP"), Tag.objects.create(name="新客")
    older = CustomerFactory(
        name="王丽娟",
        phone="13800138000",
        city="上海",
        street="南京西路 1 号",
        notes="喜欢绿茶",
        consent_email=True,
        consent_sms=True,
        tags=[vip],
        external_ids=[("shop", "S1")],
        id_document_kind="cn_resident",
        id_number="11010519491231002X",
    )
    newer = CustomerFactory(
        name="王丽娟",
        email="wlj@example.com",
        city="杭州",
        street="文三路 9 号",
        notes="换了地址",
        consent_email=True,
        tags=[new],
        external_ids=[("pos", "P9")],
    )
    Customer.objects.filter(pk=older.pk).update(
        updated_at=timezone.now() - datetime.timedelta(days=30)
    )
    older.refresh_from_db()
    Contact.objects.create(customer=older, name="张助理", is_primary=True)
    Contact.objects.create(customer=newer, name="李秘书", is_primary=True)
    TransactionFactory(customer=older)
    TransactionFactory(customer=newer)
    InteractionFactory(customer=newer)
    FollowUp.objects.create(
        customer=newer, title="回访", due_at=timezone.now(), assignee=service_user
    )
    return older, newer


def _related_counts(customer):
    return (
        customer.contacts.count(),
        Transaction.objects.filter(customer=customer).count(),
        Interaction.objects.filter(customer=customer).count(),
        FollowUp.objects.filter(customer=customer).count(),
        ExternalId.objects.filter(customer=customer).count(),
    )


def test_merge_takes_the_newest_values_and_moves_every_related_row(service_user, duplicates):
    older, newer = duplicates
    record = merging.merge_customers(actor=service_user, survivor=older, others=[newer])
    older.refresh_from_db()
    newer.refresh_from_db()
    # Newest non-empty value per group; the phone only the older record had.
    assert (older.email, older.city, older.street, older.phone) == (
        "wlj@example.com",
        "杭州市",
        "文三路 9 号",
        "+8613800138000",
    )
    assert older.id_number_masked  # kept from the only record that had one
    assert older.notes == "换了地址\n\n喜欢绿茶"
    # Consent only where both records gave it.
    assert (older.consent_email, older.consent_sms) == (True, False)
    assert set(older.tags.values_list("name", flat=True)) == {"VIP", "新客"}
    assert _related_counts(older) == (2, 2, 1, 1, 2)
    assert _related_counts(newer) == (0, 0, 0, 0, 0)
    assert older.contacts.filter(is_primary=True).count() == 1
    assert newer.merged_into == older
    assert list(record.merged.all()) == [newer]
    event = AuditEvent.objects.get(action="customer.merge")
    assert event.changes["customers"] == [newer.pk]
    assert event.changes["city"] == ["上***", "杭***"]  # places masked like the rest
    assert "wlj@example.com" not in str(event.changes)  # masked


def test_the_reviewer_can_choose_a_fields_value(service_user, duplicates):
    older, newer = duplicates
    merging.merge_customers(
        actor=service_user, survivor=newer, others=[older], field_choices={"country": older.pk}
    )
    newer.refresh_from_db()
    assert (newer.city, newer.street) == ("上海市", "南京西路 1 号")


def test_a_failure_midway_changes_nothing(service_user, duplicates, monkeypatch):
    older, newer = duplicates

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(merging, "record_event", fail)
    with pytest.raises(RuntimeError):
        merging.merge_customers(actor=service_user, survivor=older, others=[newer])
    older.refresh_from_db()
    newer.refresh_from_db()
    assert newer.merged_into is None
    assert older.email == ""
    assert _related_counts(older) == (1, 1, 0, 0, 1)
    assert _related_counts(newer) == (1, 1, 1, 1, 1)
    assert not CustomerMerge.objects.exists()


def test_undo_restores_both_customers_exactly(service_user, duplicates):
    older, newer = duplicates
    before = {c.pk: Customer.objects.filter(pk=c.pk).values().get() for c in duplicates}
    before_counts = {c.pk: _related_counts(c) for c in duplicates}
    record = merging.merge_customers(actor=service_user, survivor=older, others=[newer])
    merging.undo_merge(actor=service_user, merge=record)
    for customer in duplicates:
        after = Customer.objects.filter(pk=customer.pk).values().get()
        # Only forward: a form opened before the merge or the undo is stale.
        assert after["version"] >= before[customer.pk]["version"]
        assert {k: v for k, v in after.items() if k not in ("updated_at", "version")} == {
            k: v for k, v in before[customer.pk].items() if k not in ("updated_at", "version")
        }
        assert _related_counts(customer) == before_counts[customer.pk]
    assert Customer.objects.get(pk=older.pk).version == before[older.pk]["version"] + 2
    assert set(older.tags.values_list("name", flat=True)) == {"VIP"}
    assert Contact.objects.get(name="李秘书").is_primary
    assert AuditEvent.objects.filter(action="customer.unmerge").exists()
    with pytest.raises(ValidationError):
        merging.undo_merge(actor=service_user, merge=record)


def test_only_the_last_merge_can_be_undone(service_user, duplicates):
    older, newer = duplicates
    third = CustomerFactory(name="王丽娟")
    first = merging.merge_customers(actor=service_user, survivor=older, others=[newer])
    merging.merge_customers(actor=service_user, survivor=older, others=[third])
    with pytest.raises(ValidationError):
        merging.undo_merge(actor=service_user, merge=first)


def test_merged_customers_cannot_be_merged_again(service_user, duplicates):
    older, newer = duplicates
    with pytest.raises(ValidationError):
        merging.merge_customers(actor=service_user, survivor=older, others=[older])
    merging.merge_customers(actor=service_user, survivor=older, others=[newer])
    with pytest.raises(ValidationError):
        merging.merge_customers(actor=service_user, survivor=older, others=[newer])


def test_a_tombstones_old_link_redirects_to_the_survivor(client, service_user, duplicates):
    older, newer = duplicates
    merging.merge_customers(actor=service_user, survivor=older, others=[newer])
    client.force_login(service_user)
    response = client.get(f"/customers/{newer.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{older.pk}/"


def test_the_command_merges(service_user, duplicates, capsys, admin_user_role):
    import json

    older, newer = duplicates
    call_command(
        "merge_customers", str(older.pk), str(newer.pk), "--user", admin_user_role.username
    )
    assert json.loads(capsys.readouterr().out)["merged"] == [newer.pk]
    newer.refresh_from_db()
    assert newer.merged_into_id == older.pk


def test_the_command_refuses_a_user_who_may_not_merge(sales_user, duplicates):
    older, newer = duplicates
    with pytest.raises(CommandError, match="may not merge"):
        call_command("merge_customers", str(older.pk), str(newer.pk), "--user", sales_user.username)
    assert not CustomerMerge.objects.exists()


def test_a_merge_of_customers_since_restricted_is_not_undone(service_user, duplicates):
    older, newer = duplicates
    record = merging.merge_customers(actor=service_user, survivor=older, others=[newer])
    Customer.objects.filter(pk=newer.pk).update(restricted_at=timezone.now())
    with pytest.raises(ValidationError, match="restricted"):
        merging.undo_merge(actor=service_user, merge=record)
    assert Customer.objects.get(pk=newer.pk).merged_into_id == older.pk


def test_only_one_primary_contact_survives_when_the_survivor_had_none(service_user):
    survivor, a, b = (CustomerFactory(name=name) for name in ("王", "王丽娟", "王 丽娟"))
    Contact.objects.create(customer=a, name="甲", is_primary=True)
    Contact.objects.create(customer=b, name="乙", is_primary=True)
    record = merging.merge_customers(actor=service_user, survivor=survivor, others=[a, b])
    assert survivor.contacts.count() == 2
    assert survivor.contacts.filter(is_primary=True).count() == 1
    merging.undo_merge(actor=service_user, merge=record)
    assert Contact.objects.filter(is_primary=True).count() == 2


def test_a_confirmed_phone_is_kept_over_a_newer_unconfirmed_one(service_user):
    older = CustomerFactory(name="Mia Ross", phone="13900000001", phone_verified=True)
    newer = CustomerFactory(name="Mia Ross", phone="13900000002", email="mia@example.com")
    merging.merge_customers(actor=service_user, survivor=newer, others=[older])
    newer.refresh_from_db()
    assert (newer.phone, newer.phone_verified) == ("+8613900000001", True)
    assert newer.email == "mia@example.com"  # the newest value where nothing is confirmed


def test_a_changed_phone_is_unconfirmed_until_confirmed_again():
    from customers import services

    customer = CustomerFactory(name="Leo Hart", phone="13900000003", phone_verified=True)
    # The form sends the tick left over from the old number: it does not confirm the new one.
    services.update_customer(
        actor=None, customer=customer, phone="13900000004", phone_verified=True
    )
    customer.refresh_from_db()
    assert customer.phone_verified is False
    services.update_customer(actor=None, customer=customer, phone_verified=True)
    customer.refresh_from_db()
    assert customer.phone_verified is True


def _aged(customer, days):
    Customer.objects.filter(pk=customer.pk).update(
        updated_at=timezone.now() - datetime.timedelta(days=days)
    )
    customer.refresh_from_db()
    return customer


def test_the_more_complete_value_of_a_field_group_wins_and_the_newest_breaks_ties(service_user):
    full = _aged(
        CustomerFactory(
            name="王丽娟",
            province="浙江省",
            city="杭州",
            district="西湖区",
            street="文三路 9 号",
            postcode="310012",
            company_name="西湖茶社",
            industry="餐饮",
        ),
        30,
    )
    sparse = CustomerFactory(name="王丽娟", province="上海市", city="上海", company_name="茶社")
    tie = CustomerFactory(name="王丽娟", province="浙江省", city="杭州", company_name="西湖茶社")
    customers = [full, sparse, tie]
    sources = merging.default_sources(full, customers)
    # The address with a street and postcode beats newer ones without; so does the company
    # with its industry.
    assert sources["country"] == full
    assert sources["company_name"] == full
    # Equally complete: the most recently updated, as before.
    assert merging.default_sources(sparse, [sparse, _aged(tie, 10)])["country"] == sparse
    merging.merge_customers(actor=service_user, survivor=sparse, others=[full, tie])
    sparse.refresh_from_db()
    assert (sparse.street, sparse.postcode, sparse.city, sparse.industry) == (
        "文三路 9 号",
        "310012",
        "杭州市",
        "餐饮",
    )
