"""The administrators' mailbox pages: create and change a mailbox (the password encrypted,
never shown, never audited), and its page telling staff how to use the BCC address."""

from __future__ import annotations

import pytest
from django.utils import timezone, translation

from mailboxes.models import Mailbox
from mailboxes.polling import PASSWORD_CONTEXT
from mailboxes.selectors import mailbox_health
from privacy import crypto
from privacy.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user_role):
    client.force_login(admin_user_role)
    return client


def _posted(**changes):
    return {
        "name": "Sales",
        "host": "imap.example.cn",
        "port": "993",
        "security": "tls",
        "username": "crm@example.cn",
        "password": "imap-Secret-1",
        "folders": "INBOX, 已发送",
        "bcc_address": "CRM@example.cn",
        "staff_domains": "example.cn, @example.com",
        "read_since": "",
        "is_active": "on",
        **changes,
    }


def test_creating_a_mailbox_encrypts_the_password_and_never_shows_or_audits_it(admin_client):
    response = admin_client.post("/mailboxes/new/", _posted())
    mailbox = Mailbox.objects.get()
    assert response.status_code == 302
    assert "imap-Secret-1" not in mailbox.password_encrypted
    assert crypto.decrypt(mailbox.password_encrypted, context=PASSWORD_CONTEXT) == "imap-Secret-1"
    assert mailbox.folder_names == ["INBOX", "已发送"]
    assert mailbox.staff_domain_names == {"example.cn", "example.com"}
    assert mailbox.bcc_address == "crm@example.cn"
    event = AuditEvent.objects.get(action="mailbox.create")
    assert "password" not in event.changes
    assert "imap-Secret-1" not in str(event.changes)

    page = admin_client.get(f"/mailboxes/{mailbox.pk}/").content.decode()
    assert "crm@example.cn" in page
    assert "BCC field" in page
    assert "imap-Secret-1" not in page
    form = admin_client.get(f"/mailboxes/{mailbox.pk}/edit/").content.decode()
    assert "imap-Secret-1" not in form
    assert "Leave empty to keep the stored password." in form


def test_an_empty_password_keeps_the_stored_one_and_a_new_one_replaces_it(admin_client):
    admin_client.post("/mailboxes/new/", _posted())
    mailbox = Mailbox.objects.get()
    stored = mailbox.password_encrypted

    admin_client.post(f"/mailboxes/{mailbox.pk}/edit/", _posted(password="", folders="INBOX"))
    mailbox.refresh_from_db()
    assert (mailbox.password_encrypted, mailbox.folders) == (stored, "INBOX")

    admin_client.post(f"/mailboxes/{mailbox.pk}/edit/", _posted(password="new-Secret-2"))
    mailbox.refresh_from_db()
    assert crypto.decrypt(mailbox.password_encrypted, context=PASSWORD_CONTEXT) == "new-Secret-2"
    last = AuditEvent.objects.filter(action="mailbox.update").order_by("-sequence").first()
    assert last.changes["password"] == ["…", "…"]


def test_moving_to_another_account_reads_its_folders_from_the_start(admin_client):
    admin_client.post("/mailboxes/new/", _posted())
    mailbox = Mailbox.objects.get()
    Mailbox.objects.filter(pk=mailbox.pk).update(
        folder_state={"INBOX": {"uidvalidity": 7, "last_uid": 40}}
    )
    admin_client.post(f"/mailboxes/{mailbox.pk}/edit/", _posted(password="", username="other"))
    mailbox.refresh_from_db()
    assert mailbox.folder_state == {}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"password": ""}, "This field is required."),
        ({"staff_domains": " , "}, "Name at least one domain."),
        ({"folders": ","}, "Name at least one folder."),
        ({"bcc_address": "not an address"}, "Enter a valid email address."),
        ({"security": "none"}, "Without TLS only a server on this machine may be read."),
    ],
)
def test_a_mailbox_without_what_it_needs_is_refused(admin_client, changes, message):
    response = admin_client.post("/mailboxes/new/", _posted(**changes))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Mailbox.objects.exists()


def test_the_operations_page_shows_each_mailboxs_health_in_one_query(
    admin_client, django_assert_num_queries
):
    for name in ("Sales", "Service"):
        admin_client.post("/mailboxes/new/", _posted(name=name))
    Mailbox.objects.filter(name="Service").update(problem="login", problem_detail="[AUTH] no")
    with django_assert_num_queries(1):
        health = list(mailbox_health())
    assert [item.name for item in health] == ["Sales", "Service"]
    page = admin_client.get("/operations/").content.decode()
    assert "The mail server refused the user name or password. [AUTH] no" in page


def test_a_failing_mailbox_says_it_cannot_be_read_in_chinese(admin_client):
    admin_client.post("/mailboxes/new/", _posted(name="Sales"))
    mailbox = Mailbox.objects.get()
    Mailbox.objects.filter(pk=mailbox.pk).update(
        problem="connect", problem_detail="Connection refused", failing_since=timezone.now()
    )
    # The request's language stays in this thread after it: override puts it back.
    with translation.override("zh-hans"):
        page = admin_client.get(f"/mailboxes/{mailbox.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = page.content.decode()
    assert "读取失败" in html
    assert "投递失败中" not in html  # a webhook's failing deliveries, not a mailbox
    assert "Connection refused" in html
