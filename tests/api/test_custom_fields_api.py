"""Custom values in the API and in webhook payloads (customers/api/custom_values.py): `custom`
on every customer read, typed by field and masked as the reader must see it; written as typed
and cleaned by the services (per-field problems, unknown keys refused); the schema drawn from
the fields defined now."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from customers import events, services
from customers.custom_fields.models import FieldType, Sensitivity
from customers.custom_fields.records import unseal
from customers.models import Customer
from tests.customers.test_custom_fields import define_field

pytestmark = pytest.mark.django_db

LIST = "/api/v1/customers/"


@pytest.fixture
def fields(admin_user_role):
    admin = admin_user_role
    return {
        "level": define_field(admin, FieldType.CHOICE, label="Membership level"),
        "points": define_field(admin, FieldType.NUMBER, label="Points"),
        "member": define_field(admin, FieldType.YES_NO, label="Club member"),
        "wechat": define_field(
            admin, FieldType.TEXT, label="WeChat id", sensitivity=Sensitivity.PERSONAL
        ),
        "health": define_field(
            admin, FieldType.TEXT, label="Health notes", sensitivity=Sensitivity.SENSITIVE
        ),
    }


@pytest.fixture
def customer(admin_user_role, fields):
    return services.create_customer(
        actor=admin_user_role,
        name="林晓燕",
        custom={
            "membership_level": "金卡",
            "points": "1,200",
            "club_member": "是",
            "wechat_id": "lin_xy",
            "health_notes": "asthma",
        },
    )


def test_reads_carry_every_custom_field_masked_for_the_reader(admin_api, analyst_api, customer):
    url = f"{LIST}{customer.pk}/"
    assert admin_api.get(url).json()["custom"] == {
        "membership_level": "gold",
        "points": "1200",
        "club_member": True,
        "wechat_id": "lin_xy",
        "health_notes": "a***",  # sealed: never decrypted in a read
    }
    seen = analyst_api.get(url).json()["custom"]
    assert seen["wechat_id"] == "l***"
    assert seen["membership_level"] == "gold"
    bare = services.create_customer(actor=None, name="Bo")
    assert admin_api.get(f"{LIST}{bare.pk}/").json()["custom"]["points"] is None


def test_writes_are_cleaned_by_the_services_and_refused_per_field(admin_api, fields):
    created = admin_api.post(
        LIST,
        {
            "name": "Anna",
            "custom": {"membership_level": "Silver", "points": 30, "health_notes": "x"},
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    stored = Customer.objects.get(pk=created.json()["id"]).custom
    assert (stored["membership_level"], stored["points"]) == ("silver", "30")
    assert unseal(fields["health"], stored["health_notes"]) == "x"

    refused = admin_api.post(
        LIST, {"name": "Bo", "custom": {"points": "lots", "club_member": "maybe"}}, format="json"
    )
    assert refused.status_code == 400
    assert set(refused.json()["errors"]) == {"custom.points", "custom.club_member"}
    unknown = admin_api.post(LIST, {"name": "Cy", "custom": {"shoe": 42}}, format="json")
    assert unknown.status_code == 400
    assert "shoe" in str(unknown.json()["errors"]["custom"])


def test_a_change_names_only_the_values_it_changes(admin_api, customer):
    url = f"{LIST}{customer.pk}/"
    etag = admin_api.get(url)["ETag"]
    changed = admin_api.patch(
        url, {"custom": {"points": "1300", "wechat_id": None}}, format="json", HTTP_IF_MATCH=etag
    )
    assert changed.status_code == 200, changed.content
    customer.refresh_from_db()
    assert customer.custom["points"] == "1300"
    assert "wechat_id" not in customer.custom
    assert customer.custom["membership_level"] == "gold"


def test_the_schema_describes_the_fields_defined_now(fields):
    schema = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    read = schema["Customer"]["properties"]["custom"]
    assert read["additionalProperties"] is False
    assert read["properties"]["membership_level"]["enum"] == ["gold", "silver", None]
    assert read["properties"]["club_member"]["type"] == ["boolean", "null"]
    assert read["properties"]["health_notes"]["type"] == ["string", "null"]
    written = schema["CustomerCreateRequest"]["properties"]["custom"]
    assert written["properties"]["points"]["type"] == ["string", "number", "null"]


def test_webhook_payloads_mask_personal_values_for_the_subscriber(
    customer, analyst_user, admin_user_role
):
    data = events.customer_data(customer)
    assert data["custom"]["wechat_id"] == "lin_xy"  # kept whole in the outbox
    assert data["custom"]["health_notes"] == "a***"  # never decrypted, not even there
    assert events.mask_customer(analyst_user, data)["custom"]["wechat_id"] == "l***"
    assert events.mask_customer(admin_user_role, data)["custom"]["wechat_id"] == "lin_xy"
