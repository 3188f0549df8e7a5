"""Custom values and the data subject (customers/privacy.py): the copy holds every one whole
(a sealed one decrypted: it is the person's own), archived fields' included; an erasure leaves
none of them anywhere in the database, nor in an import report that quoted one."""

import json

import pytest

from customers import services
from customers.custom_fields import services as field_services
from customers.custom_fields.models import FieldType, Sensitivity
from privacy.models import RequestKind
from privacy.subjects import copy as subject_copy
from privacy.subjects import services as requests
from tests.customers.test_custom_fields import define_field
from tests.factories import import_issue
from tests.privacy.test_subject_requests import _database_dump, _read_zip, _verified

pytestmark = pytest.mark.django_db

WECHAT = "quixby_wx_7731"
HEALTH = "Quixby penicillin allergy"
STORE = "Quixby Plaza store"


@pytest.fixture
def customer(admin_user_role, service_user):
    admin = admin_user_role
    define_field(admin, FieldType.CHOICE, label="Membership level", label_zh="会员等级")
    define_field(admin, FieldType.TEXT, label="WeChat id", sensitivity=Sensitivity.PERSONAL)
    define_field(admin, FieldType.TEXT, label="Health notes", sensitivity=Sensitivity.SENSITIVE)
    store = define_field(admin, FieldType.TEXT, label="Store")
    customer = services.create_customer(
        actor=service_user,
        name="Zed Quixby",
        custom={
            "membership_level": "Gold",
            "wechat_id": WECHAT,
            "health_notes": HEALTH,
            "store": STORE,
        },
    )
    field_services.archive_field(actor=admin, field=store)  # its value is still held
    return customer


def test_the_copy_holds_every_custom_value_whole(privacy_user, customer, tmp_path):
    request = _verified(privacy_user, customer, RequestKind.ACCESS)
    path = tmp_path / "copy.zip"
    counts = subject_copy.write_copy(customer, path, request=request)
    files = _read_zip(path)
    assert counts["custom_fields"] == 1
    [row] = json.loads(files["json/custom_fields.json"])
    assert row == {
        "id": customer.pk,
        "custom.membership_level": "Gold",
        "custom.wechat_id": WECHAT,
        "custom.health_notes": HEALTH,
        "custom.store": STORE,
    }
    assert (
        files["csv/custom_fields.csv"]
        .splitlines()[0]
        .endswith("Membership level,WeChat id,Health notes,Store")
    )


@pytest.mark.django_db(transaction=True)
def test_an_erasure_leaves_no_custom_value_anywhere(privacy_user, service_user, customer):
    sealed = customer.custom["health_notes"]
    import_issue(WECHAT, created_by=service_user)  # a report that quoted the value
    before = _database_dump()
    seeded = [WECHAT, STORE, sealed["sealed"], sealed["index"]]
    assert all(value in before for value in seeded)

    request = _verified(privacy_user, customer, RequestKind.ERASURE)
    requests.erase_for_request(actor=privacy_user, request=request, resolution="Erased.")

    dump = _database_dump()
    assert [value for value in seeded if value in dump] == []
    customer.refresh_from_db()
    assert customer.custom == {}


@pytest.mark.django_db(transaction=True)
def test_an_erasure_scrubs_only_the_custom_texts_a_report_may_have_quoted(
    privacy_user, service_user, admin_user_role, customer
):
    define_field(admin_user_role, FieldType.NUMBER, label="Points")
    services.update_customer(actor=service_user, customer=customer, custom={"points": "100"})
    unrelated = import_issue("100", created_by=service_user)  # another file's "100"
    request = _verified(privacy_user, customer, RequestKind.ERASURE)
    requests.erase_for_request(actor=privacy_user, request=request, resolution="Erased.")
    unrelated.refresh_from_db()
    assert unrelated.value == "100"
