"""A real IMAP server for the mailbox tests: a private Dovecot (Debian's dovecot-imapd) started
once per session on a free port, with its own configuration, maildirs in a folder of its own and
passwd-files of static passwords; each test gets an account of its own (a passwd-file of its
own, which Dovecot finds by the user name) and delivers its messages by IMAP APPEND.

Dovecot runs as an ordinary user: the current one, or `nobody` when the suite runs as root
(Dovecot's login processes refuse to run as root, and mail may not belong to uid 0)."""

from __future__ import annotations

import grp
import imaplib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from mailboxes import services

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
_accounts = itertools.count(1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class ImapServer:
    port: int
    passwd: Path  # the folder of passwd-files, one per user
    owner: tuple[int, int]

    def add_account(self, password: str = "mail-secret") -> ImapAccount:
        user = f"crm{next(_accounts)}"
        passwd = self.passwd / user
        passwd.write_text(f"{user}:{{PLAIN}}{password}::::::\n")
        os.chown(passwd, *self.owner)
        return ImapAccount(self, user, password)


@dataclass
class ImapAccount:
    server: ImapServer
    user: str
    password: str

    def connect(self) -> imaplib.IMAP4:
        imap = imaplib.IMAP4("127.0.0.1", self.server.port, timeout=10)
        imap.login(self.user, self.password)
        return imap

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        """Put a message into a folder (made if need be) with IMAP APPEND."""
        imap = self.connect()
        try:
            imap.create(folder)  # NO when it exists already
            status, answer = imap.append(folder, None, None, raw)
            assert status == "OK", answer
        finally:
            imap.logout()

    def flags(self, folder: str = "INBOX") -> list[bytes]:
        imap = self.connect()
        try:
            imap.select(folder, readonly=True)
            _status, found = imap.fetch("1:*", "(FLAGS)")
            return [item for item in found if item]
        finally:
            imap.logout()


def _run_as() -> tuple[str, str, int, int]:
    user = pwd.getpwnam("nobody") if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
    return user.pw_name, grp.getgrgid(user.pw_gid).gr_name, user.pw_uid, user.pw_gid


@pytest.fixture(scope="session")
def imap_server():
    if not Path(DOVECOT).exists():
        pytest.fail("Dovecot is not installed: apt-get install dovecot-imapd (see .ci/run)")
    user, group, uid, gid = _run_as()
    # Not under pytest's tmp_path: its parents are the suite's (0700, root's when run as root),
    # which the unprivileged server could not enter.
    home = Path(tempfile.mkdtemp(prefix="crm-dovecot-"))
    passwd = home / "passwd.d"
    passwd.mkdir()
    port = _free_port()
    config = home / "dovecot.conf"
    config.write_text(
        f"""
base_dir = {home}/run
state_dir = {home}/state
instance_name = crm-test-{port}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
login_trusted_networks = 127.0.0.0/8
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
log_path = {home}/dovecot.log
mail_location = maildir:{home}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {passwd}/%u
}}
userdb {{
  driver = static
  args = home={home}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""
    )
    for path in [home, *home.iterdir()]:
        os.chown(path, uid, gid)
    # Root drops to the unprivileged user (and its groups); anyone else already is one.
    drop_root = {"user": uid, "group": gid, "extra_groups": []} if os.geteuid() == 0 else {}
    process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        **drop_root,
    )
    server = ImapServer(port=port, passwd=passwd, owner=(uid, gid))
    try:
        _wait_until_listening(process, port, home / "dovecot.log")
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(home, ignore_errors=True)


def _wait_until_listening(process: subprocess.Popen, port: int, log: Path) -> None:
    for _ in range(200):
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            pytest.fail(
                f"Dovecot did not start: {output} {log.read_text() if log.exists() else ''}"
            )
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail("Dovecot did not listen on its port")


@pytest.fixture
def account(imap_server) -> ImapAccount:
    return imap_server.add_account()


@pytest.fixture
def make_mailbox(db, imap_server):
    def make(account: ImapAccount, **values):
        return services.create_mailbox(
            actor=None,
            name=values.pop("name", f"Sales {account.user}"),
            host="127.0.0.1",
            port=imap_server.port,
            security="none",
            username=account.user,
            password=values.pop("password", account.password),
            folders=values.pop("folders", "INBOX"),
            bcc_address=values.pop("bcc_address", "crm@shop.example.cn"),
            staff_domains=values.pop("staff_domains", "shop.example.cn"),
            read_since=values.pop("read_since", None),
            is_active=True,
            **values,
        )

    return make
