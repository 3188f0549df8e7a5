"""Changes of users, roles and permissions are audited, with the person who made them."""

import pytest
from django.contrib.auth.models import Group, Permission

from privacy import roles
from privacy.audit.recording import audit_context
from privacy.models import AuditChannel, AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _events(action: str, target) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(action=action, target_id=str(target.pk)).order_by("sequence")
    )


@pytest.fixture
def as_admin(admin_user_role):
    with audit_context(via=AuditChannel.ADMIN, ip_address="10.0.0.5", user=admin_user_role):
        yield admin_user_role


def test_creating_a_user_and_giving_them_a_role_is_audited_with_who_did_it(as_admin):
    clerk = UserFactory(username="clerk", is_staff=True)
    clerk.groups.add(Group.objects.get(name=roles.SALES))
    [created] = _events("user.create", clerk)
    assert created.actor == as_admin
    assert created.changes == {
        "username": "clerk",
        "is_active": True,
        "is_staff": True,
        "is_superuser": False,
    }
    [granted] = _events("user.groups", clerk)
    assert granted.changes == {"added": [roles.SALES]}
    assert (granted.actor_label, granted.via, granted.ip_address) == (
        as_admin.username,
        "admin",
        "10.0.0.5",
    )


def test_removing_and_clearing_roles_name_what_was_taken_away(as_admin):
    clerk = UserFactory(role=roles.SALES)
    clerk.groups.add(Group.objects.get(name=roles.SERVICE))
    clerk.groups.remove(Group.objects.get(name=roles.SALES))
    clerk.groups.clear()
    changes = [event.changes for event in _events("user.groups", clerk)]
    assert changes[-2:] == [{"removed": [roles.SALES]}, {"removed": [roles.SERVICE]}]


def test_adding_members_from_the_group_side_is_recorded_per_user(as_admin):
    first, second = UserFactory(), UserFactory()
    Group.objects.get(name=roles.ANALYST).user_set.add(first, second)
    for user in (first, second):
        assert _events("user.groups", user)[-1].changes == {"added": [roles.ANALYST]}


def test_direct_user_permissions_and_group_permissions_are_audited(as_admin):
    clerk = UserFactory()
    export = Permission.objects.get(codename="export_customers")
    clerk.user_permissions.add(export)
    assert _events("user.permissions", clerk)[-1].changes == {
        "added": ["customers.export_customers"]
    }
    sales = Group.objects.get(name=roles.SALES)
    sales.permissions.add(export)
    sales.permissions.remove(export)
    assert [event.changes for event in _events("group.permissions", sales)] == [
        {"added": ["customers.export_customers"]},
        {"removed": ["customers.export_customers"]},
    ]


def test_superuser_staff_and_active_flags_are_audited_old_and_new(as_admin):
    clerk = UserFactory(is_staff=False)
    clerk.is_superuser = True
    clerk.is_staff = True
    clerk.first_name = "Renamed"  # not a permission: not in the event
    clerk.save()
    [event] = _events("user.update", clerk)
    assert event.changes == {"is_staff": [False, True], "is_superuser": [False, True]}
    assert event.actor == as_admin
    clerk.first_name = "Again"
    clerk.save()
    assert len(_events("user.update", clerk)) == 1


def test_deleting_a_user_is_audited(as_admin):
    clerk = UserFactory(username="gone")
    clerk_id = clerk.pk
    clerk.delete()
    event = AuditEvent.objects.get(action="user.delete", target_id=str(clerk_id))
    assert event.changes == {"username": "gone"}


def test_ensure_roles_audits_a_reset_group_but_not_a_new_one():
    sales = Group.objects.get(name=roles.SALES)
    sales.permissions.add(Permission.objects.get(codename="export_customers"))
    before = AuditEvent.objects.count()
    roles.ensure_roles()
    reset = AuditEvent.objects.filter(action="group.permissions", target_id=str(sales.pk)).first()
    assert reset.changes == {"removed": ["customers.export_customers"]}
    assert reset.actor is None
    Group.objects.filter(name=roles.PRIVACY_OFFICER).delete()
    middle = AuditEvent.objects.count()
    roles.ensure_roles()
    assert AuditEvent.objects.count() == middle
    assert middle > before


def test_admin_change_of_a_users_groups_is_audited_through_the_admin(client, admin_user_role):
    clerk = UserFactory(username="clerk2", role=roles.SALES)
    client.force_login(admin_user_role)
    page = client.get(f"/admin/auth/user/{clerk.pk}/change/")
    form = page.context["adminform"].form
    data = {
        key: value
        for key, value in form.initial.items()
        if value is not None and key not in ("groups", "user_permissions", "password")
    }
    data = {k: v for k, v in data.items() if not isinstance(v, bool) or v}
    data["groups"] = [Group.objects.get(name=roles.SERVICE).pk]
    data["last_login_0"], data["last_login_1"] = "", ""
    data["date_joined_0"], data["date_joined_1"] = "2026-01-01", "00:00:00"
    response = client.post(f"/admin/auth/user/{clerk.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    events = _events("user.groups", clerk)
    assert {"removed": [roles.SALES]} in [event.changes for event in events]
    assert {"added": [roles.SERVICE]} in [event.changes for event in events]
    assert all(event.via == "admin" and event.actor == admin_user_role for event in events[-2:])
