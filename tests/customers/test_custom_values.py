"""Custom values on customers (customers/custom_fields/records.py, value_forms.py): written by
the customer services, sealed when sensitive, masked when personal, audited by key, on the
customer form and the customer page, rewritten when a field's type or sealing changes."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse

from customers import services
from customers.audit import CustomerAction
from customers.custom_fields.models import FieldType, Sensitivity
from customers.custom_fields.records import is_sealed, unseal
from customers.custom_fields.services import ChoiceSpec
from customers.models import Customer
from privacy.models import AuditEvent
from tests.customers.test_custom_fields import define_field, redefine
from tests.factories import CustomerFactory, form_data

pytestmark = pytest.mark.django_db


def _stored_text(customer: Customer) -> str:
    """The custom column as the database holds it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT CAST(custom AS TEXT) FROM customers_customer WHERE id = %s", [customer.pk]
        )
        return cursor.fetchone()[0]


def _last_event(customer: Customer, action: str) -> AuditEvent:
    return AuditEvent.objects.filter(
        action=action, target_type="customers.customer", target_id=str(customer.pk)
    ).latest("pk")


@pytest.fixture
def fields(admin_user_role):
    """A field of several kinds, as a business would define them."""
    admin = admin_user_role
    return {
        "level": define_field(admin, FieldType.CHOICE, label="Membership level", required=True),
        "size": define_field(admin, FieldType.NUMBER, label="Shoe size", decimals=1),
        "deposit": define_field(admin, FieldType.MONEY, label="Deposit", default="100"),
        "wechat": define_field(
            admin, FieldType.TEXT, label="WeChat id", sensitivity=Sensitivity.PERSONAL
        ),
        "health": define_field(
            admin, FieldType.TEXT, label="Health notes", sensitivity=Sensitivity.SENSITIVE
        ),
        "story": define_field(admin, FieldType.LONG_TEXT, label="How we met"),
    }


def test_a_new_customer_takes_clean_values_and_the_defaults_left_out(admin_user_role, fields):
    customer = services.create_customer(
        actor=admin_user_role,
        name="林晓燕",
        custom={"membership_level": "金卡", "shoe_size": "３７.５", "wechat_id": "lin_xy"},
    )
    customer.refresh_from_db()
    assert customer.custom == {
        "membership_level": "gold",
        "shoe_size": "37.5",
        "deposit": "100.00",
        "wechat_id": "lin_xy",
    }
    changes = _last_event(customer, CustomerAction.CREATE).changes
    assert changes["custom.membership_level"] == [None, "gold"]
    assert changes["custom.wechat_id"] == ["", "l***"]  # personal: masked in the audit log


def test_required_may_be_left_out_by_a_service_but_not_emptied(admin_user_role, fields):
    customer = services.create_customer(actor=admin_user_role, name="Anna Schmidt")
    assert "membership_level" not in customer.custom
    with pytest.raises(ValidationError) as refused:
        services.update_customer(
            actor=admin_user_role, customer=customer, custom={"membership_level": ""}
        )
    assert set(refused.value.message_dict) == {"custom.membership_level"}


def test_custom_and_profile_problems_are_reported_together(admin_user_role, fields):
    with pytest.raises(ValidationError) as refused:
        services.create_customer(
            actor=admin_user_role,
            name="王伟",
            phone="12345",
            custom={"membership_level": "Platinum", "shoe_size": "big"},
        )
    assert set(refused.value.message_dict) == {
        "phone",
        "custom.membership_level",
        "custom.shoe_size",
    }
    assert not Customer.objects.filter(name="王伟").exists()


def test_a_change_audits_only_what_changed_masked_by_sensitivity(admin_user_role, fields):
    customer = services.create_customer(
        actor=admin_user_role,
        name="林晓燕",
        custom={"membership_level": "Gold", "wechat_id": "lin_xy", "health_notes": "asthma"},
    )
    version = customer.version
    services.update_customer(
        actor=admin_user_role,
        customer=customer,
        custom={
            "membership_level": "Gold",  # unchanged
            "shoe_size": "38",
            "wechat_id": "linxy2024",
            "health_notes": "asthma, mild",
            "how_we_met": "At the Shanghai fair",
        },
    )
    changes = _last_event(customer, CustomerAction.UPDATE).changes
    assert "custom.membership_level" not in changes
    assert changes["custom.shoe_size"] == [None, "38.0"]
    assert changes["custom.wechat_id"] == ["l***", "l***"]
    assert changes["custom.health_notes"] == ["…", "…"]
    assert changes["custom.how_we_met"] == ["", "…"]
    customer.refresh_from_db()
    assert customer.version == version + 1
    # Saving the same values again changes nothing, sealed ones included.
    services.update_customer(
        actor=admin_user_role, customer=customer, custom={"health_notes": "asthma, mild"}
    )
    customer.refresh_from_db()
    assert customer.version == version + 1


def test_a_sensitive_value_is_sealed_at_rest_with_a_blind_index(admin_user_role, fields):
    first = services.create_customer(
        actor=admin_user_role, name="甲", custom={"health_notes": "diabetes type 2"}
    )
    second = services.create_customer(
        actor=admin_user_role, name="乙", custom={"health_notes": "diabetes type 2"}
    )
    assert "diabetes" not in _stored_text(first)
    entries = [Customer.objects.get(pk=c.pk).custom["health_notes"] for c in (first, second)]
    assert all(is_sealed(entry) for entry in entries)
    assert entries[0]["sealed"] != entries[1]["sealed"]  # a fresh nonce each time
    assert entries[0]["index"] == entries[1]["index"]  # the same value is found again
    assert entries[0]["masked"] == "d***"
    assert unseal(fields["health"], entries[0]) == "diabetes type 2"


def test_revealing_a_sensitive_value_needs_the_permission_and_is_audited(
    admin_user_role, sales_user, fields
):
    customer = services.create_customer(
        actor=admin_user_role, name="甲", custom={"health_notes": "asthma"}
    )
    with pytest.raises(PermissionDenied):
        services.reveal_custom_value(actor=sales_user, customer=customer, field=fields["health"])
    assert not AuditEvent.objects.filter(action=CustomerAction.REVEAL_CUSTOM).exists()
    shown = services.reveal_custom_value(
        actor=admin_user_role, customer=customer, field=fields["health"]
    )
    assert shown == "asthma"
    event = _last_event(customer, CustomerAction.REVEAL_CUSTOM)
    assert (event.actor, event.changes) == (admin_user_role, {"field": "health_notes"})


def test_the_reveal_is_a_post_of_someone_allowed(client, admin_user_role, sales_user, fields):
    customer = services.create_customer(
        actor=admin_user_role, name="甲", owner=sales_user, custom={"health_notes": "asthma"}
    )
    url = reverse("customers:reveal_custom", args=[customer.pk, "health_notes"])
    client.force_login(sales_user)
    assert client.post(url).status_code == 403
    client.force_login(admin_user_role)
    assert client.get(url).status_code == 405
    response = client.post(url)
    assert response.status_code == 200
    assert "asthma" in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    not_sensitive = reverse("customers:reveal_custom", args=[customer.pk, "wechat_id"])
    assert client.post(not_sensitive).status_code == 404


def test_the_customer_page_shows_values_masked_as_the_viewer_must_see_them(
    client, admin_user_role, analyst_user, fields
):
    customer = services.create_customer(
        actor=admin_user_role,
        name="林晓燕",
        custom={
            "membership_level": "金卡",
            "deposit": "1200.5",
            "wechat_id": "lin_xy",
            "health_notes": "asthma",
        },
    )
    url = reverse("customers:detail", args=[customer.pk])
    client.force_login(admin_user_role)
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Membership level" in page
    assert "Gold" in page
    assert "CNY 1,200.50" in page
    assert "lin_xy" in page
    assert "asthma" not in page  # sealed: revealed on request only
    assert "a***" in page
    assert reverse("customers:reveal_custom", args=[customer.pk, "health_notes"]) in page

    client.force_login(analyst_user)  # may see the customer, not their personal data
    page = client.get(url).content.decode()
    assert "lin_xy" not in page
    assert "l***" in page
    assert "Gold" in page or "金卡" in page
    assert reverse("customers:reveal_custom", args=[customer.pk, "health_notes"]) not in page


def test_the_form_edits_values_by_group_and_shows_the_services_refusals(
    client, admin_user_role, sales_user, fields
):
    redefine(admin_user_role, fields["size"], decimals=1, group_en="Fitting", group_zh="试穿")
    customer = services.create_customer(
        actor=admin_user_role,
        name="林晓燕",
        owner=sales_user,
        custom={"membership_level": "gold", "health_notes": "asthma"},
    )
    client.force_login(sales_user)
    edit = reverse("customers:edit", args=[customer.pk])
    form = client.get(edit, HTTP_ACCEPT_LANGUAGE="zh-hans").context["form"]
    assert form["custom__membership_level"].value() == "gold"
    assert form["custom__health_notes"].value() in (None, "")  # write-only
    assert [group for group, _ in form.custom_groups()] == ["", "试穿"]

    data = form_data(
        form,
        custom__membership_level="silver",
        custom__shoe_size="big",
        custom__health_notes="",
    )
    refused = client.post(edit, data)
    assert refused.status_code == 200
    assert refused.context["form"].errors["custom__shoe_size"]
    data["custom__shoe_size"] = "38.5"
    assert client.post(edit, data).status_code == 302
    customer.refresh_from_db()
    assert customer.custom["membership_level"] == "silver"
    assert customer.custom["shoe_size"] == "38.5"
    assert unseal(fields["health"], customer.custom["health_notes"]) == "asthma"  # kept


def test_a_required_field_is_asked_for_first_on_the_new_customer_form(client, sales_user, fields):
    client.force_login(sales_user)
    page = client.get(reverse("customers:create"))
    essential = [field.name for field in page.context["form"].essential_fields()]
    assert "custom__membership_level" in essential
    refused = client.post(reverse("customers:create"), {"kind": "person", "name": "周杰"})
    assert refused.context["form"].errors["custom__membership_level"]
    assert not Customer.objects.filter(name="周杰").exists()


def test_a_personal_value_is_left_off_the_form_of_someone_who_may_not_see_it(
    admin_user_role, analyst_user, fields
):
    from customers.forms import CustomerForm

    customer = services.create_customer(
        actor=admin_user_role, name="甲", custom={"wechat_id": "lin_xy"}
    )
    assert "custom__wechat_id" in CustomerForm(instance=customer, viewer=admin_user_role).fields
    assert "custom__wechat_id" not in CustomerForm(instance=customer, viewer=analyst_user).fields


def test_a_type_change_rewrites_the_stored_values_in_their_new_form(admin_user_role):
    size = define_field(admin_user_role, FieldType.TEXT, label="Shoe size")
    customer = CustomerFactory()
    Customer.objects.filter(pk=customer.pk).update(custom={"shoe_size": "４２"})
    changed = redefine(admin_user_role, size, type=FieldType.NUMBER, decimals=1)
    customer.refresh_from_db()
    assert customer.custom == {"shoe_size": "42.0"}
    change = AuditEvent.objects.filter(
        action="custom_field.update", target_id=str(changed.pk)
    ).latest("pk")
    assert change.changes["type"] == ["text", "number"]
    done = AuditEvent.objects.get(action="custom_field_conversion.done")
    assert done.target_id == str(change.changes["conversion"])
    assert done.changes["values_converted"] == 1


def test_sealing_follows_the_sensitivity_both_ways(admin_user_role):
    wechat = define_field(admin_user_role, FieldType.TEXT, label="WeChat id")
    customer = services.create_customer(
        actor=admin_user_role, name="甲", custom={"wechat_id": "lin_xy"}
    )
    for sensitivity, sealed in ((Sensitivity.SENSITIVE, True), (Sensitivity.PERSONAL, False)):
        wechat = redefine(admin_user_role, wechat, sensitivity=sensitivity)
        customer.refresh_from_db()
        assert is_sealed(customer.custom["wechat_id"]) is sealed
        assert ("lin_xy" in _stored_text(customer)) is not sealed
        assert unseal(wechat, customer.custom["wechat_id"]) == "lin_xy"


def test_key_rotation_reseals_sensitive_values_under_the_new_key(admin_user_role, settings):
    from django.core.management import call_command
    from django.test import override_settings

    from privacy import crypto

    health = define_field(
        admin_user_role, FieldType.TEXT, label="Health notes", sensitivity=Sensitivity.SENSITIVE
    )
    customers = [
        services.create_customer(
            actor=admin_user_role, name=f"甲{n}", custom={"health_notes": f"note {n}"}
        )
        for n in range(3)
    ]
    CustomerFactory()  # nothing sealed: not read
    index_before = Customer.objects.get(pk=customers[0].pk).custom["health_notes"]["index"]
    new_entry = f"new1:{crypto.generate_key()}"
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_entry, *settings.FIELD_ENCRYPTION_KEYS]):
        call_command("rotate_keys", batch_size=2)
        for n, customer in enumerate(customers):
            customer.refresh_from_db()
            entry = customer.custom["health_notes"]
            assert crypto.key_id_of(entry["sealed"]) == "new1"
            assert unseal(health, entry) == f"note {n}"
        assert customers[0].custom["health_notes"]["index"] == index_before
    event = AuditEvent.objects.filter(action="keys.rotate").latest("pk")
    assert event.changes["customers.Customer.custom"] == {"checked": 3, "rotated": 3}


def test_a_value_kept_as_it_was_is_not_cleaned_again(client, admin_user_role, sales_user, fields):
    """An archived choice, or a colleague who left, stays on the record when its form is saved
    for another change; a new customer's untouched input takes the field's default."""
    customer = services.create_customer(
        actor=admin_user_role, name="林晓燕", owner=sales_user, custom={"membership_level": "gold"}
    )
    redefine(
        admin_user_role,
        fields["level"],
        choices=[ChoiceSpec("Silver", "银卡", key="silver")],  # Gold archived
        required=True,
    )
    client.force_login(sales_user)
    edit = reverse("customers:edit", args=[customer.pk])
    form = client.get(edit).context["form"]
    assert client.post(edit, form_data(form, custom__shoe_size="40")).status_code == 302
    customer.refresh_from_db()
    assert (customer.custom["membership_level"], customer.custom["shoe_size"]) == ("gold", "40.0")

    new = client.get(reverse("customers:create")).context["form"]
    client.post(
        reverse("customers:create"), form_data(new, name="周杰", custom__membership_level="silver")
    )
    assert Customer.objects.get(name="周杰").custom["deposit"] == "100.00"
