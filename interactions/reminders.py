"""Telling staff about follow-ups and notes: a follow-up assigned to them, one falling due, an
@mention in a note; and the daily digest mail. Called by interactions/services.py and the beat
(interactions/tasks.py); every notification goes through notifications.services, written in
the recipient's language and naming only what the recipient may see."""

from __future__ import annotations

import datetime
import logging
import re
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer
from customers.selectors import customers_visible_to
from interactions.models import FollowUp
from kernel.actors import Actor
from kernel.person_names import join_person_name
from notifications.models import Notification, NotificationKind, NotificationPreference
from notifications.services import in_language_of, notify, notify_many

logger = logging.getLogger(__name__)

# A follow-up that fell due longer ago than this when the beat first sees it (the product was
# down, or it was created overdue) is not announced: its assignee sees it under "Overdue".
DUE_LOOKBACK = datetime.timedelta(days=1)


def my_work_url(follow_up: FollowUp) -> str:
    return f"{reverse('work:index')}#follow-up-{follow_up.pk}"


def notify_assigned(*, actor: Actor | None, follow_up: FollowUp) -> None:
    """Tell the assignee a follow-up is theirs, unless they gave it to themselves."""
    assignee = follow_up.assignee
    if actor is not None and getattr(actor, "pk", None) == assignee.pk:
        return
    with in_language_of(assignee):
        message = _("New follow-up for you: %(title)s (%(customer)s)") % {
            "title": follow_up.title,
            "customer": follow_up.customer,
        }
    notify(
        assignee,
        NotificationKind.FOLLOW_UP_ASSIGNED,
        message,
        url=my_work_url(follow_up),
        customer_id=follow_up.customer_id,
    )


def due_once_key(follow_up: FollowUp) -> str:
    """Once per follow-up and due time: snoozed, it is announced again when due again."""
    return f"follow_up_due:{follow_up.pk}:{int(follow_up.due_at.timestamp())}"


def notify_due_follow_ups(*, now: datetime.datetime | None = None) -> int:
    """Tell the assignees of the open follow-ups that fell due (within DUE_LOOKBACK), once
    each per due time: a read of the follow-ups, of which assignees are active, and one insert,
    whatever their number; a retried or overlapping run adds nothing (the once keys). Returns
    how many were offered."""
    now = now or timezone.now()
    due = (
        FollowUp.objects.filter(
            done_at__isnull=True,
            due_at__lte=now,
            due_at__gt=now - DUE_LOOKBACK,
            assignee__is_active=True,
            customer__merged_into__isnull=True,
            customer__erased_at__isnull=True,
        )
        .select_related("customer", "assignee")
        .order_by("due_at", "pk")
    )
    rows = []
    for follow_up in due:
        with in_language_of(follow_up.assignee):
            message = _("Follow-up due: %(title)s (%(customer)s)") % {
                "title": follow_up.title,
                "customer": follow_up.customer,
            }
        rows.append(
            Notification(
                recipient=follow_up.assignee,
                kind=NotificationKind.FOLLOW_UP_DUE,
                message=message[:300],
                url=my_work_url(follow_up),
                customer_id=follow_up.customer_id,
                once_key=due_once_key(follow_up),
            )
        )
    return notify_many(rows)


# "@" starting a mention: not inside a Latin word or an email address ("wang@example.com");
# Chinese text puts no space before it ("请@王丽娟跟进").
_MENTION = re.compile(r"(?<![A-Za-z0-9_.@+-])@([\w.+-]+)?")
# Chinese family names are one or two characters.
_FAMILY_NAME_LENGTHS = (1, 2)


def mentioned_colleagues(text: str) -> list[Any]:
    """The active staff `text` mentions: "@username", or "@" followed by a colleague's name as
    the product shows it ("@王丽娟"). One query, only when the text has an "@"."""
    if "@" not in text:
        return []
    usernames: set[str] = set()
    family_names: set[str] = set()
    for mention in _MENTION.finditer(text):
        if mention.group(1):
            usernames.add(mention.group(1).rstrip("."))
        after = text[mention.start(0) + 1 :]
        family_names.update(after[:length] for length in _FAMILY_NAME_LENGTHS if after)
    if not usernames and not family_names:
        return []
    candidates = get_user_model().objects.filter(
        Q(username__in=usernames) | Q(last_name__in=family_names), is_active=True
    )
    return [
        user
        for user in candidates
        if user.username in usernames
        or f"@{join_person_name(user.last_name, user.first_name)}" in text
    ]


def notify_mentions(*, actor: Actor | None, customer: Customer, text: str) -> None:
    """Tell each colleague `text` mentions, if they may see `customer` (nobody else learns of
    it). Text from a source system (no signed-in actor) mentions nobody: an email address
    is no mention."""
    if not getattr(actor, "is_authenticated", False) or "@" not in text:
        return
    for colleague in mentioned_colleagues(text):
        if colleague.pk == actor.pk:  # type: ignore[union-attr]
            continue
        if not customers_visible_to(colleague).filter(pk=customer.pk).exists():
            continue
        with in_language_of(colleague):
            message = _("%(who)s mentioned you about %(customer)s") % {
                "who": join_person_name(actor.last_name, actor.first_name)  # type: ignore[union-attr]
                or actor.get_username(),  # type: ignore[union-attr]
                "customer": customer,
            }
        notify(
            colleague,
            NotificationKind.MENTIONED,
            message,
            url=reverse("customers:detail", args=[customer.pk]),
            customer_id=customer.pk,
        )


def send_daily_digests(
    *, now: datetime.datetime | None = None, connection: BaseEmailBackend | None = None
) -> int:
    """Mail each active person who asked for it (NotificationPreference.daily_digest) their
    unread notifications not yet in a digest and their open follow-ups due by the end of
    today, once a day: the notifications are marked digested and the day recorded in the same
    transaction, the mail goes out after its commit, so a retried task sends nothing twice.
    Returns how many mails were queued."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    sent = 0
    preferences = NotificationPreference.objects.filter(
        daily_digest=True, user__is_active=True
    ).exclude(last_digest_on=today)
    for user_id in preferences.values_list("user_id", flat=True):
        if send_digest(user_id=user_id, now=now, connection=connection):
            sent += 1
    return sent


@transaction.atomic
def send_digest(
    *, user_id: int, now: datetime.datetime, connection: BaseEmailBackend | None = None
) -> bool:
    """One person's digest (see send_daily_digests). False when there was nothing to send, no
    address, or it went out today already."""
    today = timezone.localdate(now)
    preference = (
        NotificationPreference.objects.select_for_update()
        .select_related("user")
        .filter(user_id=user_id, daily_digest=True)
        .exclude(last_digest_on=today)
        .first()
    )
    if preference is None or not preference.user.email:
        return False
    user = preference.user
    notifications = list(
        Notification.objects.filter(
            recipient=user, read_at__isnull=True, digested_at__isnull=True
        ).order_by("created_at", "pk")
    )
    end_of_today = timezone.localtime(now).replace(
        hour=0, minute=0, second=0, microsecond=0
    ) + datetime.timedelta(days=1)
    follow_ups = list(
        FollowUp.objects.filter(
            assignee=user,
            done_at__isnull=True,
            due_at__lt=end_of_today,
            customer__in=customers_visible_to(user),
        )
        .select_related("customer")
        .order_by("due_at", "pk")
    )
    preference.last_digest_on = today
    preference.save(update_fields=["last_digest_on"])
    if not notifications and not follow_ups:
        return False
    Notification.objects.filter(pk__in=[n.pk for n in notifications]).update(digested_at=now)
    with in_language_of(user):
        context = {
            "user": user,
            "notifications": notifications,
            "follow_ups": follow_ups,
            "site_url": settings.SITE_URL,
            "work_url": settings.SITE_URL + reverse("work:index"),
        }
        subject = _("Your day in the CRM: %(count)s reminders") % {
            "count": len(notifications) + len(follow_ups)
        }
        text = render_to_string("notifications/mail/digest.txt", context)
        html = render_to_string("notifications/mail/digest.html", context)
    mail = EmailMultiAlternatives(
        subject, text, settings.DEFAULT_FROM_EMAIL, [user.email], connection=connection
    )
    mail.attach_alternative(html, "text/html")
    transaction.on_commit(mail.send)
    return True
