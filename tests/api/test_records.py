"""/api/v1/contacts/, /tags/ and /external-ids/ against a real database: the customer's
records through the services, scoped and masked as on the customer page."""

import pytest
from django.utils import timezone

from customers.models import Contact, Customer, ExternalId, Tag
from customers.services import add_external_id, save_contact
from privacy.models import AuditEvent
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

CONTACTS = "/api/v1/contacts/"
TAGS = "/api/v1/tags/"
EXTERNAL_IDS = "/api/v1/external-ids/"


def company(**fields):
    return CustomerFactory(kind="company", name=fields.pop("name", "Acme Ltd"), **fields)


def test_a_contact_is_added_changed_and_removed_with_its_own_version(admin_api):
    customer = company()
    created = admin_api.post(
        CONTACTS,
        {"customer": customer.pk, "name": "王磊", "phone": "138 0013 8000", "is_primary": True},
        format="json",
    )
    assert created.status_code == 201, created.json()
    contact = created.json()
    assert contact["phone"] == "+8613800138000"
    assert created["ETag"] == '"1"'
    assert created["Location"] == f"{CONTACTS}{contact['id']}/"
    assert AuditEvent.objects.get(action="contact.create").via == "api"
    url = f"{CONTACTS}{contact['id']}/"

    assert admin_api.patch(url, {"title": "CFO"}, format="json").status_code == 428
    changed = admin_api.patch(url, {"title": "CFO"}, format="json", HTTP_IF_MATCH='"1"')
    assert changed.status_code == 200
    assert changed.json()["title"] == "CFO"
    assert changed["ETag"] == '"2"'
    stale = admin_api.patch(url, {"title": "CEO"}, format="json", HTTP_IF_MATCH='"1"')
    assert stale.status_code == 412

    assert admin_api.delete(url).status_code == 428
    assert admin_api.delete(url, HTTP_IF_MATCH='"1"').status_code == 412
    assert admin_api.delete(url, HTTP_IF_MATCH='"2"').status_code == 204
    assert not Contact.objects.filter(pk=contact["id"]).exists()
    assert AuditEvent.objects.filter(action="contact.delete", via="api").count() == 1


def test_an_invalid_contact_phone_is_refused_on_its_field_in_the_callers_language(admin_api):
    response = admin_api.post(
        CONTACTS,
        {"customer": company().pk, "name": "李娜", "phone": "12345"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert set(errors) == {"phone"}
    assert any("\u4e00" <= ch <= "\u9fff" for ch in errors["phone"][0])
    assert not Contact.objects.exists()


def test_contacts_list_by_customer(admin_api):
    first, second = company(name="First Ltd"), company(name="Second Ltd")
    save_contact(actor=None, customer=first, name="A")
    save_contact(actor=None, customer=second, name="B")
    listed = admin_api.get(CONTACTS, {"customer": first.pk}).json()["results"]
    assert [row["name"] for row in listed] == ["A"]


def test_contacts_of_another_salespersons_customer_answer_404_to_a_sales_key(
    sales_api, other_sales_user
):
    others = company(owner=other_sales_user)
    contact = save_contact(actor=None, customer=others, name="Hidden")
    url = f"{CONTACTS}{contact.pk}/"
    assert sales_api.get(url).status_code == 404
    refused_change = sales_api.patch(url, {"title": "x"}, format="json", HTTP_IF_MATCH='"1"')
    assert refused_change.status_code == 404
    assert sales_api.delete(url, HTTP_IF_MATCH='"1"').status_code == 404
    assert sales_api.get(CONTACTS, {"customer": others.pk}).json()["results"] == []
    # Naming their customer in a new contact is refused like an id that does not exist.
    refused = sales_api.post(CONTACTS, {"customer": others.pk, "name": "New"}, format="json")
    assert refused.status_code == 400
    assert set(refused.json()["errors"]) == {"customer"}
    contact.refresh_from_db()
    assert contact.title == ""


def test_a_contact_cannot_be_added_to_a_customer_whose_processing_is_restricted(admin_api):
    customer = company()
    # As a restriction request leaves it (privacy/subjects, tested there).
    Customer.objects.filter(pk=customer.pk).update(restricted_at=timezone.now())
    response = admin_api.post(CONTACTS, {"customer": customer.pk, "name": "New"}, format="json")
    assert response.status_code == 403
    assert not customer.contacts.exists()


def test_contact_phone_and_email_are_masked_for_an_analyst_key(analyst_api, admin_api):
    contact = save_contact(
        actor=None, customer=company(), name="Masked", phone="13800138000", email="m@example.com"
    )
    shown = analyst_api.get(f"{CONTACTS}{contact.pk}/").json()
    assert "*" in shown["phone"]
    assert shown["email"] != "m@example.com"
    assert analyst_api.get(CONTACTS).json()["results"][0]["phone"] == shown["phone"]
    assert admin_api.get(f"{CONTACTS}{contact.pk}/").json()["email"] == "m@example.com"


def test_a_retried_contact_creation_adds_one_contact(admin_api):
    customer = company()
    payload = {"customer": customer.pk, "name": "Once"}
    first = admin_api.post(CONTACTS, payload, format="json", HTTP_IDEMPOTENCY_KEY="contact-1")
    again = admin_api.post(CONTACTS, payload, format="json", HTTP_IDEMPOTENCY_KEY="contact-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert customer.contacts.count() == 1


def test_tags_are_created_and_changed_with_if_match(admin_api):
    created = admin_api.post(TAGS, {"name": "VIP", "colour": "#ff0000"}, format="json")
    assert created.status_code == 201, created.json()
    url = f"{TAGS}{created.json()['id']}/"
    assert admin_api.patch(url, {"group": "Value"}, format="json").status_code == 428
    changed = admin_api.patch(url, {"group": "Value"}, format="json", HTTP_IF_MATCH='"1"')
    assert changed.status_code == 200
    assert changed.json()["group"] == "Value"
    stale = admin_api.patch(url, {"name": "VVIP"}, format="json", HTTP_IF_MATCH='"1"')
    assert stale.status_code == 412
    assert Tag.objects.get().name == "VIP"
    assert AuditEvent.objects.filter(action__startswith="tag.", via="api").count() == 2


def test_a_tag_name_used_already_is_refused_on_the_name(admin_api):
    Tag.objects.create(name="VIP")
    response = admin_api.post(TAGS, {"name": "VIP"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"name"}


def test_sales_keys_read_tags_but_do_not_create_them(sales_api):
    assert sales_api.get(TAGS).status_code == 200
    assert sales_api.post(TAGS, {"name": "Mine"}, format="json").status_code == 403
    assert not Tag.objects.exists()


def test_an_integration_finds_our_customer_for_its_shopify_id_in_one_call(admin_api):
    customer = CustomerFactory(name="Shopper")
    other = CustomerFactory(name="Other shopper")
    add_external_id(actor=None, customer=other, system="shopify", external_id="124")
    linked = admin_api.post(
        EXTERNAL_IDS,
        {"customer": customer.pk, "system": "shopify", "external_id": "123"},
        format="json",
    )
    assert linked.status_code == 201, linked.json()
    assert (
        AuditEvent.objects.get(action="customer.external_id", via="api").actor == admin_api.account
    )
    found = admin_api.get(EXTERNAL_IDS, {"system": "shopify", "external_id": "123"}).json()
    assert [row["customer"] for row in found["results"]] == [customer.pk]


def test_an_external_id_held_by_another_customer_is_refused_on_its_field(admin_api):
    holder = CustomerFactory(name="Holder")
    add_external_id(actor=None, customer=holder, system="pos", external_id="77")
    response = admin_api.post(
        EXTERNAL_IDS,
        {"customer": CustomerFactory(name="Newcomer").pk, "system": "pos", "external_id": "77"},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"external_id"}
    assert ExternalId.objects.get().customer == holder


def test_external_ids_of_another_salespersons_customers_are_out_of_a_sales_keys_scope(
    sales_api, other_sales_user
):
    link = add_external_id(
        actor=None,
        customer=CustomerFactory(owner=other_sales_user),
        system="shopify",
        external_id="555",
    )
    assert sales_api.get(f"{EXTERNAL_IDS}{link.pk}/").status_code == 404
    found = sales_api.get(EXTERNAL_IDS, {"system": "shopify", "external_id": "555"}).json()
    assert found["results"] == []


def test_an_analyst_key_reads_external_ids_but_links_none(analyst_api):
    customer = CustomerFactory()
    add_external_id(actor=None, customer=customer, system="erp", external_id="E-1")
    assert analyst_api.get(EXTERNAL_IDS, {"customer": customer.pk}).json()["results"]
    refused = analyst_api.post(
        EXTERNAL_IDS, {"customer": customer.pk, "system": "erp", "external_id": "E-2"}
    )
    assert refused.status_code == 403
