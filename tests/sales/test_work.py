"""My work and the calendar: grouping by local day, done / snooze / reassign in place, the
manager's team switch, scope (404) and query counts."""

import datetime
import zoneinfo

import pytest
from django.utils import timezone

from accounts.models import Team, TeamMembership
from interactions.models import FollowUp
from interactions.services import schedule_follow_up
from privacy import roles
from privacy.models import AuditEvent
from sales.deals.services import create_deal, win_deal
from sales.work import calendar
from sales.work.selectors import grouped_follow_ups
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def _follow_up(assignee, due_at, *, customer=None, title="Call back"):
    return schedule_follow_up(
        actor=assignee,
        customer=customer or CustomerFactory(owner=assignee),
        title=title,
        due_at=due_at,
        assignee=assignee,
    )


def _team(manager, *members):
    team = Team.objects.create(name="East", manager=manager)
    for member in members:
        TeamMembership.objects.create(team=team, user=member)
    return team


def test_follow_ups_are_grouped_by_the_day_in_shanghai():
    seller = UserFactory(role=roles.SALES)
    # 10:00 in Shanghai on 1 March is 02:00 UTC.
    now = datetime.datetime(2026, 3, 1, 10, 0, tzinfo=SHANGHAI)
    overdue = _follow_up(seller, now - datetime.timedelta(hours=1), title="overdue")
    late_today = _follow_up(
        seller, datetime.datetime(2026, 3, 1, 23, 30, tzinfo=SHANGHAI), title="today"
    )
    # 16:30 UTC on 1 March is already 2 March in Shanghai.
    tomorrow = _follow_up(
        seller, datetime.datetime(2026, 3, 1, 16, 30, tzinfo=datetime.UTC), title="tomorrow"
    )

    groups = grouped_follow_ups(user=seller, owner_ids=[seller.pk], now=now)

    assert groups.overdue == [overdue]
    assert groups.today == [late_today]
    assert groups.upcoming == [tomorrow]


def test_my_work_lists_only_my_open_follow_ups_in_few_queries(
    client, django_assert_max_num_queries
):
    seller, other = UserFactory(role=roles.SALES), UserFactory(role=roles.SALES)
    for days in range(-2, 4):
        _follow_up(seller, timezone.now() + datetime.timedelta(days=days), title=f"mine {days}")
    _follow_up(other, timezone.now(), title="theirs")
    client.force_login(seller)

    with django_assert_max_num_queries(12):
        response = client.get("/work/")

    html = response.content.decode()
    assert html.count('id="follow-up-') == 6
    assert "theirs" not in html


def test_done_snooze_and_reassign_in_place_with_htmx(client):
    seller, colleague = UserFactory(role=roles.SALES), UserFactory(role=roles.SALES)
    customer = CustomerFactory()  # unassigned: the colleague may see it too
    first = _follow_up(seller, timezone.now(), customer=customer)
    second = _follow_up(seller, timezone.now(), customer=customer)
    third = _follow_up(seller, timezone.now(), customer=customer)
    client.force_login(seller)
    htmx = {"HTTP_HX_REQUEST": "true"}

    done = client.post(f"/work/follow-ups/{first.pk}/done/", **htmx)
    snoozed = client.post(
        f"/work/follow-ups/{second.pk}/snooze/", {"until": "tomorrow", "version": 1}, **htmx
    )
    reassigned = client.post(
        f"/work/follow-ups/{third.pk}/reassign/", {"assignee": colleague.pk, "version": 1}, **htmx
    )

    assert "Done: Call back" in done.content.decode()
    assert "Snoozed until" in snoozed.content.decode()
    assert "Reassigned to" in reassigned.content.decode()
    first.refresh_from_db(), second.refresh_from_db(), third.refresh_from_db()
    assert first.done_by == seller
    local_due = timezone.localtime(second.due_at)
    assert (local_due.date(), local_due.hour) == (
        timezone.localdate() + datetime.timedelta(days=1),
        9,
    )
    assert third.assignee == colleague
    assert AuditEvent.objects.filter(action="follow_up.update").count() == 2


def test_snoozing_to_a_picked_date_without_javascript_comes_back_to_the_page(client):
    seller = UserFactory(role=roles.SALES)
    follow_up = _follow_up(seller, timezone.now())
    client.force_login(seller)
    day = timezone.localdate() + datetime.timedelta(days=10)

    response = client.post(
        f"/work/follow-ups/{follow_up.pk}/snooze/", {"until": "date", "date": day.isoformat()}
    )
    missing = client.post(f"/work/follow-ups/{follow_up.pk}/snooze/", {"until": "date"})

    assert response["Location"].startswith("/work/")
    follow_up.refresh_from_db()
    assert timezone.localtime(follow_up.due_at).date() == day
    assert missing.status_code == 302
    messages = [str(m) for m in client.get("/work/").context["messages"]]
    assert "Pick the date to snooze until." in messages


def test_a_stale_version_is_refused_and_nothing_changes(client):
    seller = UserFactory(role=roles.SALES)
    follow_up = _follow_up(seller, timezone.now())
    client.force_login(seller)
    client.post(f"/work/follow-ups/{follow_up.pk}/snooze/", {"until": "hour", "version": 1})

    stale = client.post(
        f"/work/follow-ups/{follow_up.pk}/snooze/",
        {"until": "next_week", "version": 1},
        HTTP_HX_REQUEST="true",
    )

    assert "Someone changed this follow-up meanwhile" in stale.content.decode()
    follow_up.refresh_from_db()
    assert follow_up.version == 2


def test_someone_elses_follow_up_answers_404_and_analysts_may_not_act(client, analyst_user):
    seller, other = UserFactory(role=roles.SALES), UserFactory(role=roles.SALES)
    theirs = _follow_up(other, timezone.now())
    client.force_login(seller)

    for action in ("done", "snooze", "reassign"):
        assert client.post(f"/work/follow-ups/{theirs.pk}/{action}/").status_code == 404
    client.force_login(analyst_user)
    assert client.post(f"/work/follow-ups/{theirs.pk}/done/").status_code == 403
    theirs.refresh_from_db()
    assert theirs.done_at is None


def test_reassigning_to_a_colleague_outside_the_customers_scope_is_refused(client):
    seller, other = UserFactory(role=roles.SALES), UserFactory(role=roles.SALES)
    follow_up = _follow_up(seller, timezone.now(), customer=CustomerFactory(owner=seller))
    client.force_login(seller)

    response = client.post(
        f"/work/follow-ups/{follow_up.pk}/reassign/",
        {"assignee": other.pk},
        HTTP_HX_REQUEST="true",
    )

    assert "cannot work on this customer" in response.content.decode()
    assert FollowUp.objects.get(pk=follow_up.pk).assignee == seller


def test_a_manager_sees_and_acts_on_the_teams_follow_ups(client):
    manager = UserFactory(role=roles.SALES)
    member, outsider = UserFactory(role=roles.SALES), UserFactory(role=roles.SALES)
    _team(manager, member)
    members = _follow_up(member, timezone.now(), customer=CustomerFactory(), title="member's")
    _follow_up(outsider, timezone.now(), customer=CustomerFactory(), title="outsider's")
    _follow_up(manager, timezone.now(), customer=CustomerFactory(), title="manager's")
    client.force_login(manager)

    def shown(who):
        return client.get(f"/work/?who={who}").content.decode()

    assert "member&#x27;s" not in shown("me")
    assert "manager&#x27;s" in shown("me")
    team = shown("team")
    assert "member&#x27;s" in team
    assert "manager&#x27;s" in team
    assert "outsider" not in team
    only_member = shown(member.pk)
    assert "member&#x27;s" in only_member
    assert "manager&#x27;s" not in only_member
    assert client.get(f"/work/?who={outsider.pk}").status_code == 404
    assert client.post(f"/work/follow-ups/{members.pk}/done/").status_code == 302
    members.refresh_from_db()
    assert members.done_by == manager


def test_a_member_cannot_pick_the_managers_scope(client):
    manager, member = UserFactory(role=roles.SALES), UserFactory(role=roles.SALES)
    _team(manager, member)
    client.force_login(member)

    assert client.get(f"/work/?who={manager.pk}").status_code == 404
    assert 'name="who"' not in client.get("/work/").content.decode()


def test_the_month_calendar_shows_follow_ups_on_their_local_day(
    client, django_assert_max_num_queries
):
    seller = UserFactory(role=roles.SALES)
    _follow_up(seller, datetime.datetime(2026, 3, 1, 16, 30, tzinfo=datetime.UTC), title="early")
    _follow_up(seller, datetime.datetime(2026, 3, 20, 9, 0, tzinfo=SHANGHAI), title="later")
    _follow_up(seller, datetime.datetime(2026, 4, 20, 9, 0, tzinfo=SHANGHAI), title="april")
    client.force_login(seller)

    with django_assert_max_num_queries(8):
        response = client.get("/work/calendar/?view=month&day=2026-03-15")

    weeks = response.context["weeks"]
    by_day = {cell.day: [e.title for e in cell.entries] for week in weeks for cell in week}
    assert weeks[0][0].day == datetime.date(2026, 2, 23)  # the Monday before 1 March
    assert by_day[datetime.date(2026, 3, 2)] == ["early · " + by_day_customer(seller, "early")]
    assert [t.split(" · ")[0] for t in by_day[datetime.date(2026, 3, 20)]] == ["later"]
    assert not any("april" in t for titles in by_day.values() for t in titles)
    assert response.context["previous"] == "2026-02-01"
    assert response.context["following"] == "2026-04-01"


def by_day_customer(user, title):
    return str(FollowUp.objects.get(assignee=user, title=title).customer)


def test_the_week_calendar_has_seven_days_and_the_sources_entries():
    seller = UserFactory(role=roles.SALES)
    _follow_up(seller, datetime.datetime(2026, 3, 4, 9, 0, tzinfo=SHANGHAI), title="wed")
    start = datetime.datetime(2026, 3, 2, tzinfo=SHANGHAI)

    entries = calendar.calendar_entries(
        user=seller, start=start, end=start + datetime.timedelta(days=7), owner_ids=[seller.pk]
    )

    (entry,) = entries[datetime.date(2026, 3, 4)]
    assert (entry.kind, entry.time, entry.overdue) == ("follow_up", "09:00", True)


def test_open_deals_show_on_their_expected_close_day_and_closed_ones_do_not():
    seller, colleague = UserFactory(role=roles.SALES), UserFactory(role=roles.SALES)
    customer = CustomerFactory(owner=seller)
    open_deal = create_deal(
        actor=seller,
        customer=customer,
        title="Cold room",
        expected_close_date=datetime.date(2026, 3, 5),
    )
    won = create_deal(
        actor=seller,
        customer=customer,
        title="Shelves",
        expected_close_date=datetime.date(2026, 3, 6),
    )
    win_deal(actor=seller, deal=won, record_purchase=False)
    create_deal(
        actor=colleague,
        customer=CustomerFactory(owner=colleague),
        title="Not mine",
        expected_close_date=datetime.date(2026, 3, 5),
    )
    start = datetime.datetime(2026, 3, 2, tzinfo=SHANGHAI)

    entries = calendar.calendar_entries(
        user=seller, start=start, end=start + datetime.timedelta(days=7), owner_ids=[seller.pk]
    )

    (entry,) = [entry for day in entries.values() for entry in day]
    assert (entry.kind, entry.time, entry.day) == ("deal", "", datetime.date(2026, 3, 5))
    assert entry.url == f"/deals/{open_deal.pk}/"


def test_the_week_view_page(client):
    seller = UserFactory(role=roles.SALES)
    _follow_up(seller, datetime.datetime(2026, 3, 4, 9, 0, tzinfo=SHANGHAI), title="wed")
    client.force_login(seller)

    response = client.get("/work/calendar/?view=week&day=2026-03-05")

    (week,) = response.context["weeks"]
    assert [cell.day.day for cell in week] == [2, 3, 4, 5, 6, 7, 8]
    assert "09:00 wed" in response.content.decode()


def test_a_calendar_day_that_does_not_exist_shows_this_month(client):
    seller = UserFactory(role=roles.SALES)
    client.force_login(seller)

    response = client.get("/work/calendar/?day=2026-02-30")

    assert response.context["anchor"] == timezone.localdate().isoformat()
