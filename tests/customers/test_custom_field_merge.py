"""Custom values in a merge (customers/custom_fields/records.py merged_values, merge.py,
dedup/views.py): each value from the newest record holding one unless the reviewer chooses,
several choices united, sealed values kept sealed, undo restoring the survivor's own; the
comparison page offers the choice per field."""

import pytest
from django.urls import reverse

from customers import services
from customers.custom_fields.models import FieldType, Sensitivity
from customers.custom_fields.records import unseal
from customers.dedup.scan import SCAN_JOBS
from customers.merge import merge_customers, undo_merge
from customers.models import Customer, DuplicateScan, ScanMode
from tests.customers.test_custom_fields import define_field, redefine
from tests.customers.test_dedup import open_pairs, scan

pytestmark = pytest.mark.django_db


@pytest.fixture
def health(admin_user_role):
    admin = admin_user_role
    define_field(admin, FieldType.CHOICE, label="Membership level")
    define_field(admin, FieldType.CHOICES, label="Interests")
    define_field(admin, FieldType.NUMBER, label="Points")
    define_field(admin, FieldType.TEXT, label="WeChat id", sensitivity=Sensitivity.PERSONAL)
    return define_field(
        admin, FieldType.TEXT, label="Health notes", sensitivity=Sensitivity.SENSITIVE
    )


@pytest.fixture
def twins(admin_user_role, health):
    older = services.create_customer(
        actor=admin_user_role,
        name="吴敏",
        phone="13811112222",
        custom={
            "membership_level": "Gold",
            "interests": "Gold",
            "wechat_id": "wumin_1979",
            "health_notes": "asthma",
        },
    )
    newer = services.create_customer(
        actor=admin_user_role,
        name="Wu Min",
        phone="+86 138 1111 2222",
        custom={"membership_level": "Silver", "interests": "Silver", "points": "5"},
    )
    return older, newer


def test_values_come_from_the_newest_record_and_several_choices_are_united(
    service_user, twins, health
):
    older, newer = twins
    before = Customer.objects.get(pk=older.pk).custom
    record = merge_customers(actor=service_user, survivor=older, others=[newer])
    older.refresh_from_db()
    assert {key: value for key, value in older.custom.items() if key != "health_notes"} == {
        "membership_level": "silver",
        "interests": ["gold", "silver"],
        "points": "5",
        "wechat_id": "wumin_1979",
    }
    assert unseal(health, older.custom["health_notes"]) == "asthma"
    undo_merge(actor=service_user, merge=record)
    older.refresh_from_db()
    assert older.custom == before


def test_the_reviewers_choice_wins(service_user, twins):
    older, newer = twins
    merge_customers(
        actor=service_user,
        survivor=newer,
        others=[older],
        field_choices={"custom.membership_level": older.pk, "custom.interests": newer.pk},
    )
    newer.refresh_from_db()
    assert (newer.custom["membership_level"], newer.custom["interests"]) == ("gold", ["silver"])


def test_the_comparison_offers_each_custom_value_and_merges_the_chosen_one(
    client, service_user, analyst_user, twins
):
    older, newer = twins
    SCAN_JOBS.run(
        DuplicateScan.objects.create(mode=ScanMode.FULL, min_probability=0.5, status="queued").pk
    )
    url = reverse("duplicates:group", args=[older.pk])
    client.force_login(service_user)
    rows = {row.field: row for row in client.get(url).context["rows"]}
    level = rows["custom.membership_level"]
    assert [cell.text for cell in level.cells] == ["Gold", "Silver"]
    assert level.differs
    assert [cell.default for cell in level.cells] == [False, True]
    assert [cell.text for cell in rows["custom.health_notes"].cells] == ["a***", ""]
    response = client.post(
        url,
        {
            "action": "merge",
            "member": [older.pk, newer.pk],
            "survivor": older.pk,
            "field_custom.membership_level": older.pk,
        },
    )
    assert response.status_code == 302
    older.refresh_from_db()
    assert older.custom["membership_level"] == "gold"


@pytest.mark.parametrize("sealed", [False, True])
def test_a_shared_identifying_value_makes_a_duplicate_pair(admin_user_role, sealed):
    """Two records of one member with nothing else in common but a name that sounds the same:
    the scan finds them only once the membership card is marked as identifying (a sealed card
    number by its blind index), in a full scan and in an incremental one."""
    card = define_field(
        admin_user_role,
        FieldType.TEXT,
        label="Member card",
        sensitivity=Sensitivity.SENSITIVE if sealed else Sensitivity.ORDINARY,
    )
    first = services.create_customer(
        actor=admin_user_role, name="吴敏", custom={"member_card": "VIP-0042"}
    )
    second = services.create_customer(
        actor=admin_user_role, name="Wu Min", custom={"member_card": "VIP-0042"}
    )
    scan()
    assert open_pairs() == {}
    redefine(admin_user_role, card, identifying=True)
    scan()
    assert set(open_pairs()) == {(first.pk, second.pk)}
    third = services.create_customer(
        actor=admin_user_role, name="Wu Min", custom={"member_card": "VIP-0042"}
    )
    scan(ScanMode.INCREMENTAL)
    assert {pair for pair in open_pairs() if third.pk in pair}


def test_a_yes_no_marked_identifying_pairs_no_one(admin_user_role):
    """Everyone who answered yes shares the answer: it identifies nobody, whatever the mark."""
    define_field(admin_user_role, FieldType.YES_NO, label="Club member", identifying=True)
    for name in ("吴敏", "李雷", "韩梅梅"):
        services.create_customer(actor=admin_user_role, name=name, custom={"club_member": "yes"})
    scan()
    assert open_pairs() == {}
