"""Phones and emails a user may see unmasked are tap-to-call and mailto links (the customer page,
its contacts, the list); masked values are plain text, never a link."""

import pytest

from customers.services import save_contact
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

PHONE, EMAIL = "+8613600000409", "lin.xiaoyu@example.com"


def _customer(**fields):
    customer = CustomerFactory(name="林晓雨", phone=PHONE, email=EMAIL, **fields)
    save_contact(actor=None, customer=customer, name="王芳", phone="+8613911112222")
    return customer


def test_the_customer_page_links_unmasked_phones_and_emails(client, service_user):
    customer = _customer()
    client.force_login(service_user)
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert f'href="tel:{PHONE}"' in page
    assert f'href="mailto:{EMAIL}"' in page
    assert 'href="tel:+8613911112222"' in page  # the contact person's phone


def test_masked_values_are_never_links(client, analyst_user):
    customer = _customer()
    client.force_login(analyst_user)
    for path in (f"/customers/{customer.pk}/", "/customers/"):
        page = client.get(path).content.decode()
        assert "林晓雨" in page
        assert 'href="tel:' not in page
        assert 'href="mailto:' not in page


def test_the_list_links_phones_in_its_table_and_its_phone_cards(client, service_user):
    _customer()
    client.force_login(service_user)
    page = client.get("/customers/").content.decode()
    # Once in the table (md and wider), once on the card shown below md.
    assert page.count(f'href="tel:{PHONE}"') == 2
    assert 'id="customer-cards"' in page


def test_the_list_with_its_cards_stays_within_a_bounded_number_of_queries(
    client, service_user, django_assert_max_num_queries
):
    for number in range(30):
        CustomerFactory(name=f"Card {number}", phone=f"+86136000{number:05d}")
    client.force_login(service_user)
    with django_assert_max_num_queries(20):
        response = client.get("/customers/")
    assert response.content.decode().count('class="card card-body mb-2 py-2"') == 30
