"""A raw message as the timeline needs it: Message-ID, subject, date, sender, recipients and
body text. Pure functions, no database.

Chinese mail is written by clients that label GBK text "gb2312" (or send GBK bytes inside a
gb2312 encoded-word): every Chinese GB charset is read as GB18030, which contains them all, so
a character outside GB2312 is read as itself instead of becoming a replacement mark. Bytes no
charset explains still become U+FFFD; since the text is logged as received, not typed, such
characters (and control characters) are dropped rather than refusing the whole message."""

from __future__ import annotations

import datetime
import email
import email.header
import email.utils
import hashlib
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, Message
from html.parser import HTMLParser

from kernel.free_text import NOTE_LENGTH, has_unreadable_characters, mark_unreadable

# GB2312 and GBK are subsets of GB18030: decoding with it reads what a mislabelled client sent.
_GB_CHARSETS = {"gb2312", "gbk", "x-gbk", "gb_2312-80", "euc-cn", "cp936", "csgb2312", "gb18030"}
SUBJECT_LENGTH = 200


@dataclass(frozen=True)
class ParsedMessage:
    message_key: str  # a digest of the Message-ID (or of the headers, for a message without)
    subject: str
    sent_at: datetime.datetime | None
    sender: str  # the From address, lower-case ("" when missing)
    recipients: list[str]  # To and Cc addresses, lower-case
    body: str


def _codec(charset: str | None) -> str:
    name = (charset or "utf-8").strip().lower()
    return "gb18030" if name in _GB_CHARSETS else name


def decode_bytes(data: bytes, charset: str | None) -> str:
    try:
        return data.decode(_codec(charset), errors="replace")
    except LookupError:
        # A charset Python does not know: UTF-8 is what most such mail turns out to be.
        return data.decode("utf-8", errors="replace")


def readable(text: str) -> str:
    """The text without characters no person writes (undecodable bytes, controls)."""
    if not has_unreadable_characters(text):
        return text
    return mark_unreadable(text).replace("\ufffd", "")


def decode_header(raw: str | None) -> str:
    """An RFC 2047 header (=?GB2312?B?...?=, =?UTF-8?Q?...?=, or plain) as text."""
    if not raw:
        return ""
    parts = []
    for chunk, charset in email.header.decode_header(str(raw)):
        parts.append(decode_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk)
    return readable(" ".join("".join(parts).split()))


def _raw_headers(message: Message, *names: str) -> list[str]:
    # Headers as sent, before the email package decodes them with the labelled charset.
    return [
        " ".join(str(value).split()) for key, value in message.raw_items() if key.lower() in names
    ]


def _raw_header(message: Message, name: str) -> str | None:
    values = _raw_headers(message, name)
    return values[0] if values else None


def _addresses(message: Message, *names: str) -> list[str]:
    values = _raw_headers(message, *names)
    found = []
    for _display, address in email.utils.getaddresses(values):
        address = address.strip().lower()
        if "@" in address and address not in found:
            found.append(address)
    return found


class _TextOfHtml(HTMLParser):
    """The text a reader sees in an HTML body: tags dropped, blocks on lines of their own,
    scripts and styles left out."""

    _BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}
    _HIDDEN = {"script", "style", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1
        elif tag in self._BLOCKS:
            self.pieces.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self._BLOCKS:
            self.pieces.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.pieces.append(data)


def html_to_text(html: str) -> str:
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.pieces).splitlines())
    return "\n".join(line for line in lines if line)


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    return decode_bytes(payload, part.get_content_charset())


def body_text(message: Message) -> str:
    """The message's text: its first text/plain part, else its first text/html part as text;
    attachments are never read."""
    plain = html = None
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        kind = part.get_content_type()
        if kind == "text/plain" and plain is None:
            plain = _part_text(part)
        elif kind == "text/html" and html is None:
            html = _part_text(part)
    text = plain if plain is not None and plain.strip() else html_to_text(html or "")
    text = readable(text.replace("\r\n", "\n")).strip()
    if len(text) > NOTE_LENGTH:
        text = text[: NOTE_LENGTH - 1] + "…"
    return text


def _sent_at(message: Message) -> datetime.datetime | None:
    raw = _raw_header(message, "date")
    if not raw:
        return None
    try:
        sent = email.utils.parsedate_to_datetime(raw.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if sent.tzinfo is None:
        # RFC 5322's "-0000": the time is UTC, its zone unknown.
        sent = sent.replace(tzinfo=datetime.UTC)
    return sent


def message_key(message: Message, sender: str, recipients: list[str], subject: str) -> str:
    """What makes two copies of a message one (the inbox's and the BCC's, a folder read
    again): its Message-ID; without one, its sender, recipients, date and subject."""
    message_id = (_raw_header(message, "message-id") or "").strip()
    basis = message_id or "\n".join(
        [sender, ",".join(sorted(recipients)), _raw_header(message, "date") or "", subject]
    )
    return hashlib.sha256(basis.encode("utf-8", errors="replace")).hexdigest()[:40]


def parse(raw: bytes) -> ParsedMessage:
    message: EmailMessage = email.message_from_bytes(raw, policy=policy.default)  # type: ignore[assignment]
    senders = _addresses(message, "from")
    sender = senders[0] if senders else ""
    recipients = [address for address in _addresses(message, "to", "cc") if address != sender]
    subject = decode_header(_raw_header(message, "subject"))
    if len(subject) > SUBJECT_LENGTH:
        subject = subject[: SUBJECT_LENGTH - 1] + "…"
    return ParsedMessage(
        message_key=message_key(message, sender, recipients, subject),
        subject=subject,
        sent_at=_sent_at(message),
        sender=sender,
        recipients=recipients,
        body=body_text(message),
    )
