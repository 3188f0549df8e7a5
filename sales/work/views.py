"""My work and the calendar: the follow-ups of the signed-in person (or, for a manager, of
their team), done, snoozed and reassigned in place (htmx answers the row; without JavaScript
the plain form posts and comes back to the page)."""

from __future__ import annotations

import calendar as month_calendar
import datetime
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views import View

from accounts.templatetags.staff import staff_name
from customers.selectors import can_edit_customer
from interactions import services
from interactions.forms import staff_who_follow_up
from interactions.models import FollowUp
from kernel.versioning import EditConflictError
from sales.work.calendar import CalendarEntry, calendar_entries
from sales.work.forms import ReassignForm, SnoozeForm
from sales.work.selectors import (
    follow_up_in_scope,
    grouped_follow_ups,
    start_of_day,
    work_scope,
)


class WorkView(PermissionRequiredMixin, View):
    permission_required = "interactions.view_followup"

    def get(self, request: HttpRequest) -> HttpResponse:
        scope = work_scope(request.user, request.GET.get("who", "me"))
        groups = grouped_follow_ups(user=request.user, owner_ids=scope.owner_ids)
        colleagues = list(staff_who_follow_up())
        return render(
            request,
            "work/index.html",
            {
                "scope": scope,
                "groups": [
                    ("overdue", _("Overdue"), groups.overdue),
                    ("today", _("Today"), groups.today),
                    ("upcoming", _("Upcoming"), groups.upcoming),
                ],
                "colleagues": colleagues,
                "snooze_choices": SnoozeForm.base_fields["until"].choices,
                "can_act": request.user.has_perm("interactions.change_followup"),
            },
        )


class FollowUpActionView(PermissionRequiredMixin, View):
    """POST only: load the follow-up within the user's scope (404), check they may edit its
    customer (403), run the action's service and answer the row (htmx) or go back."""

    permission_required = "interactions.change_followup"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        follow_up = follow_up_in_scope(user=request.user, pk=pk)
        if not can_edit_customer(request.user, follow_up.customer):
            raise PermissionDenied
        try:
            notice = self.act(request, follow_up)
        except EditConflictError:
            return self.answer(
                request,
                follow_up,
                error=_("Someone changed this follow-up meanwhile; reload the page and try again."),
            )
        except ValidationError as error:
            return self.answer(request, follow_up, error=" ".join(error.messages))
        return self.answer(request, follow_up, notice=notice)

    def act(self, request: HttpRequest, follow_up: FollowUp) -> str:
        raise NotImplementedError

    def answer(
        self, request: HttpRequest, follow_up: FollowUp, *, notice: str = "", error: str = ""
    ) -> HttpResponse:
        if request.headers.get("HX-Request"):
            follow_up.refresh_from_db()
            return render(
                request,
                "work/_follow_up.html",
                {
                    "follow_up": follow_up,
                    "notice": notice,
                    "error": error,
                    "colleagues": list(staff_who_follow_up()),
                    "snooze_choices": SnoozeForm.base_fields["until"].choices,
                    "can_act": True,
                },
            )
        if error:
            messages.error(request, error)
        else:
            messages.success(request, notice)
        back = reverse("work:index")
        who = request.POST.get("who", "")
        return HttpResponseRedirect(f"{back}?who={who}" if who.isalnum() else back)


class DoneView(FollowUpActionView):
    def act(self, request: HttpRequest, follow_up: FollowUp) -> str:
        if not services.complete_follow_up(actor=request.user, follow_up=follow_up):
            raise ValidationError(_("This follow-up is done already."))
        return _("Done: %(title)s") % {"title": follow_up.title}


class SnoozeView(FollowUpActionView):
    def act(self, request: HttpRequest, follow_up: FollowUp) -> str:
        form = SnoozeForm(request.POST)
        if not form.is_valid():
            raise ValidationError([m for errors in form.errors.values() for m in errors])
        services.snooze_follow_up(
            actor=request.user,
            follow_up=follow_up,
            until=form.due_at(),
            expected_version=form.cleaned_data["version"],
        )
        return _("Snoozed until %(when)s") % {
            "when": date_format(timezone.localtime(follow_up.due_at), "SHORT_DATETIME_FORMAT")
        }


class ReassignView(FollowUpActionView):
    def act(self, request: HttpRequest, follow_up: FollowUp) -> str:
        form = ReassignForm(request.POST)
        if not form.is_valid():
            raise ValidationError([m for errors in form.errors.values() for m in errors])
        assignee = form.cleaned_data["assignee"]
        services.reassign_follow_up(
            actor=request.user,
            follow_up=follow_up,
            assignee=assignee,
            expected_version=form.cleaned_data["version"],
        )
        return _("Reassigned to %(name)s") % {"name": staff_name(assignee)}


@dataclass
class CalendarDay:
    day: datetime.date
    in_period: bool
    is_today: bool
    entries: list[CalendarEntry]


class CalendarView(PermissionRequiredMixin, View):
    """A month (weeks from Monday) or a week of follow-ups due and, once deals exist, their
    close dates; at phone width the same days as a list."""

    permission_required = "interactions.view_followup"

    def get(self, request: HttpRequest) -> HttpResponse:
        scope = work_scope(request.user, request.GET.get("who", "me"))
        mode = "week" if request.GET.get("view") == "week" else "month"
        today = timezone.localdate()
        try:
            anchor = parse_date(request.GET.get("day") or "") or today
        except ValueError:  # well formed but no such day ("2026-02-30")
            anchor = today
        if mode == "week":
            first = anchor - datetime.timedelta(days=anchor.weekday())
            last = first + datetime.timedelta(days=6)
            previous, following = (
                first - datetime.timedelta(days=7),
                first + datetime.timedelta(days=7),
            )
            title = _("Week of %(day)s") % {"day": date_format(first, "DATE_FORMAT")}
        else:
            month_start = anchor.replace(day=1)
            month_end = month_start.replace(
                day=month_calendar.monthrange(anchor.year, anchor.month)[1]
            )
            first = month_start - datetime.timedelta(days=month_start.weekday())
            last = month_end + datetime.timedelta(days=6 - month_end.weekday())
            previous = (month_start - datetime.timedelta(days=1)).replace(day=1)
            following = month_end + datetime.timedelta(days=1)
            title = date_format(month_start, "YEAR_MONTH_FORMAT")
        start = start_of_day(timezone.make_aware(datetime.datetime.combine(first, datetime.time())))
        end = start_of_day(
            timezone.make_aware(
                datetime.datetime.combine(last + datetime.timedelta(days=1), datetime.time())
            )
        )
        by_day = calendar_entries(
            user=request.user, start=start, end=end, owner_ids=scope.owner_ids
        )
        days = [
            CalendarDay(
                day=first + datetime.timedelta(days=offset),
                in_period=mode == "week"
                or (first + datetime.timedelta(days=offset)).month == anchor.month,
                is_today=first + datetime.timedelta(days=offset) == today,
                entries=by_day.get(first + datetime.timedelta(days=offset), []),
            )
            for offset in range((last - first).days + 1)
        ]
        return render(
            request,
            "work/calendar.html",
            {
                "scope": scope,
                "mode": mode,
                "title": title,
                "weeks": [days[i : i + 7] for i in range(0, len(days), 7)],
                "days_with_entries": [day for day in days if day.entries],
                "weekday_names": [
                    date_format(first + datetime.timedelta(days=i), "D") for i in range(7)
                ],
                "previous": previous.isoformat(),
                "following": following.isoformat(),
                "today": today.isoformat(),
                "anchor": anchor.isoformat(),
            },
        )
