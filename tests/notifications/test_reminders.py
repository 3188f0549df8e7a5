"""The notification triggers (assigned, due, merged, @mention), the bell's pages and the daily
digest mail through a real SMTP server."""

import datetime
import zoneinfo

import pytest
from django.utils import timezone

from customers.merge import merge_customers
from interactions.reminders import mentioned_colleagues, notify_due_follow_ups, send_daily_digests
from interactions.services import (
    reassign_follow_up,
    record_interaction,
    schedule_follow_up,
    snooze_follow_up,
    update_follow_up,
)
from notifications.models import Notification, NotificationKind, NotificationPreference
from notifications.selectors import unread_count
from notifications.services import notify, set_daily_digest
from privacy import roles
from privacy.subjects.erasure import anonymise_customers
from tests.factories import CustomerFactory, UserFactory
from tests.smtp_sink import body_of

pytestmark = pytest.mark.django_db


def _kinds(user) -> list[str]:
    return list(Notification.objects.filter(recipient=user).values_list("kind", flat=True))


def _follow_up(*, actor, assignee, customer=None, due_in=datetime.timedelta(days=1), **extra):
    return schedule_follow_up(
        actor=actor,
        customer=customer or CustomerFactory(),
        title="Call back about the quote",
        due_at=timezone.now() + due_in,
        assignee=assignee,
        **extra,
    )


def test_a_follow_up_assigned_by_a_colleague_notifies_the_assignee_not_oneself():
    boss, seller = UserFactory(role=roles.SALES), UserFactory(role=roles.SALES)

    _follow_up(actor=boss, assignee=seller)
    _follow_up(actor=seller, assignee=seller)

    assert _kinds(seller) == [NotificationKind.FOLLOW_UP_ASSIGNED]
    note = Notification.objects.get(recipient=seller)
    assert note.url.startswith("/work/#follow-up-")
    assert "Call back about the quote" in note.message


def test_reassigning_notifies_the_new_assignee_in_the_product_language(settings):
    settings.LANGUAGE_CODE = "zh-hans"
    seller, colleague = UserFactory(role=roles.SALES), UserFactory(role=roles.SALES)
    follow_up = _follow_up(actor=seller, assignee=seller)

    reassign_follow_up(actor=seller, follow_up=follow_up, assignee=colleague)

    assert Notification.objects.get(recipient=colleague).message.startswith("给你的新跟进")


def test_reassigning_to_someone_who_cannot_see_the_customer_is_refused():
    seller, other = UserFactory(role=roles.SALES), UserFactory(role=roles.SALES)
    follow_up = _follow_up(actor=seller, assignee=seller, customer=CustomerFactory(owner=seller))

    with pytest.raises(Exception, match="cannot work on this customer"):
        reassign_follow_up(actor=seller, follow_up=follow_up, assignee=other)
    follow_up.refresh_from_db()
    assert follow_up.assignee == seller
    assert not Notification.objects.filter(recipient=other).exists()


def test_a_due_follow_up_is_announced_once_and_again_after_a_snooze():
    seller = UserFactory(role=roles.SALES)
    follow_up = _follow_up(actor=seller, assignee=seller, due_in=datetime.timedelta(minutes=-5))
    _follow_up(actor=seller, assignee=seller, due_in=datetime.timedelta(hours=2))
    _follow_up(actor=seller, assignee=seller, due_in=datetime.timedelta(days=-3))

    notify_due_follow_ups()
    notify_due_follow_ups()

    assert _kinds(seller) == [NotificationKind.FOLLOW_UP_DUE]
    snooze_follow_up(
        actor=seller, follow_up=follow_up, until=timezone.now() + datetime.timedelta(hours=1)
    )
    notify_due_follow_ups(now=timezone.now() + datetime.timedelta(hours=2))
    assert _kinds(seller).count(NotificationKind.FOLLOW_UP_DUE) == 3  # + the 2-hour one


def test_the_due_run_is_three_queries_whatever_the_number(django_assert_max_num_queries):
    seller = UserFactory(role=roles.SALES)
    for _ in range(5):
        _follow_up(actor=seller, assignee=seller, due_in=datetime.timedelta(minutes=-1))

    # The follow-ups due, the active ones among their assignees, one insert.
    with django_assert_max_num_queries(3):
        notify_due_follow_ups()
    assert unread_count(seller) == 5


def test_owners_of_merged_customers_are_told_without_naming_what_they_cannot_see(service_user):
    seller, other = UserFactory(role=roles.SALES), UserFactory(role=roles.SALES)
    survivor = CustomerFactory(name="王芳 (new)", owner=other)
    merged = CustomerFactory(name="王芳", owner=seller)

    merge_customers(
        actor=service_user,
        survivor=survivor,
        others=[merged],
        field_choices={"owner_id": survivor.pk},
    )

    note = Notification.objects.get(recipient=seller)
    assert note.kind == NotificationKind.CUSTOMER_MERGED
    assert "王芳" in note.message
    assert "(new)" not in note.message
    assert note.url == ""
    assert not Notification.objects.filter(recipient=service_user).exists()


def test_mentions_by_username_and_chinese_name_notify_colleagues_who_see_the_customer():
    writer = UserFactory(role=roles.SERVICE)
    wang = UserFactory(role=roles.SALES, username="lijuan", last_name="王", first_name="丽娟")
    zhao = UserFactory(role=roles.SERVICE, username="zhao")
    outsider = UserFactory(role=roles.SALES, username="outsider")
    customer = CustomerFactory(owner=zhao)  # Sales colleagues other than its owner cannot see it
    also_customer = CustomerFactory()

    record_interaction(
        actor=writer,
        customer=customer,
        kind="note",
        body="请@王丽娟跟进, cc @zhao and @outsider; mail wang@example.com",
    )
    _follow_up(actor=writer, assignee=writer, customer=also_customer, notes="@lijuan 看一下")

    assert _kinds(zhao) == [NotificationKind.MENTIONED]
    assert _kinds(wang) == [NotificationKind.MENTIONED]
    assert Notification.objects.get(recipient=wang).customer_id == also_customer.pk
    assert _kinds(outsider) == []
    assert _kinds(writer) == []


def test_mentions_parse_names_not_email_addresses():
    UserFactory(username="example.com")
    wang = UserFactory(username="wl", last_name="王", first_name="丽")

    assert mentioned_colleagues("write to a@example.com") == []
    assert mentioned_colleagues("@王丽 please") == [wang]


def test_an_updated_note_with_a_new_mention_notifies():
    writer, zhao = UserFactory(role=roles.SERVICE), UserFactory(role=roles.SERVICE, username="zh")
    follow_up = _follow_up(actor=writer, assignee=writer)

    update_follow_up(
        actor=writer,
        customer=follow_up.customer,
        follow_up=follow_up,
        title=follow_up.title,
        due_at=follow_up.due_at,
        assignee=writer,
        notes="@zh can you call?",
    )

    assert _kinds(zhao) == [NotificationKind.MENTIONED]


def test_erasing_a_customer_deletes_the_notifications_about_them():
    seller = UserFactory(role=roles.SALES)
    customer = CustomerFactory()
    notify(seller, NotificationKind.MENTIONED, "about them", customer_id=customer.pk)
    notify(seller, NotificationKind.MENTIONED, "about nobody")

    anonymise_customers([customer.pk], actor=None, reason="request", evidence="test")

    assert list(Notification.objects.values_list("message", flat=True)) == ["about nobody"]


def test_the_daily_digest_is_mailed_once_with_reminders_and_due_follow_ups(
    smtp_sink, django_capture_on_commit_callbacks
):
    seller = UserFactory(role=roles.SALES, email="seller@example.com")
    boss = UserFactory(role=roles.SALES)
    UserFactory(role=roles.SALES, email="quiet@example.com")  # no digest asked for
    set_daily_digest(actor=seller, enabled=True)
    _follow_up(actor=boss, assignee=seller, due_in=datetime.timedelta(minutes=-30))

    with django_capture_on_commit_callbacks(execute=True):
        assert send_daily_digests() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert send_daily_digests() == 0

    assert len(smtp_sink.messages) == 1
    mail = smtp_sink.messages[0]
    assert mail["To"] == "seller@example.com"
    assert "New follow-up for you: Call back about the quote" in body_of(mail)
    assert mail.get_body(preferencelist=("html",)) is not None
    assert not Notification.objects.filter(recipient=seller, digested_at__isnull=True).exists()


def test_the_digest_day_is_the_local_day(settings, django_capture_on_commit_callbacks):
    seller = UserFactory(role=roles.SALES, email="seller@example.com")
    set_daily_digest(actor=seller, enabled=True)
    notify(seller, NotificationKind.MENTIONED, "hello")
    # 23:30 UTC is 07:30 the next day in Shanghai: the digest is for that day.
    late = datetime.datetime(2026, 3, 1, 23, 30, tzinfo=datetime.UTC)

    with django_capture_on_commit_callbacks(execute=True):
        send_daily_digests(now=late)

    shanghai = zoneinfo.ZoneInfo("Asia/Shanghai")
    assert (
        NotificationPreference.objects.get(user=seller).last_digest_on
        == late.astimezone(shanghai).date()
    )


def test_the_bell_counts_only_ones_own_unread(client):
    seller, colleague = UserFactory(role=roles.SALES), UserFactory(role=roles.SALES)
    notify(seller, NotificationKind.MENTIONED, "one")
    notify(colleague, NotificationKind.MENTIONED, "theirs")
    client.force_login(seller)

    html = client.get("/notifications/bell/").content.decode()

    assert 'id="bell-count">1<' in html


def test_opening_a_notification_marks_it_read_and_follows_its_link(client):
    seller, colleague = UserFactory(role=roles.SALES), UserFactory(role=roles.SALES)
    mine = notify(seller, NotificationKind.MENTIONED, "look", url="/work/")
    theirs = notify(colleague, NotificationKind.MENTIONED, "theirs", url="/work/")
    client.force_login(seller)

    assert client.post(f"/notifications/{theirs.pk}/open/").status_code == 404
    response = client.post(f"/notifications/{mine.pk}/open/")

    assert response["Location"] == "/work/"
    assert unread_count(seller) == 0
    assert unread_count(colleague) == 1


def test_mark_all_read_and_the_digest_preference_on_the_page(client):
    seller = UserFactory(role=roles.SALES)
    notify(seller, NotificationKind.MENTIONED, "one")
    notify(seller, NotificationKind.MENTIONED, "two")
    client.force_login(seller)

    assert "two" in client.get("/notifications/").content.decode()
    client.post("/notifications/read/")
    client.post("/notifications/preferences/", {"daily_digest": "on"})

    assert unread_count(seller) == 0
    assert NotificationPreference.objects.get(user=seller).daily_digest
    assert client.get("/notifications/read/").status_code == 405
