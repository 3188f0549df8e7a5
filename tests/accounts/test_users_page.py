"""The users and teams pages: inviting a colleague (mail after commit, a set-password link),
role and team changes bounded like Django admin, deactivation ending sessions, removing a lost
authenticator, teams and their members; every write audited, service accounts left out."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.api_keys import create_api_key, create_service_account
from accounts.models import Team, TeamMembership, UserSession
from accounts.team_services import create_team, place_in_team
from privacy import roles
from privacy.models import AuditEvent

pytestmark = pytest.mark.django_db

User = get_user_model()
USERS, INVITE, TEAMS = "/accounts/users/", "/accounts/users/invite/", "/accounts/teams/"


@pytest.fixture
def administrator(client, make_user):
    user = make_user(roles.ADMINISTRATOR, is_staff=True, username="admin1")
    client.force_login(user)
    return user


def _role(name: str) -> Group:
    return Group.objects.get(name=name)


def _service_account(name: str):
    """An integration's account as the API keys page makes it: with its key."""
    account = create_service_account(actor=None, username=name, groups=[_role(roles.ANALYST)])
    create_api_key(actor=None, account=account, name="ERP")
    return account


def _actions() -> list[str]:
    return list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))


@pytest.mark.parametrize("role", [roles.SALES, roles.SERVICE, roles.ANALYST, roles.PRIVACY_OFFICER])
def test_only_account_managers_reach_the_pages_or_see_their_links(client, make_user, role):
    client.force_login(make_user(role))
    for path in (USERS, INVITE, TEAMS):
        assert client.get(path).status_code == 403
    assert client.post(TEAMS, {"name": "X"}).status_code == 403
    assert USERS not in client.get("/").content.decode()


def test_the_list_shows_people_not_service_accounts_and_filters(
    client, administrator, make_user, django_assert_max_num_queries
):
    seller = make_user(roles.SALES, username="seller")
    team = create_team(actor=None, name="East", manager=administrator)
    place_in_team(actor=None, team=team, member=seller)
    make_user(roles.ANALYST, username="analyst", is_active=False)
    _service_account("erp-sync")
    for number in range(10):
        make_user(roles.SERVICE, username=f"helper{number}")
    assert USERS in client.get("/").content.decode()
    with django_assert_max_num_queries(15):
        page = client.get(USERS)
    names = [account.username for account in page.context["accounts"]]
    assert "seller" in names
    assert "analyst" in names
    assert "erp-sync" not in names
    by_team = client.get(USERS, {"team": team.pk}).context["accounts"]
    assert [account.username for account in by_team] == ["seller"]
    inactive = client.get(USERS, {"active": "0"}).context["accounts"]
    assert [account.username for account in inactive] == ["analyst"]
    by_role = client.get(USERS, {"role": _role(roles.SALES).pk}).context["accounts"]
    assert [account.username for account in by_role] == ["seller"]


def test_an_invitation_mails_a_link_that_sets_the_password(
    client, administrator, mailoutbox, django_capture_on_commit_callbacks
):
    team = create_team(actor=None, name="East", manager=administrator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            INVITE,
            {
                "first_name": "Mei",
                "last_name": "Chen",
                "email": "Mei.Chen@Example.com",
                "role": _role(roles.SALES).pk,
                "team": team.pk,
            },
        )
    invited = User.objects.get(username="mei.chen@example.com")
    assert response["Location"] == f"{USERS}{invited.pk}/"
    assert not invited.has_usable_password()
    assert list(invited.groups.values_list("name", flat=True)) == [roles.SALES]
    assert TeamMembership.objects.get(user=invited).team == team
    assert "user.invite" in _actions()
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["mei.chen@example.com"]
    link = re.search(r"(/accounts/reset/\S+/)", mailoutbox[0].body).group(1)
    client.logout()
    form_page = client.get(link, follow=True)
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-new-Passw0rd-2026", "new_password2": "a-new-Passw0rd-2026"},
    )
    assert done["Location"] == "/accounts/reset/done/"
    assert client.login(username="mei.chen@example.com", password="a-new-Passw0rd-2026")


def test_an_invitation_to_a_taken_address_writes_nothing(
    client, administrator, make_user, mailoutbox, django_capture_on_commit_callbacks
):
    make_user(roles.SALES, username="taken@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(
            INVITE,
            {"first_name": "X", "email": "taken@example.com", "role": _role(roles.SALES).pk},
        )
    assert page.status_code == 200
    assert "exists already" in page.content.decode()
    assert mailoutbox == []
    assert User.objects.filter(email="taken@example.com").count() == 0


def test_resending_an_invitation_mails_again_until_accepted(
    client, administrator, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            INVITE, {"first_name": "Li", "email": "li@example.com", "role": _role(roles.SERVICE).pk}
        )
        invited = User.objects.get(username="li@example.com")
        client.post(f"{USERS}{invited.pk}/resend/")
    assert len(mailoutbox) == 2
    assert "user.invite_resent" in _actions()


def test_an_administrator_gives_only_roles_they_hold_and_not_to_a_superuser(
    client, administrator, make_user
):
    seller = make_user(roles.SALES)
    officer_role = _role(roles.PRIVACY_OFFICER)
    page = client.get(f"{USERS}{seller.pk}/")
    assert officer_role not in page.context["form"].fields["role"].queryset
    refused = client.post(f"{USERS}{seller.pk}/", {"role": officer_role.pk})
    assert refused.status_code == 200
    assert list(seller.groups.all()) == [_role(roles.SALES)]
    team = create_team(actor=None, name="East", manager=administrator)
    moved = client.post(f"{USERS}{seller.pk}/", {"role": _role(roles.SERVICE).pk, "team": team.pk})
    assert moved.status_code == 302
    assert list(seller.groups.all()) == [_role(roles.SERVICE)]
    assert TeamMembership.objects.get(user=seller).team == team
    assert {"user.role_change", "team.member_add"} <= set(_actions())
    boss = User.objects.create_superuser("root", "root@example.com", "a-long-Passw0rd-x")
    assert client.get(f"{USERS}{boss.pk}/").context["may_change"] is False
    assert client.post(f"{USERS}{boss.pk}/", {"role": _role(roles.SALES).pk}).status_code == 403
    assert client.post(f"{USERS}{boss.pk}/active/", {"active": "0"}).status_code == 403
    officer = make_user(roles.PRIVACY_OFFICER)
    assert client.post(f"{USERS}{officer.pk}/active/", {"active": "0"}).status_code == 403


def test_service_accounts_answer_404_here(client, administrator):
    account = _service_account("erp")
    assert client.get(f"{USERS}{account.pk}/").status_code == 404


def test_deactivating_ends_the_sessions_and_is_audited(client, administrator, make_user):
    seller = make_user(roles.SALES)
    UserSession.objects.create(user=seller, session_key="k" * 32)
    response = client.post(f"{USERS}{seller.pk}/active/", {"active": "0"})
    assert response.status_code == 302
    seller.refresh_from_db()
    assert not seller.is_active
    assert not UserSession.objects.filter(user=seller).exists()
    assert "user.deactivate" in _actions()
    client.post(f"{USERS}{seller.pk}/active/", {"active": "1"})
    seller.refresh_from_db()
    assert seller.is_active
    assert "user.reactivate" in _actions()
    client.post(f"{USERS}{administrator.pk}/active/", {"active": "0"})
    administrator.refresh_from_db()
    assert administrator.is_active


def test_resetting_two_factor_removes_the_authenticator_but_not_a_superusers(
    client, administrator, make_user
):
    colleague = make_user(roles.ADMINISTRATOR)
    assert TOTPDevice.objects.filter(user=colleague).exists()
    client.post(f"{USERS}{colleague.pk}/two-factor/")
    assert not TOTPDevice.objects.filter(user=colleague).exists()
    assert "auth.2fa_removed" in _actions()
    # As in Django admin: a privacy officer's too, though their account is read-only here.
    officer = make_user(roles.PRIVACY_OFFICER)
    client.post(f"{USERS}{officer.pk}/two-factor/")
    assert not TOTPDevice.objects.filter(user=officer).exists()
    boss = User.objects.create_superuser("root", "root@example.com", "a-long-Passw0rd-x")
    TOTPDevice.objects.create(user=boss, name="phone", confirmed=True)
    assert client.post(f"{USERS}{boss.pk}/two-factor/").status_code == 403
    assert TOTPDevice.objects.filter(user=boss).exists()


def test_teams_are_made_renamed_filled_and_deleted(client, administrator, make_user):
    ann, bob = make_user(roles.SALES, username="ann"), make_user(roles.SALES, username="bob")
    created = client.post(TEAMS, {"name": "East", "manager": administrator.pk})
    east = Team.objects.get(name="East")
    assert created["Location"] == f"{TEAMS}{east.pk}/"
    duplicate = client.post(TEAMS, {"name": "east", "manager": ann.pk})
    assert "exists already" in duplicate.content.decode()
    client.post(f"{TEAMS}{east.pk}/", {"name": "East China", "manager": bob.pk})
    east.refresh_from_db()
    assert (east.name, east.manager) == ("East China", bob)
    west = create_team(actor=None, name="West", manager=administrator)
    client.post(f"{TEAMS}{east.pk}/members/", {"member": ann.pk})
    moved = client.post(f"{TEAMS}{west.pk}/members/", {"member": ann.pk}, follow=True)
    assert "moved from the team East China" in moved.content.decode()
    assert TeamMembership.objects.get(user=ann).team == west
    client.post(f"{TEAMS}{west.pk}/members/{ann.pk}/remove/")
    assert not TeamMembership.objects.filter(user=ann).exists()
    assert client.get(TEAMS).status_code == 200
    client.post(f"{TEAMS}{east.pk}/delete/")
    assert not Team.objects.filter(pk=east.pk).exists()
    assert {
        "team.create",
        "team.change",
        "team.member_add",
        "team.member_remove",
        "team.delete",
    } <= set(_actions())
