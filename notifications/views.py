"""The bell: its unread count (loaded by htmx into the top bar), the list of one's latest
notifications, marking them read, following one, and the daily digest preference. A person
only ever reaches their own notifications."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View

from notifications import services
from notifications.selectors import notifications_for, unread_count, wants_daily_digest

LIST_LENGTH = 50


class NotificationsPermission(PermissionRequiredMixin):
    permission_required = "notifications.view_notification"


class BellView(NotificationsPermission, View):
    """The bell's badge: one indexed count."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "notifications/_bell.html", {"unread": unread_count(request.user)})


class NotificationListView(NotificationsPermission, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return render(
            request,
            "notifications/list.html",
            {
                "notifications": notifications_for(request.user)[:LIST_LENGTH],
                "unread": unread_count(request.user),
                "daily_digest": wants_daily_digest(request.user),
            },
        )


class MarkReadView(NotificationsPermission, View):
    """POST: one notification (`id`) or all of them read."""

    def post(self, request: HttpRequest) -> HttpResponse:
        ids = [int(value) for value in request.POST.getlist("id") if value.isdigit()]
        services.mark_read(request.user, ids or None)
        return HttpResponseRedirect(reverse("notifications:list"))


class OpenView(NotificationsPermission, View):
    """POST: mark one's notification read and go where it leads (a path inside the product)."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        notification = notifications_for(request.user).filter(pk=pk).first()
        if notification is None:
            raise Http404
        services.mark_read(request.user, [notification.pk])
        url = notification.url
        if not url or not url_has_allowed_host_and_scheme(url, allowed_hosts=None):
            url = reverse("notifications:list")
        return HttpResponseRedirect(url)


class PreferenceView(NotificationsPermission, View):
    def post(self, request: HttpRequest) -> HttpResponse:
        enabled = request.POST.get("daily_digest") == "on"
        services.set_daily_digest(actor=request.user, enabled=enabled)
        if enabled:
            messages.success(request, _("You will receive a daily digest mail."))
        else:
            messages.success(request, _("You will receive no daily digest mail."))
        return HttpResponseRedirect(reverse("notifications:list"))
