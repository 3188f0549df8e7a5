"""The new-customer form shows the essentials first and folds the rest, opening the folded part
by itself when one of its fields needs correcting."""

import pytest

from tests.factories import form_data

pytestmark = pytest.mark.django_db


def _folded_part(page: str) -> str:
    return page[page.index('<details class="mt-4" id="more-fields"') :].split(">", 1)[0]


def test_the_essentials_come_first_and_the_rest_is_folded(client, service_user):
    client.force_login(service_user)
    page = client.get("/customers/new/").content.decode()
    folded = page.index('id="more-fields"')
    assert page.index('name="name"') < folded
    assert page.index('name="phone"') < folded
    assert page.index('name="email"') < folded
    assert page.index('name="street"') > folded
    assert " open" not in _folded_part(page)


def _post(client, **changes) -> str:
    form = client.get("/customers/new/").context["form"]
    return client.post("/customers/new/", form_data(form, **changes)).content.decode()


def test_an_error_in_a_folded_field_opens_the_folded_part(client, service_user):
    client.force_login(service_user)
    page = _post(client, name="林晓雨", birth_date="not a date")
    assert " open" in _folded_part(page)


def test_an_error_in_an_essential_field_leaves_the_rest_folded(client, service_user):
    client.force_login(service_user)
    page = _post(client, name="")
    assert "invalid-feedback" in page
    assert " open" not in _folded_part(page)
