"""The API keys page: who reaches it, a key made for a new or an existing service account and
shown once, revoking, and no key reaching beyond its maker's own permissions."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.api_keys import create_api_key, create_service_account, key_for
from accounts.models import ApiKey
from privacy import roles
from privacy.models import AuditEvent

pytestmark = pytest.mark.django_db

PAGE = "/accounts/api-keys/"
NEW = "/accounts/api-keys/new/"


@pytest.fixture
def administrator(client, make_user):
    user = make_user(roles.ADMINISTRATOR, is_staff=True)
    client.force_login(user)
    return user


def _service_account(role: str, name: str = "erp-sync"):
    return create_service_account(actor=None, username=name, groups=[Group.objects.get(name=role)])


@pytest.mark.parametrize("role", [roles.SALES, roles.SERVICE, roles.ANALYST, roles.PRIVACY_OFFICER])
def test_only_those_who_manage_keys_reach_the_page_or_see_its_link(client, make_user, role):
    client.force_login(make_user(role))
    assert client.get(PAGE).status_code == 403
    assert client.get(NEW).status_code == 403
    assert PAGE not in client.get("/").content.decode()


def test_administrators_see_the_link_and_every_key_without_its_secret(client, administrator):
    account = _service_account(roles.ANALYST)
    made = create_api_key(actor=administrator, account=account, name="Warehouse")
    html = client.get("/").content.decode()
    assert PAGE in html
    html = client.get(PAGE).content.decode()
    assert "Warehouse" in html
    assert f"crm_{made.key.prefix}…" in html
    assert "erp-sync" in html
    assert "Analyst" in html
    assert made.secret not in html


def test_a_key_for_a_new_service_account_is_shown_once_and_works(client, administrator):
    response = client.post(
        NEW,
        {
            "account_name": "shop-sync",
            "role": Group.objects.get(name=roles.SALES).pk,
            "name": "Web shop",
            "expires_on": "2099-01-01",
        },
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = response.context["made"].secret
    assert secret in response.content.decode()
    key = key_for(secret)
    assert key.name == "Web shop"
    assert key.account.username == "shop-sync"
    assert list(key.account.groups.values_list("name", flat=True)) == [roles.SALES]
    assert not key.account.has_usable_password()
    assert timezone.localtime(key.expires_at).date() == datetime.date(2099, 1, 1)
    assert secret not in client.get(PAGE).content.decode()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"service_account.create", "api_key.create"} <= actions


def test_a_second_key_for_an_existing_account_may_never_expire(client, administrator):
    account = _service_account(roles.SERVICE)
    create_api_key(actor=None, account=account, name="first")
    response = client.post(NEW, {"account": account.pk, "name": "second", "expires_on": ""})
    assert response.status_code == 200
    key = ApiKey.objects.get(name="second")
    assert key.account == account
    assert key.expires_at is None


def test_the_form_offers_a_year_and_refuses_a_past_day_or_a_missing_role(client, administrator):
    form = client.get(NEW).context["form"]
    assert form["expires_on"].initial == timezone.localdate() + datetime.timedelta(days=365)
    response = client.post(NEW, {"account_name": "pos", "name": "Till", "expires_on": "2001-01-01"})
    assert set(response.context["form"].errors) == {"role", "expires_on"}
    assert not ApiKey.objects.exists()
    assert not get_user_model().objects.filter(username="pos").exists()


def test_an_account_name_already_taken_is_refused_on_its_field(client, administrator):
    response = client.post(
        NEW,
        {
            "account_name": administrator.username,
            "role": Group.objects.get(name=roles.SALES).pk,
            "name": "Till",
            "expires_on": "",
        },
    )
    assert "account_name" in response.context["form"].errors
    assert not ApiKey.objects.exists()


def test_an_administrator_cannot_mint_a_key_with_more_than_they_hold(client, administrator):
    officer_role = Group.objects.get(name=roles.PRIVACY_OFFICER)
    officer_account = _service_account(roles.PRIVACY_OFFICER, "privacy-tool")
    create_api_key(actor=None, account=officer_account, name="theirs")
    form = client.get(NEW).context["form"]
    assert officer_role not in form.fields["role"].queryset
    assert officer_account not in form.fields["account"].queryset
    client.post(NEW, {"account_name": "x", "role": officer_role.pk, "name": "k", "expires_on": ""})
    client.post(NEW, {"account": officer_account.pk, "name": "k", "expires_on": ""})
    assert not ApiKey.objects.filter(name="k").exists()


def test_a_superuser_may_mint_a_key_for_any_role(client, make_user):
    client.force_login(make_user(None, is_staff=True, is_superuser=True))
    officer_role = Group.objects.get(name=roles.PRIVACY_OFFICER)
    response = client.post(
        NEW,
        {"account_name": "privacy-tool", "role": officer_role.pk, "name": "k", "expires_on": ""},
    )
    assert response.status_code == 200
    assert ApiKey.objects.get(name="k").account.groups.get() == officer_role


def test_revoking_needs_a_post_and_stops_the_key_at_once(client, administrator):
    made = create_api_key(actor=None, account=_service_account(roles.SALES), name="Till")
    revoke = f"{PAGE}{made.key.pk}/revoke/"
    assert client.get(revoke).status_code == 405
    assert client.post(revoke).status_code == 302
    assert key_for(made.secret) is None
    assert AuditEvent.objects.filter(action="api_key.revoke", actor_id=administrator.pk).exists()


def test_an_administrator_cannot_revoke_a_key_worth_more_than_they_hold(client, administrator):
    made = create_api_key(
        actor=None, account=_service_account(roles.PRIVACY_OFFICER), name="theirs"
    )
    assert client.post(f"{PAGE}{made.key.pk}/revoke/").status_code == 403
    assert key_for(made.secret) is not None


def test_a_key_name_with_unreadable_characters_is_refused(client, administrator):
    account = _service_account(roles.SALES)
    response = client.post(NEW, {"account": account.pk, "name": "Till\ufffd", "expires_on": ""})
    assert "name" in response.context["form"].errors
    assert not ApiKey.objects.filter(name__startswith="Till").exists()
