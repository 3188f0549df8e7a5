"""Two colleagues edit the same customer or contact person: the later save, from the older
form, is refused with the other's changes shown instead of undoing them (issue 17)."""

import pytest
from django.urls import reverse

from customers import services
from customers.models import Contact, Customer
from privacy import roles
from tests.conftest import StaffClient
from tests.factories import CustomerFactory, form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_colleagues(make_user):
    """Two signed-in service staff, each in their own browser."""
    people = []
    for _ in range(2):
        user = make_user(roles.SERVICE)
        browser = StaffClient()
        browser.force_login(user)
        people.append((user, browser))
    return people


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "panel"])
def test_a_stale_customer_form_is_refused_and_shows_the_colleagues_notes(two_colleagues, htmx):
    (first, first_browser), (_second, second_browser) = two_colleagues
    customer = CustomerFactory(notes="Met at the fair", city="北京")
    url = reverse("customers:edit", args=[customer.pk])
    headers = {"HX-Request": "true"} if htmx else {}
    first_form = first_browser.get(url, headers=headers).context["form"]
    second_form = second_browser.get(url, headers=headers).context["form"]

    saved = first_browser.post(url, form_data(first_form, notes="Call after 6 pm"), headers=headers)
    assert saved.status_code in (204, 302)

    refused = second_browser.post(url, form_data(second_form, city="上海"), headers=headers)
    assert refused.status_code == 200
    form = refused.context["form"]
    assert form.conflict is not None
    assert ("notes", "Call after 6 pm", "Met at the fair", True) in [
        (label.lower(), now, started, taken_over)
        for label, now, started, taken_over in form.conflict_rows
    ]
    page = refused.content.decode()
    assert first.username in page
    assert "Call after 6 pm" in page
    stored = Customer.objects.get(pk=customer.pk)
    # Cities are stored in their official form (customers/places.py).
    assert (stored.notes, stored.city, stored.version) == ("Call after 6 pm", "北京市", 2)

    # The form kept the city typed and took the colleague's notes: saving again keeps both.
    again = second_browser.post(url, form_data(form), headers=headers)
    assert again.status_code in (204, 302)
    stored.refresh_from_db()
    assert (stored.notes, stored.city, stored.version) == ("Call after 6 pm", "上海市", 3)


def test_a_field_both_changed_keeps_the_users_input_for_them_to_decide(two_colleagues):
    (_first, first_browser), (_second, second_browser) = two_colleagues
    customer = CustomerFactory(notes="Met at the fair")
    url = reverse("customers:edit", args=[customer.pk])
    first_form = first_browser.get(url).context["form"]
    second_form = second_browser.get(url).context["form"]
    first_browser.post(url, form_data(first_form, notes="Call after 6 pm"))
    refused = second_browser.post(url, form_data(second_form, notes="Wants a catalogue"))
    form = refused.context["form"]
    assert [row[3] for row in form.conflict_rows] == [False]
    assert form["notes"].value() == "Wants a catalogue"
    assert Customer.objects.get(pk=customer.pk).notes == "Call after 6 pm"


def test_a_stale_tag_change_is_refused_with_the_profile(two_colleagues):
    (_first, first_browser), (_second, second_browser) = two_colleagues
    customer = CustomerFactory()
    vip = services.save_tag(actor=None, name="VIP")
    url = reverse("customers:edit", args=[customer.pk])
    first_form = first_browser.get(url).context["form"]
    second_form = second_browser.get(url).context["form"]
    first_browser.post(url, form_data(first_form, tags=[str(vip.pk)]))
    refused = second_browser.post(url, form_data(second_form, city="上海"))
    assert refused.status_code == 200
    assert ("VIP", "—") in [
        (now, started) for _label, now, started, _ in refused.context["form"].conflict_rows
    ]
    stored = Customer.objects.get(pk=customer.pk)
    assert list(stored.tags.all()) == [vip]
    assert stored.city != "上海"


def test_a_stale_contact_form_is_refused_and_saving_again_keeps_both(two_colleagues):
    (first, first_browser), (_second, second_browser) = two_colleagues
    company = CustomerFactory(kind="company", name="星辰贸易")
    contact = services.save_contact(actor=None, customer=company, name="王芳", title="Buyer")
    url = reverse("customers:edit_contact", args=[company.pk, contact.pk])
    first_form = first_browser.get(url).context["form"]
    second_form = second_browser.get(url).context["form"]
    assert first_browser.post(url, form_data(first_form, title="Head of buying")).status_code == 302

    refused = second_browser.post(url, form_data(second_form, phone="138 0013 8000"))
    assert refused.status_code == 200
    form = refused.context["form"]
    assert [(now, started) for _label, now, started, _ in form.conflict_rows] == [
        ("Head of buying", "Buyer")
    ]
    assert first.username in refused.content.decode()
    assert Contact.objects.get(pk=contact.pk).phone == ""

    assert second_browser.post(url, form_data(form)).status_code == 302
    stored = Contact.objects.get(pk=contact.pk)
    assert (stored.title, stored.phone, stored.version) == ("Head of buying", "+8613800138000", 3)


def test_the_contact_form_opens_in_place_and_a_contact_is_removed(two_colleagues):
    (_first, browser), _other = two_colleagues
    company = CustomerFactory(kind="company")
    contact = services.save_contact(actor=None, customer=company, name="王芳")
    page = browser.get(reverse("customers:detail", args=[company.pk])).content.decode()
    edit = reverse("customers:edit_contact", args=[company.pk, contact.pk])
    remove = reverse("customers:delete_contact", args=[company.pk, contact.pk])
    assert f'hx-get="{edit}"' in page
    assert f'action="{remove}"' in page
    panel = browser.get(edit, headers={"HX-Request": "true"})
    assert next(t.name for t in panel.templates) == "customers/_record_form.html"
    response = browser.post(remove, {"row_version": "1"})
    assert response.status_code == 302
    assert not Contact.objects.filter(pk=contact.pk).exists()


def test_removing_a_contact_a_colleague_changed_since_is_refused(two_colleagues):
    (first, first_browser), (_second, second_browser) = two_colleagues
    company = CustomerFactory(kind="company")
    contact = services.save_contact(actor=None, customer=company, name="王芳")
    url = reverse("customers:edit_contact", args=[company.pk, contact.pk])
    first_browser.post(url, form_data(first_browser.get(url).context["form"], title="Buyer"))
    remove = reverse("customers:delete_contact", args=[company.pk, contact.pk])
    response = second_browser.post(remove, {"row_version": "1"}, follow=True)
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert first.username in response.content.decode()
