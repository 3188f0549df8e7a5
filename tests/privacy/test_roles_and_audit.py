import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import override_settings

from customers.services import ID_NUMBER_CONTEXT
from privacy import crypto, roles
from privacy.models import AuditEvent
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_ensure_roles_is_idempotent_and_matches_the_matrix():
    roles.ensure_roles()
    roles.ensure_roles()
    # The five people's roles, and the shop connectors' service accounts' group.
    assert Group.objects.filter(name__in=roles.ROLE_PERMISSIONS).count() == 6
    for role, names in roles.ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role)
        have = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        assert have == set(names)


@pytest.mark.parametrize(
    ("role", "permission", "granted"),
    [
        (roles.SALES, "customers.view_all_customers", False),
        (roles.SALES, "customers.import_customers", True),
        (roles.SALES, "customers.export_customers", False),
        (roles.SERVICE, "customers.merge_customers", True),
        (roles.ANALYST, "customers.view_personal_data", False),
        (roles.ANALYST, "customers.change_customer", False),
        (roles.ANALYST, "customers.export_customers", True),
        (roles.PRIVACY_OFFICER, "customers.reveal_national_id", True),
        (roles.PRIVACY_OFFICER, "privacy.view_auditevent", True),
        (roles.SERVICE, "customers.reveal_national_id", False),
        (roles.ADMINISTRATOR, "auth.change_user", True),
        (roles.ADMINISTRATOR, "connectors.manage_connectors", True),
        (roles.SHOP_CONNECTOR, "privacy.add_datasubjectrequest", True),
        (roles.SHOP_CONNECTOR, "privacy.change_datasubjectrequest", False),
        (roles.SHOP_CONNECTOR, "connectors.manage_connectors", False),
    ],
)
def test_role_grants(make_user, role, permission, granted):
    assert make_user(role).has_perm(permission) is granted


def test_login_and_failed_login_are_audited(client, sales_user):
    client.post("/accounts/login/", {"username": sales_user.username, "password": "wrong-one"})
    client.post(
        "/accounts/login/", {"username": sales_user.username, "password": "correct-horse-battery"}
    )
    actions = list(
        AuditEvent.objects.filter(action__startswith="auth.")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["auth.login_failed", "auth.login"]
    failed = AuditEvent.objects.get(action="auth.login_failed")
    assert failed.changes == {"username": sales_user.username}
    # The name tried is also the event's user name: searchable, and counted by the alerts.
    assert failed.actor_label == sales_user.username
    assert failed.ip_address == "127.0.0.1"
    assert failed.via == "web"


def test_rotate_keys_reencrypts_every_id_number_under_the_new_key(settings, capsys):
    old_keys = list(settings.FIELD_ENCRYPTION_KEYS)
    customers = [
        CustomerFactory(id_document_kind="passport", id_number=f"E1234567{n}") for n in range(3)
    ]
    CustomerFactory()  # no id number: nothing to rotate
    new_entry = f"new1:{crypto.generate_key()}"
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_entry, *old_keys]):
        call_command("rotate_keys", batch_size=2)
        for n, customer in enumerate(customers):
            customer.refresh_from_db()
            assert crypto.key_id_of(customer.id_number_encrypted) == "new1"
            assert crypto.decrypt(customer.id_number_encrypted, context=ID_NUMBER_CONTEXT) == (
                f"E1234567{n}"
            )
        call_command("rotate_keys")
    output = capsys.readouterr().out
    assert "3 checked, 3 re-encrypted" in output
    assert "3 checked, 0 re-encrypted" in output
    assert AuditEvent.objects.filter(action="keys.rotate", via="command").count() == 2
