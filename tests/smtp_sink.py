"""A real SMTP server (aiosmtpd) on 127.0.0.1 for tests that mail: the product sends through
Django's SMTP backend exactly as in production, and the test reads what arrived."""

from __future__ import annotations

import email
import email.policy
import logging
import socket
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller


@dataclass
class SmtpSink:
    port: int
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook)
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_sink() -> tuple[SmtpSink, Controller]:
    # aiosmtpd logs every sender and recipient: the test server's log is no product log, and
    # the suite's logs must hold no address (tests/test_logs.py).
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    sink = SmtpSink(port=_free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    return sink, controller


def body_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()
