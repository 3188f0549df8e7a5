"""An account editor who is not a superuser (the Administrator role) cannot reach beyond their
own permissions in Django admin: no superuser flag, no permission or group they lack, no change
to an account holding more than they do, on every path (change and add forms, password page,
group admin, bulk deletion, authenticators). Superusers keep full power."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django_otp.plugins.otp_totp.models import TOTPDevice

from privacy import roles
from privacy.models import AuditEvent

pytestmark = pytest.mark.django_db

User = get_user_model()
PASSWORD = "a-long-Passw0rd-for-tests"


def _permission(name: str) -> Permission:
    app_label, codename = name.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def _change_data(client, user, **changes) -> dict:
    """The user's change form as the page fills it, with `changes` on top."""
    page = client.get(f"/admin/auth/user/{user.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {
        key: value
        for key, value in form.initial.items()
        if key in form.fields and value is not None and not isinstance(value, bool)
    }
    data.update({key: "on" for key in ("is_active", "is_staff") if getattr(user, key)})
    data["groups"] = [group.pk for group in user.groups.all()]
    data["last_login_0"] = data["last_login_1"] = ""
    data["date_joined_0"] = user.date_joined.strftime("%Y-%m-%d")
    data["date_joined_1"] = user.date_joined.strftime("%H:%M:%S")
    data.update(changes)
    return data


@pytest.fixture
def administrator(client, admin_user_role):
    client.force_login(admin_user_role)
    return admin_user_role


@pytest.fixture
def superuser(make_user):
    return make_user(None, is_staff=True, is_superuser=True, email="root@example.com")


def test_an_administrator_cannot_make_anyone_a_superuser_or_give_permissions(
    client, administrator, make_user
):
    sales = make_user(roles.SALES)
    page = client.get(f"/admin/auth/user/{sales.pk}/change/").content.decode()
    assert 'name="is_superuser"' not in page
    assert 'name="user_permissions"' not in page
    data = _change_data(
        client,
        sales,
        first_name="Renamed",
        is_superuser="on",
        user_permissions=[_permission("privacy.change_datasubjectrequest").pk],
    )
    for target in (sales, administrator):
        response = client.post(
            f"/admin/auth/user/{target.pk}/change/", {**data, "username": target.username}
        )
        assert response.status_code == 302
        target.refresh_from_db()
        assert not target.is_superuser
        assert not target.user_permissions.exists()
    assert sales.first_name == "Renamed"
    assert not AuditEvent.objects.filter(action="user.permissions").exists()


def test_an_administrator_cannot_add_a_superuser_or_give_a_new_user_more_than_they_hold(
    client, administrator
):
    response = client.post(
        "/admin/auth/user/add/",
        {
            "username": "newcomer",
            "usable_password": "true",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "is_superuser": "on",
            "is_staff": "on",
            "groups": [Group.objects.get(name=roles.PRIVACY_OFFICER).pk],
            "user_permissions": [_permission("auth.delete_user").pk],
        },
    )
    assert response.status_code == 302
    newcomer = User.objects.get(username="newcomer")
    assert not newcomer.is_superuser
    assert not newcomer.groups.exists()
    assert not newcomer.user_permissions.exists()


def test_an_administrator_cannot_give_a_group_holding_permissions_they_lack(
    client, administrator, make_user
):
    sales = make_user(roles.SALES)
    officer_group = Group.objects.get(name=roles.PRIVACY_OFFICER)
    page = client.get(f"/admin/auth/user/{sales.pk}/change/")
    offered = page.context["adminform"].form.fields["groups"].queryset
    assert officer_group not in offered
    assert Group.objects.get(name=roles.ADMINISTRATOR) in offered
    data = _change_data(client, sales, groups=[officer_group.pk])
    response = client.post(f"/admin/auth/user/{sales.pk}/change/", data)
    assert response.status_code == 200
    assert "groups" in response.context["adminform"].form.errors
    assert list(sales.groups.values_list("name", flat=True)) == [roles.SALES]


def test_an_administrator_gives_a_sales_user_the_sales_group(client, administrator, make_user):
    newcomer = make_user(None)
    sales_group = Group.objects.get(name=roles.SALES)
    data = _change_data(client, newcomer, groups=[sales_group.pk])
    response = client.post(f"/admin/auth/user/{newcomer.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert list(newcomer.groups.all()) == [sales_group]
    event = AuditEvent.objects.get(action="user.groups", target_id=str(newcomer.pk))
    assert (event.actor, event.changes) == (administrator, {"added": [roles.SALES]})


def test_an_administrator_cannot_change_a_superuser_at_all(client, administrator, superuser):
    page = client.get(f"/admin/auth/user/{superuser.pk}/change/")
    assert page.status_code == 200  # shown, read-only
    assert not page.context["has_change_permission"]
    assert 'name="email"' not in page.content.decode()
    changes = {
        "username": superuser.username,
        "email": "attacker@example.com",
        "first_name": "x",
        "date_joined_0": superuser.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": superuser.date_joined.strftime("%H:%M:%S"),
    }
    assert client.post(f"/admin/auth/user/{superuser.pk}/change/", changes).status_code == 403
    password_page = f"/admin/auth/user/{superuser.pk}/password/"
    assert client.get(password_page).status_code == 403
    new_password = {"password1": PASSWORD, "password2": PASSWORD, "usable_password": "true"}
    assert client.post(password_page, new_password).status_code == 403
    superuser.refresh_from_db()
    assert (superuser.email, superuser.is_active) == ("root@example.com", True)
    assert not superuser.check_password(PASSWORD)


def test_an_administrator_cannot_change_an_account_holding_more_than_they_do(
    client, administrator, make_user
):
    officer = make_user(roles.PRIVACY_OFFICER, email="officer@example.com")
    data = _change_data(client, officer, email="attacker@example.com")
    assert client.post(f"/admin/auth/user/{officer.pk}/change/", data).status_code == 403
    assert client.get(f"/admin/auth/user/{officer.pk}/password/").status_code == 403
    officer.refresh_from_db()
    assert officer.email == "officer@example.com"
    # An inactive account counts with what it would hold once reactivated.
    officer.is_active = False
    officer.save()
    data = _change_data(client, officer, is_active="on")
    assert client.post(f"/admin/auth/user/{officer.pk}/change/", data).status_code == 403


def test_bulk_deletion_refuses_accounts_the_editor_may_not_change(
    client, administrator, superuser, make_user
):
    administrator.user_permissions.add(_permission("auth.delete_user"))
    sales = make_user(roles.SALES)
    response = client.post(
        "/admin/auth/user/",
        {"action": "delete_selected", "_selected_action": [superuser.pk, sales.pk], "post": "yes"},
    )
    assert response.status_code == 403
    assert User.objects.filter(pk__in=[superuser.pk, sales.pk]).count() == 2


def test_group_admin_gives_a_group_only_permissions_the_editor_holds(client, administrator):
    administrator.user_permissions.add(
        _permission("auth.add_group"), _permission("auth.change_group")
    )
    held = _permission("customers.view_customer")
    lacking = _permission("privacy.change_datasubjectrequest")
    response = client.post(
        "/admin/auth/group/add/", {"name": "Escalators", "permissions": [held.pk, lacking.pk]}
    )
    assert response.status_code == 200
    assert "permissions" in response.context["adminform"].form.errors
    assert not Group.objects.filter(name="Escalators").exists()
    response = client.post("/admin/auth/group/add/", {"name": "Readers", "permissions": [held.pk]})
    assert response.status_code == 302
    # A group holding what the editor lacks (a role or any other) is read-only to them.
    for group in (
        Group.objects.get(name=roles.PRIVACY_OFFICER),
        Group.objects.create(name="Erasers"),
    ):
        group.permissions.add(lacking)
        edit = {"name": group.name, "permissions": [held.pk]}
        assert client.post(f"/admin/auth/group/{group.pk}/change/", edit).status_code == 403
        assert list(group.permissions.all()) != [held]


def test_an_administrator_cannot_remove_a_superusers_authenticator(
    client, administrator, superuser
):
    device = TOTPDevice.objects.get(user=superuser)
    response = client.post(f"/admin/otp_totp/totpdevice/{device.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    bulk = client.post(
        "/admin/otp_totp/totpdevice/",
        {"action": "delete_selected", "_selected_action": [device.pk], "post": "yes"},
    )
    assert bulk.status_code == 403
    assert TOTPDevice.objects.filter(pk=device.pk).exists()


def test_a_superuser_keeps_full_power(client, superuser, make_user):
    client.force_login(superuser)
    sales = make_user(roles.SALES)
    officer_group = Group.objects.get(name=roles.PRIVACY_OFFICER)
    permission = _permission("auth.delete_user")
    data = _change_data(
        client,
        sales,
        is_superuser="on",
        groups=[officer_group.pk],
        user_permissions=[permission.pk],
    )
    response = client.post(f"/admin/auth/user/{sales.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    sales.refresh_from_db()
    assert sales.is_superuser
    assert list(sales.groups.all()) == [officer_group]
    assert list(sales.user_permissions.all()) == [permission]
