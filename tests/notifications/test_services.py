import pytest

from accounts.models import Team, TeamMembership
from accounts.teams import owned_by_user_or_team, works_on_behalf_of
from customers.models import Customer
from notifications.models import NotificationKind
from notifications.selectors import notifications_for, unread_count
from notifications.services import mark_read, notify
from privacy import roles
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_notification_with_a_once_key_is_sent_once():
    seller = UserFactory(role=roles.SALES)

    first = notify(seller, NotificationKind.FOLLOW_UP_DUE, "Call back", once_key="due:1")
    again = notify(seller, NotificationKind.FOLLOW_UP_DUE, "Call back", once_key="due:1")

    assert first is not None
    assert again is None
    assert unread_count(seller) == 1


def test_nobody_and_inactive_accounts_are_told_nothing():
    gone = UserFactory(role=roles.SALES, is_active=False)

    assert notify(None, NotificationKind.MENTIONED, "x") is None
    assert notify(gone, NotificationKind.MENTIONED, "x") is None
    assert not notifications_for(gone).exists()


def test_mark_read_touches_only_the_readers_own():
    seller, colleague = UserFactory(role=roles.SALES), UserFactory(role=roles.SALES)
    mine = notify(seller, NotificationKind.MENTIONED, "mine")
    theirs = notify(colleague, NotificationKind.MENTIONED, "theirs")

    assert mark_read(seller, [mine.pk, theirs.pk]) == 1
    assert unread_count(seller) == 0
    assert unread_count(colleague) == 1


def test_a_manager_works_on_what_the_team_members_own():
    manager, member, outsider = (UserFactory(role=roles.SALES) for _ in range(3))
    team = Team.objects.create(name="East", manager=manager)
    TeamMembership.objects.create(team=team, user=member)
    members_customer = CustomerFactory(owner=member)
    outsiders_customer = CustomerFactory(owner=outsider)

    scoped = Customer.objects.filter(owned_by_user_or_team(manager))

    assert list(scoped) == [members_customer]
    assert works_on_behalf_of(manager, member.pk)
    assert not works_on_behalf_of(manager, outsider.pk)
    assert not works_on_behalf_of(member, manager.pk)
    assert outsiders_customer not in scoped
