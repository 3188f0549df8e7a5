"""Teams' scope: a team's manager sees, edits and sees unmasked what their members own, as
the members do, and nothing of another team's; members see neither the manager's nor each
other's customers; leaving the team ends the manager's access."""

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.team_services import create_team, place_in_team, remove_member
from accounts.teams import works_on_behalf_of
from customers.selectors import (
    can_edit_customer,
    can_view_personal_data,
    customers_editable_by,
    customers_visible_to,
    personal_data_scope,
)
from interactions.selectors import follow_ups_visible_to
from interactions.services import schedule_follow_up
from privacy import roles
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

PHONE = "13600000409"


@pytest.fixture
def east(make_user):
    """Team East: a manager and two members; team West: another manager and a member."""
    people = {name: make_user(roles.SALES, username=name) for name in ("boss", "ann", "ben")}
    people |= {name: make_user(roles.SALES, username=name) for name in ("west_boss", "wes")}
    team = create_team(actor=None, name="East", manager=people["boss"])
    for name in ("ann", "ben"):
        place_in_team(actor=None, team=team, member=people[name])
    west = create_team(actor=None, name="West", manager=people["west_boss"])
    place_in_team(actor=None, team=west, member=people["wes"])
    customers = {
        name: CustomerFactory(name=f"{name}'s customer", phone=PHONE, owner=people[name])
        for name in people
    }
    customers["nobody"] = CustomerFactory(name="Nobody's customer", phone=PHONE)
    return people, customers, team


def _visible(user, customers):
    # As a new request does: the team is read once per user object (accounts/teams.py).
    user = type(user).objects.get(pk=user.pk)
    ids = set(customers_visible_to(user).values_list("pk", flat=True))
    return {name for name, customer in customers.items() if customer.pk in ids}


def test_the_manager_sees_and_edits_the_members_customers_and_not_another_teams(east):
    people, customers, _team = east
    boss = people["boss"]
    assert _visible(boss, customers) == {"boss", "ann", "ben", "nobody"}
    editable = set(customers_editable_by(boss).values_list("pk", flat=True))
    assert editable == {customers[name].pk for name in ("boss", "ann", "ben", "nobody")}
    assert can_edit_customer(boss, customers["ann"])
    assert not can_edit_customer(boss, customers["wes"])
    assert can_view_personal_data(boss, customers["ann"])
    assert not can_view_personal_data(boss, customers["wes"])
    unmasked = customers_visible_to(boss).filter(personal_data_scope(boss))
    assert set(unmasked.values_list("pk", flat=True)) == {
        customers[name].pk for name in ("boss", "ann", "ben")
    }


def test_members_see_neither_the_managers_nor_each_others_customers(east):
    people, customers, _team = east
    assert _visible(people["ann"], customers) == {"ann", "nobody"}
    assert not can_edit_customer(people["ann"], customers["boss"])
    assert not can_view_personal_data(people["ann"], customers["ben"])
    assert not works_on_behalf_of(people["ann"], people["boss"].pk)


def test_leaving_the_team_ends_the_managers_access(east):
    people, customers, team = east
    remove_member(actor=None, team=team, member=people["ann"])
    assert _visible(people["boss"], customers) == {"boss", "ben", "nobody"}
    place_in_team(actor=None, team=team, member=people["wes"])
    assert "wes" in _visible(people["boss"], customers)
    assert "wes" not in _visible(people["west_boss"], customers)


def test_the_manager_reaches_members_customers_on_the_pages_and_not_another_teams(client, east):
    people, customers, _team = east
    client.force_login(people["boss"])
    listed = {c.pk for c in client.get("/customers/").context["customers"]}
    assert customers["ann"].pk in listed
    assert customers["wes"].pk not in listed
    ann, wes = customers["ann"].pk, customers["wes"].pk
    page = client.get(f"/customers/{ann}/")
    assert page.status_code == 200
    assert PHONE in page.content.decode()
    assert client.get(f"/customers/{ann}/edit/").status_code == 200
    assert client.get(f"/customers/{wes}/").status_code == 404
    assert client.get(f"/customers/{wes}/edit/").status_code == 404
    found = client.post("/customers/", {"q": PHONE})
    assert found.status_code == 302
    shown = {c.pk for c in client.get(found["Location"]).context["customers"]}
    assert {customers["ann"].pk, customers["ben"].pk} <= shown
    assert customers["wes"].pk not in shown
    assert customers["nobody"].pk not in shown


def test_a_member_gets_404_for_the_managers_customer(client, east):
    people, customers, _team = east
    client.force_login(people["ann"])
    assert client.get(f"/customers/{customers['boss'].pk}/").status_code == 404
    assert client.get(f"/customers/{customers['ben'].pk}/edit/").status_code == 404


def test_the_manager_sees_the_members_follow_ups(east):
    people, customers, _team = east
    due = timezone.now() + datetime.timedelta(days=1)
    theirs = schedule_follow_up(
        actor=None, customer=customers["ann"], title="Call", due_at=due, assignee=people["ann"]
    )
    other = schedule_follow_up(
        actor=None, customer=customers["wes"], title="Call", due_at=due, assignee=people["wes"]
    )
    seen = set(follow_ups_visible_to(people["boss"]).values_list("pk", flat=True))
    assert theirs.pk in seen
    assert other.pk not in seen


def test_the_api_gives_the_manager_the_members_customers_unmasked(east):
    people, customers, _team = east
    api = APIClient()
    api.force_authenticate(people["boss"])
    listed = {
        row["id"]: row for row in api.get("/api/v1/customers/?page_size=100").json()["results"]
    }
    assert customers["ann"].pk in listed
    assert customers["wes"].pk not in listed
    assert listed[customers["ann"].pk]["phone"] == f"+86{PHONE}"
    assert api.get(f"/api/v1/customers/{customers['wes'].pk}/").status_code == 404
    assert api.get(f"/api/v1/customers/{customers['ann'].pk}/").json()["phone"] == f"+86{PHONE}"


def test_the_managers_list_makes_no_query_per_member_customer(
    client, east, django_assert_max_num_queries
):
    people, _customers, _team = east
    for number in range(15):
        CustomerFactory(name=f"Ann's lead {number}", phone=PHONE, owner=people["ann"])
    client.force_login(people["boss"])
    client.get("/customers/")  # warm the caches the first page view fills
    with django_assert_max_num_queries(30):
        response = client.get("/customers/")
    assert len(response.context["customers"]) >= 17
