import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from customers import services
from customers.models import Customer, LifecycleStage
from interactions import services as interaction_services
from privacy import consent, crypto
from privacy.models import AuditEvent
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

VALID_CN_ID = "11010519491231002X"


def test_create_customer_stores_normalised_values_beside_raw_ones(sales_user):
    customer = services.create_customer(
        actor=sales_user,
        name="  张　伟 ",
        phone="+86 138-0013-8000",
        email=" ZhangWei@QQ.com ",
        birth_date="1990年3月7日",
    )
    customer.refresh_from_db()
    assert (customer.name, customer.family_name, customer.given_name) == ("张伟", "张", "伟")
    assert customer.phone == "+8613800138000"
    assert customer.phone_raw == "+86 138-0013-8000"
    assert customer.email == "zhangwei@qq.com"
    assert customer.birth_date == datetime.date(1990, 3, 7)
    assert customer.lifecycle_stage == LifecycleStage.LEAD
    assert list(customer.stage_changes.values_list("to_stage", flat=True)) == ["lead"]


def test_create_customer_reports_every_invalid_field_at_once():
    with pytest.raises(ValidationError) as raised:
        services.create_customer(
            actor=None, name=" ", phone="12345", email="not-an-email", birth_date="1990-02-30"
        )
    assert set(raised.value.message_dict) == {"name", "phone", "email", "birth_date"}
    assert not Customer.objects.exists()


def test_id_number_is_encrypted_with_blind_index_and_fills_birth_date_and_gender():
    customer = services.create_customer(
        actor=None, name="李娜", id_document_kind="cn_resident", id_number="11010519491231002x"
    )
    customer.refresh_from_db()
    assert VALID_CN_ID not in customer.id_number_encrypted
    assert crypto.key_id_of(customer.id_number_encrypted) == crypto.current_key_id()
    assert customer.id_number_masked == "110***********002X"
    assert customer.birth_date == datetime.date(1949, 12, 31)
    assert customer.gender == "female"
    blind = services.id_number_blind_index("cn_resident", " 110105 19491231 002X ")
    assert Customer.objects.get(id_number_blind_index=blind) == customer


def test_invalid_id_number_checksum_is_rejected():
    with pytest.raises(ValidationError) as raised:
        services.create_customer(
            actor=None, name="李娜", id_document_kind="cn_resident", id_number="110105194912310021"
        )
    assert "id_number" in raised.value.message_dict


def test_reveal_id_number_needs_permission_and_is_audited(privacy_user, analyst_user):
    customer = services.create_customer(
        actor=None, name="李娜", id_document_kind="cn_resident", id_number=VALID_CN_ID
    )
    with pytest.raises(PermissionDenied):
        services.reveal_id_number(actor=analyst_user, customer=customer)
    assert services.reveal_id_number(actor=privacy_user, customer=customer) == VALID_CN_ID
    events = AuditEvent.objects.filter(action="customer.reveal_id", target_id=str(customer.pk))
    assert list(events.values_list("actor", flat=True)) == [privacy_user.pk]


def test_update_records_only_real_changes_masked_in_the_audit_log(sales_user):
    customer = CustomerFactory(phone="13800138000", email="a.person@example.com")
    services.update_customer(
        actor=sales_user,
        customer=customer,
        phone="139 1234 5678",
        email="A.Person@example.com",
        city="上海",
        notes="prefers evening calls",
    )
    event = AuditEvent.objects.get(action="customer.update", target_id=str(customer.pk))
    assert event.actor == sales_user
    # The new city fills the empty province (customers/places.py).
    assert set(event.changes) == {
        "phone",
        "phone_raw",
        "email_raw",
        "province",
        "city",
        "notes",
        "version",
    }
    assert event.changes["phone"] == ["138****8000", "139****5678"]
    assert event.changes["notes"] == ["", "…"]
    assert "prefers" not in str(event.changes)


def test_audit_events_hold_no_identifying_profile_values(sales_user):
    """Audit rows are never changed, not even by an erasure: names, places, dates of birth and
    contact details are recorded masked, or only as changed."""
    customer = CustomerFactory(name="王小明", city="北京", birth_date="1990-03-07")
    services.update_customer(
        actor=sales_user,
        customer=customer,
        name="王大明",
        city="上海市",
        birth_date="1991-04-08",
        company_name="北京示例科技有限公司",
    )
    created = AuditEvent.objects.get(action="customer.create", target_id=str(customer.pk))
    updated = AuditEvent.objects.get(action="customer.update", target_id=str(customer.pk))
    assert updated.changes["name"] == ["王***", "王***"]
    assert updated.changes["city"] == ["北***", "上***"]
    assert updated.changes["birth_date"] == ["…", "…"]
    assert updated.changes["company_name"] == ["", "北***"]
    for text in ("小明", "大明", "1990", "1991", "示例", "上海市"):
        assert text not in str(created.changes) + str(updated.changes)


def test_update_without_changes_writes_nothing(sales_user):
    customer = CustomerFactory(phone="13800138000")
    services.update_customer(actor=sales_user, customer=customer, phone="13800138000", city="")
    assert not AuditEvent.objects.filter(action="customer.update").exists()


def test_stage_change_is_kept_in_history(sales_user):
    customer = CustomerFactory()
    services.change_lifecycle_stage(
        actor=sales_user, customer=customer, stage=LifecycleStage.CUSTOMER
    )
    change = customer.stage_changes.first()
    assert (change.from_stage, change.to_stage, change.changed_by) == (
        "lead",
        "customer",
        sales_user,
    )


def test_external_id_is_unique_per_system():
    first, second = CustomerFactory(), CustomerFactory()
    services.add_external_id(actor=None, customer=first, system="shopify", external_id="1001")
    # Linking the same id to the same customer again is a no-op.
    services.add_external_id(actor=None, customer=first, system="shopify", external_id="1001")
    with pytest.raises(ValidationError):
        services.add_external_id(actor=None, customer=second, system="shopify", external_id="1001")
    services.add_external_id(actor=None, customer=second, system="tmall", external_id="1001")
    assert first.external_ids.count() == 1


def test_making_a_contact_primary_demotes_the_previous_one():
    company = CustomerFactory(kind="company", name="上海星辰贸易有限公司")
    first = services.save_contact(actor=None, customer=company, name="王芳", is_primary=True)
    second = services.save_contact(
        actor=None, customer=company, name="陈杰", phone="021 6552 9988", is_primary=True
    )
    first.refresh_from_db()
    assert not first.is_primary
    assert second.is_primary
    assert second.phone == "+862165529988"


def test_archive_and_restore_are_idempotent_and_audited(sales_user):
    customer = CustomerFactory()
    services.archive_customer(actor=sales_user, customer=customer)
    services.archive_customer(actor=sales_user, customer=customer)
    assert customer.is_archived
    services.restore_customer(actor=sales_user, customer=customer)
    actions = list(
        AuditEvent.objects.filter(target_type="customers.customer", target_id=str(customer.pk))
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["customer.create", "customer.archive", "customer.restore"]


def test_record_activity_never_moves_backwards():
    customer = CustomerFactory()
    later = datetime.datetime(2025, 6, 1, tzinfo=datetime.UTC)
    services.record_activity(customer_id=customer.pk, at=later)
    services.record_activity(customer_id=customer.pk, at=later - datetime.timedelta(days=30))
    customer.refresh_from_db()
    assert customer.last_activity_at == later


TWO_MILLION = "备" * 2_000_000


def test_a_value_stored_before_its_limit_does_not_block_other_edits(service_user):
    """A note imported before notes had a maximum stays editable around: changing the city
    works, and only a change of the note itself must meet the limit."""
    customer = CustomerFactory(city="上海")
    Customer.objects.filter(pk=customer.pk).update(notes="旧" * 20_000)
    customer.refresh_from_db()
    services.update_customer(actor=service_user, customer=customer, city="杭州")
    customer.refresh_from_db()
    assert (customer.city, len(customer.notes)) == ("杭州市", 20_000)
    with pytest.raises(ValidationError) as raised:
        services.update_customer(actor=service_user, customer=customer, notes="新" * 20_000)
    assert list(raised.value.message_dict) == ["notes"]


def test_services_refuse_a_two_million_character_note_whoever_calls_them(service_user):
    with pytest.raises(ValidationError) as raised:
        services.create_customer(actor=service_user, name="Li Lei", notes=TWO_MILLION)
    assert list(raised.value.message_dict) == ["notes"]
    assert "10000" in raised.value.message_dict["notes"][0]
    customer = CustomerFactory()
    with pytest.raises(ValidationError) as raised:
        services.update_customer(actor=service_user, customer=customer, notes=TWO_MILLION)
    assert list(raised.value.message_dict) == ["notes"]
    with pytest.raises(ValidationError) as raised:
        interaction_services.record_interaction(
            actor=service_user, customer=customer, kind="call", body=TWO_MILLION
        )
    assert list(raised.value.message_dict) == ["body"]
    with pytest.raises(ValidationError) as raised:
        interaction_services.schedule_follow_up(
            actor=service_user,
            customer=customer,
            title="Call back",
            due_at=timezone.now(),
            assignee=service_user,
            notes=TWO_MILLION,
        )
    assert list(raised.value.message_dict) == ["notes"]
    customer.refresh_from_db()
    assert customer.notes == ""
    assert not customer.interactions.exists()
    assert not customer.follow_ups.exists()


@pytest.mark.parametrize("bad", ["\ufffd", "\x00", "\x1b", "\ufdd0"])
def test_services_refuse_characters_nobody_typed_as_field_errors(service_user, bad):
    with pytest.raises(ValidationError) as raised:
        services.create_customer(
            actor=service_user, name=f"Li{bad}Lei", city=f"Shang{bad}hai", notes=f"a{bad}"
        )
    # Places are normalised too, so the city is refused in the same round as the name.
    assert set(raised.value.message_dict) == {"name", "city"}
    with pytest.raises(ValidationError) as raised:
        services.create_customer(actor=service_user, name="Li Lei", city=f"Shang{bad}hai")
    assert raised.value.error_dict["city"][0].code == "unreadable_text"
    customer = CustomerFactory()
    with pytest.raises(ValidationError) as raised:
        services.update_customer(actor=service_user, customer=customer, notes=f"ok {bad} ok")
    assert raised.value.error_dict["notes"][0].code == "unreadable_text"
    with pytest.raises(ValidationError) as raised:
        interaction_services.record_interaction(
            actor=service_user, customer=customer, kind="call", subject=f"bad{bad}"
        )
    assert raised.value.error_dict["subject"][0].code == "unreadable_text"
    with pytest.raises(ValidationError) as raised:
        consent.record_consent(
            actor=service_user,
            customer=customer,
            purpose="marketing_email",
            granted=True,
            source="staff",
            evidence=f"signed{bad}",
        )
    assert raised.value.error_dict["evidence"][0].code == "unreadable_text"
    customer.refresh_from_db()
    assert (customer.notes, customer.consent_email) == ("", False)
    assert Customer.objects.count() == 1
    assert not customer.interactions.exists()
