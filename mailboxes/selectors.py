"""The reads of the mailbox pages and of the operations page's connections."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

from django.db.models import Count, F, Q, QuerySet, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mailboxes.models import Mailbox, MailboxPoll, MailboxProblem
from operations.connections import ConnectionHealth

RECENT_POLLS = 30


def mailboxes() -> QuerySet[Mailbox]:
    return Mailbox.objects.order_by("name", "pk")


def recent_polls(mailbox: Mailbox) -> list[MailboxPoll]:
    """The mailbox's latest polls that read something or failed."""
    return list(mailbox.polls.order_by("-started_at", "-pk")[:RECENT_POLLS])


def problem_text(mailbox: Mailbox) -> str:
    """Why the last poll failed, in words, with the server's own answer."""
    if not mailbox.problem:
        return ""
    words = str(MailboxProblem(mailbox.problem).label)
    return f"{words} {mailbox.problem_detail}".strip()


def mailbox_health() -> Iterator[ConnectionHealth]:
    """Each active mailbox as the operations page shows it: its last message, the failed polls
    and unloggable messages of the last day, and why the last poll failed."""
    since = timezone.now() - datetime.timedelta(days=1)
    recent = Q(polls__started_at__gte=since)
    annotated = Mailbox.objects.filter(is_active=True).annotate(
        failed_polls=Count("polls", filter=recent & ~Q(polls__problem="")),
        failed_messages=Sum(F("polls__failed"), filter=recent, default=0),
    )
    for mailbox in annotated.order_by("name", "pk"):
        yield ConnectionHealth(
            kind=_("Mailbox"),
            name=mailbox.name,
            url=reverse("mailboxes:detail", args=[mailbox.pk]),
            last_received_at=mailbox.last_message_at,
            errors_last_day=mailbox.failed_polls + mailbox.failed_messages,
            problem=problem_text(mailbox),
        )
