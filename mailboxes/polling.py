"""Reading a mailbox (the beat polls every active one each minute): new messages by UID, each
parsed (mailboxes/parsing.py) and logged as an email interaction on the timeline of every known
customer among its addresses (mailboxes/matching.py), through interactions/services.py.

- Read only: folders are opened read-only and messages fetched with BODY.PEEK, so staff's mail
  stays unread in their client.
- Once each: a folder's last UID (and its UIDVALIDITY: a new one means the folder was rebuilt
  and is read again) moves on in the transaction that logs the message, and every interaction
  carries the message's key (a digest of its Message-ID) with its customer's id, unique in the
  interactions table: a message read twice, found in the inbox and through the BCC address,
  or read by two polls at once is logged once per customer.
- Nothing of a message without a known customer is kept, not even its address: it is counted.
- A poll that fails (server unreachable, password refused) says why on the mailbox, and the
  next minute tries again."""

from __future__ import annotations

import base64
import datetime
import imaplib
import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from interactions.models import (
    ArchivedInteraction,
    Interaction,
    InteractionChannel,
    InteractionDirection,
    InteractionKind,
)
from interactions.services import record_interaction
from mailboxes.matching import Party, known_parties
from mailboxes.models import Mailbox, MailboxPoll, MailboxProblem, Security
from mailboxes.parsing import ParsedMessage, parse
from privacy import crypto

# The source system of every interaction logged from mail: a message's key is unique within
# it whichever mailbox read the message.
SOURCE_SYSTEM = "email"
PASSWORD_CONTEXT = "mailboxes.mailbox.password"  # noqa: S105 (privacy/crypto.py's context, a label)
# Messages fetched in one command: bounded memory for a folder of large messages.
_FETCH_AT_ONCE = 20
_UID = re.compile(rb"UID (\d+)")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class PollFailedError(Exception):
    def __init__(self, problem: str, detail: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.detail = detail[:300]


@dataclass
class Counts:
    messages_read: int = 0
    interactions_logged: int = 0
    already_logged: int = 0
    unknown: int = 0
    failed: int = 0


def poll_all() -> int:
    """Poll every active mailbox; returns how many interactions were logged."""
    logged = 0
    for pk in Mailbox.objects.filter(is_active=True).values_list("pk", flat=True):
        poll = poll_mailbox(pk)
        logged += poll.interactions_logged if poll is not None else 0
    forget_old_polls()
    return logged


def _claim(mailbox_id: int) -> bool:
    now = timezone.now()
    hold = datetime.timedelta(seconds=settings.MAILBOX_TIMEOUT * 10)
    return bool(
        Mailbox.objects.filter(pk=mailbox_id, is_active=True)
        .filter(Q(polling_until__isnull=True) | Q(polling_until__lt=now))
        .update(polling_until=now + hold)
    )


def poll_mailbox(mailbox_id: int) -> MailboxPoll | None:
    """Read the mailbox's new messages and log those of known customers. Returns the poll's
    record (None when another poll holds the mailbox, or when nothing was read and nothing went
    wrong: quiet polls leave no row)."""
    if not _claim(mailbox_id):
        return None
    mailbox = Mailbox.objects.get(pk=mailbox_id)
    counts, failure = Counts(), None
    started = timezone.now()
    try:
        _read(mailbox, counts)
    except PollFailedError as error:
        failure = error
    now = timezone.now()
    changes = {"polling_until": None, "last_polled_at": now}
    if counts.messages_read:
        changes["last_message_at"] = now
    if failure is None:
        changes.update(problem=MailboxProblem.NONE, problem_detail="", failing_since=None)
    else:
        changes.update(
            problem=failure.problem,
            problem_detail=failure.detail,
            failing_since=mailbox.failing_since or now,
        )
    Mailbox.objects.filter(pk=mailbox.pk).update(**changes)
    if not counts.messages_read and failure is None:
        return None
    return MailboxPoll.objects.create(
        mailbox=mailbox,
        started_at=started,
        problem=failure.problem if failure else "",
        **vars(counts),
    )


def forget_old_polls() -> int:
    cutoff = timezone.now() - datetime.timedelta(days=settings.MAILBOX_POLL_LOG_DAYS)
    deleted, _ = MailboxPoll.objects.filter(started_at__lt=cutoff).delete()
    return deleted


def _words(answer: object) -> str:
    """The server's text in an answer or an error: bytes or a list of them. A system error
    says its reason ("Connection refused"), not its number, which is its first argument."""
    if isinstance(answer, OSError):
        return answer.strerror or str(answer)
    if isinstance(answer, BaseException):
        answer = answer.args[0] if answer.args else ""
    if isinstance(answer, list):
        answer = answer[0] if answer else ""
    return answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer or "")


@contextmanager
def _session(mailbox: Mailbox) -> Iterator[imaplib.IMAP4]:
    try:
        password = crypto.decrypt(mailbox.password_encrypted, context=PASSWORD_CONTEXT)
    except (crypto.DecryptionError, crypto.CryptoConfigurationError) as error:
        raise PollFailedError(MailboxProblem.PASSWORD) from error
    timeout = settings.MAILBOX_TIMEOUT
    try:
        if mailbox.security == Security.TLS:
            imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                mailbox.host,
                mailbox.port,
                ssl_context=ssl.create_default_context(),
                timeout=timeout,
            )
        else:
            imap = imaplib.IMAP4(mailbox.host, mailbox.port, timeout=timeout)
            if mailbox.security == Security.STARTTLS:
                imap.starttls(ssl_context=ssl.create_default_context())
    except (OSError, imaplib.IMAP4.error) as error:
        raise PollFailedError(MailboxProblem.CONNECT, _words(error)) from error
    try:
        try:
            imap.login(mailbox.username, password)
        except imaplib.IMAP4.abort as error:
            raise PollFailedError(MailboxProblem.PROTOCOL, _words(error)) from error
        except imaplib.IMAP4.error as error:
            raise PollFailedError(MailboxProblem.LOGIN, _words(error)) from error
        yield imap
    except imaplib.IMAP4.error as error:
        raise PollFailedError(MailboxProblem.PROTOCOL, _words(error)) from error
    except OSError as error:
        raise PollFailedError(MailboxProblem.CONNECT, _words(error)) from error
    finally:
        # A connection that broke is gone already: nothing is left to close.
        with suppress(OSError, imaplib.IMAP4.error):
            imap.logout()


def _read(mailbox: Mailbox, counts: Counts) -> None:
    with _session(mailbox) as imap:
        for folder in mailbox.folder_names:
            _read_folder(imap, mailbox, folder, counts)


def imap_folder_name(name: str) -> str:
    """A folder name as IMAP writes it (RFC 3501's modified UTF-7, quoted): "已发送" is
    "&XfJT0ZAB-"."""
    encoded, pending = [], []

    def flush() -> None:
        if pending:
            data = "".join(pending).encode("utf-16-be")
            encoded.append(
                "&" + base64.b64encode(data).decode().rstrip("=").replace("/", ",") + "-"
            )
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            encoded.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return '"' + "".join(encoded).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _search_criteria(mailbox: Mailbox, after_uid: int) -> list[str]:
    criteria = [f"UID {after_uid + 1}:*"]
    if mailbox.read_since:
        day = mailbox.read_since
        criteria += ["SINCE", f"{day.day:02d}-{_MONTHS[day.month - 1]}-{day.year}"]
    return criteria


def _read_folder(imap: imaplib.IMAP4, mailbox: Mailbox, folder: str, counts: Counts) -> None:
    status, answer = imap.select(imap_folder_name(folder), readonly=True)
    if status != "OK":
        raise PollFailedError(MailboxProblem.FOLDER, f"{folder}: {_words(answer)}")
    _name, values = imap.response("UIDVALIDITY")
    uidvalidity = int(values[0]) if values and values[0] else 0
    state = mailbox.folder_state.get(folder, {})
    after_uid = state.get("last_uid", 0) if state.get("uidvalidity") == uidvalidity else 0
    status, found = imap.uid("SEARCH", *_search_criteria(mailbox, after_uid))
    if status != "OK":
        raise PollFailedError(MailboxProblem.PROTOCOL, _words(found))
    # "n:*" names the folder's last message even when its UID is below n.
    uids = sorted(uid for uid in map(int, found[0].split()) if uid > after_uid)
    uids = uids[: settings.MAILBOX_BATCH]
    for start in range(0, len(uids), _FETCH_AT_ONCE):
        chunk = uids[start : start + _FETCH_AT_ONCE]
        status, fetched = imap.uid("FETCH", ",".join(map(str, chunk)), "(BODY.PEEK[])")
        if status != "OK":
            raise PollFailedError(MailboxProblem.PROTOCOL, _words(fetched))
        messages = {
            int(match.group(1)): item[1]
            for item in fetched
            if isinstance(item, tuple) and (match := _UID.search(item[0]))
        }
        for uid in chunk:
            with transaction.atomic():
                if uid in messages:
                    counts.messages_read += 1
                    log_message(mailbox, messages[uid], counts)
                mailbox.folder_state[folder] = {"uidvalidity": uidvalidity, "last_uid": uid}
                Mailbox.objects.filter(pk=mailbox.pk).update(folder_state=mailbox.folder_state)


def _domain(address: str) -> str:
    return address.rpartition("@")[2]


def _staff_member(addresses: list[str]):
    """The active user whose address is the first of `addresses` a user has, if any."""
    if not addresses:
        return None
    users = {
        user.address: user
        for user in get_user_model()
        .objects.filter(is_active=True)
        .annotate(address=Lower("email"))
        .filter(address__in=addresses)
    }
    return next((users[address] for address in addresses if address in users), None)


def _logged_before(party: Party, key: str) -> bool:
    return any(
        table.objects.filter(
            customer=party.customer, source_system=SOURCE_SYSTEM, external_ref__startswith=key + ":"
        ).exists()
        for table in (Interaction, ArchivedInteraction)
    )


def log_message(mailbox: Mailbox, raw: bytes, counts: Counts) -> None:
    """Log one message on the timeline of each known customer among its addresses (staff's
    own addresses and the BCC address left out): kind and channel email, in or out by the
    sender's domain, the subject, the Date header's time, the text as the interaction's
    details (so the interaction-text retention policy clears it in time)."""
    message: ParsedMessage = parse(raw)
    staff_domains = mailbox.staff_domain_names
    outgoing = _domain(message.sender) in staff_domains
    others = [
        address
        for address in [message.sender, *message.recipients]
        if _domain(address) not in staff_domains and address != mailbox.bcc_address.lower()
    ]
    parties = known_parties(others)
    if not parties:
        counts.unknown += 1
        return
    staff = _staff_member(
        [message.sender] if outgoing else [a for a in message.recipients if a not in others]
    )
    for party in parties:
        if _logged_before(party, message.message_key):
            counts.already_logged += 1
            continue
        try:
            with transaction.atomic():
                record_interaction(
                    actor=None,
                    customer=party.customer,
                    contact=party.contact,
                    kind=InteractionKind.EMAIL,
                    channel=InteractionChannel.EMAIL,
                    direction=InteractionDirection.OUTGOING
                    if outgoing
                    else InteractionDirection.INCOMING,
                    occurred_at=message.sent_at or timezone.now(),
                    subject=message.subject,
                    body=message.body,
                    staff=staff,
                    source_system=SOURCE_SYSTEM,
                    external_ref=f"{message.message_key}:{party.customer.pk}",
                )
        except IntegrityError:
            # Another poll logged it between the check and the insert.
            counts.already_logged += 1
        except ValidationError:
            if _logged_before(party, message.message_key):
                counts.already_logged += 1  # by another poll, committed since the check
            else:
                # The customer was erased meanwhile, or the text breaks a rule parsing cannot fix.
                counts.failed += 1
        else:
            counts.interactions_logged += 1
