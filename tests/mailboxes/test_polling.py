"""Mailboxes against a real IMAP server (tests/mailboxes/conftest.py): messages delivered by
IMAP APPEND, read by the poll, logged on known customers' timelines once each, nothing kept of
anyone else."""

import datetime

import pytest
from django.utils import timezone

from customers.models import Contact
from interactions.models import Interaction
from mailboxes import polling, services, tasks
from mailboxes.models import Mailbox, MailboxPoll
from operations.connections import connections
from privacy.models import AuditEvent
from privacy.subjects.erasure import anonymise_customers
from tests.factories import CustomerFactory, UserFactory
from tests.mailboxes.messages import chinese_mail, html_only_mail, multipart_mail

pytestmark = pytest.mark.django_db

CUSTOMER = "wang.lijuan@qq.example.com"
STAFF = "li.ming@shop.example.cn"


@pytest.fixture
def wang():
    return CustomerFactory(name="王丽娟", email=CUSTOMER)


def _poll(mailbox):
    return polling.poll_mailbox(mailbox.pk)


def test_a_chinese_mail_from_a_customer_is_logged_on_their_timeline(account, make_mailbox, wang):
    account.deliver(chinese_mail(sender="Wang.Lijuan@QQ.example.com", to=STAFF))
    mailbox = make_mailbox(account)
    poll = _poll(mailbox)

    assert (poll.messages_read, poll.interactions_logged, poll.unknown) == (1, 1, 0)
    logged = Interaction.objects.get()
    assert logged.customer == wang
    assert (logged.kind, logged.channel, logged.direction) == ("email", "email", "in")
    assert logged.subject == "关于王喆的报价单"  # GBK bytes under a GB2312 label
    assert logged.body == "您好，附件是报价单，请查收。\n王喆"
    assert logged.occurred_at == datetime.datetime(2024, 5, 1, 2, 30, tzinfo=datetime.UTC)
    assert logged.source_system == "email"
    wang.refresh_from_db()
    assert wang.last_activity_at == logged.occurred_at
    mailbox.refresh_from_db()
    assert mailbox.last_message_at is not None
    assert mailbox.problem == ""


def test_staff_mail_copied_to_the_bcc_address_is_logged_as_outgoing_with_its_author(
    account, make_mailbox, wang
):
    li_ming = UserFactory(email="Li.Ming@shop.example.cn")
    account.deliver(html_only_mail(sender=STAFF, to=CUSTOMER))
    _poll(make_mailbox(account))

    logged = Interaction.objects.get()
    assert (logged.customer, logged.direction, logged.staff) == (wang, "out", li_ming)
    assert logged.subject == "Re: 订单 P-1 发货"
    # The HTML's text, its style, title and script left out.
    assert logged.body == "王女士您好：\n您的订单已发货，运单号 SF123。\n谢谢&祝好"


def test_the_plain_alternative_is_logged_and_attachments_are_not_read(account, make_mailbox, wang):
    account.deliver(multipart_mail(sender=CUSTOMER, to=STAFF))
    _poll(make_mailbox(account))
    assert Interaction.objects.get().body == "Plain words."


def test_mail_from_an_unknown_address_stores_nothing_not_even_the_address(
    account, make_mailbox, wang
):
    stranger = "stranger.danger@163.example.com"
    account.deliver(chinese_mail(sender=stranger, to=STAFF, message_id="<x@163>"))
    mailbox = make_mailbox(account)
    audit_before = AuditEvent.objects.count()
    poll = _poll(mailbox)

    assert (poll.messages_read, poll.interactions_logged, poll.unknown) == (1, 0, 1)
    assert not Interaction.objects.exists()
    assert AuditEvent.objects.count() == audit_before
    mailbox.refresh_from_db()
    kept = [str(value) for value in Mailbox.objects.filter(pk=mailbox.pk).values().get().values()]
    kept += [str(value) for row in MailboxPoll.objects.values() for value in row.values()]
    assert not [value for value in kept if "stranger" in value or "163.example" in value]


def test_the_same_message_id_is_logged_once_from_two_folders_and_two_mailboxes(
    account, imap_server, make_mailbox, wang
):
    raw = chinese_mail(sender=CUSTOMER, to=STAFF, message_id="<same@qq.example.com>")
    account.deliver(raw)
    account.deliver(raw, folder="Archive")
    account.deliver(raw)  # the BCC copy beside the inbox's
    other = imap_server.add_account()
    other.deliver(raw)

    first = _poll(make_mailbox(account, folders="INBOX, Archive"))
    second = _poll(make_mailbox(other, name="Service"))

    assert (first.messages_read, first.interactions_logged, first.already_logged) == (3, 1, 2)
    assert (second.interactions_logged, second.already_logged) == (0, 1)
    assert Interaction.objects.count() == 1


def test_a_message_to_two_customers_is_logged_on_each_and_a_contact_is_named(
    account, make_mailbox, wang
):
    company = CustomerFactory(name="上海茶叶有限公司", email="")
    buyer = Contact.objects.create(customer=company, name="赵敏", email="zhao.min@tea.example.cn")
    account.deliver(
        chinese_mail(sender=STAFF, to=CUSTOMER, cc="Zhao Min <Zhao.Min@tea.example.cn>")
    )
    _poll(make_mailbox(account))

    logged = {item.customer: item for item in Interaction.objects.all()}
    assert set(logged) == {wang, company}
    assert logged[company].contact == buyer
    assert {item.direction for item in logged.values()} == {"out"}


def test_only_new_messages_are_read_and_they_stay_unread_for_staff(account, make_mailbox, wang):
    account.deliver(chinese_mail(sender=CUSTOMER, to=STAFF, message_id="<1@q>"))
    mailbox = make_mailbox(account)
    assert _poll(mailbox).messages_read == 1
    assert _poll(mailbox) is None  # quiet: nothing read, nothing wrong, no row

    account.deliver(chinese_mail(sender=CUSTOMER, to=STAFF, message_id="<2@q>"))
    assert _poll(mailbox).messages_read == 1
    assert Interaction.objects.count() == 2
    assert all(b"\\Seen" not in flags for flags in account.flags())


def test_a_new_uidvalidity_reads_the_folder_again_without_logging_twice(
    account, make_mailbox, wang
):
    account.deliver(chinese_mail(sender=CUSTOMER, to=STAFF))
    mailbox = make_mailbox(account)
    _poll(mailbox)
    mailbox.refresh_from_db()
    state = mailbox.folder_state["INBOX"]
    Mailbox.objects.filter(pk=mailbox.pk).update(
        folder_state={"INBOX": {**state, "uidvalidity": state["uidvalidity"] + 1}}
    )
    again = _poll(mailbox)
    assert (again.messages_read, again.already_logged) == (1, 1)
    assert Interaction.objects.count() == 1


def test_a_chinese_folder_name_is_read(account, make_mailbox, wang):
    account.deliver(
        chinese_mail(sender=STAFF, to=CUSTOMER), folder=polling.imap_folder_name("已发送")
    )
    poll = _poll(make_mailbox(account, folders="已发送"))
    assert poll.interactions_logged == 1


def test_read_since_leaves_older_messages_alone(account, make_mailbox, wang):
    account.deliver(chinese_mail(sender=CUSTOMER, to=STAFF))
    mailbox = make_mailbox(account, read_since=timezone.localdate() + datetime.timedelta(days=1))
    assert _poll(mailbox) is None
    assert not Interaction.objects.exists()


def test_a_refused_password_is_the_mailboxs_problem_until_it_is_corrected(
    account, make_mailbox, admin_user_role
):
    mailbox = make_mailbox(account, password="wrong")
    poll = _poll(mailbox)
    assert poll.problem == "login"
    mailbox.refresh_from_db()
    assert mailbox.failing_since is not None
    [health] = [item for item in connections() if item.name == mailbox.name]
    assert "refused the user name or password" in str(health.problem)
    assert health.errors_last_day == 1
    assert health.level(timezone.now()) == "danger"

    services.update_mailbox(actor=admin_user_role, mailbox=mailbox, password=account.password)
    assert _poll(mailbox) is None
    mailbox.refresh_from_db()
    assert (mailbox.problem, mailbox.failing_since) == ("", None)
    [health] = [item for item in connections() if item.name == mailbox.name]
    assert health.problem == ""


def test_a_folder_the_server_does_not_have_is_named_as_the_problem(account, make_mailbox):
    poll = _poll(make_mailbox(account, folders="INBOX, Nowhere"))
    assert poll.problem == "folder"
    assert "Nowhere" in Mailbox.objects.get().problem_detail


def test_an_unreachable_server_is_a_connection_problem(account, make_mailbox, imap_server):
    mailbox = make_mailbox(account)
    Mailbox.objects.filter(pk=mailbox.pk).update(port=1)
    assert _poll(mailbox).problem == "connect"
    # The system's reason, not its error number.
    assert Mailbox.objects.get().problem_detail == "Connection refused"


def test_erasure_clears_the_logged_mail_and_a_later_read_logs_nothing(account, make_mailbox, wang):
    account.deliver(chinese_mail(sender=CUSTOMER, to=STAFF))
    mailbox = make_mailbox(account)
    _poll(mailbox)
    anonymise_customers([wang.pk], actor=None, reason="request", evidence="asked")

    logged = Interaction.objects.get()
    assert (logged.subject, logged.body, logged.external_ref) == ("", "", "")
    Mailbox.objects.filter(pk=mailbox.pk).update(folder_state={})
    again = _poll(mailbox)
    assert (again.interactions_logged, again.unknown) == (0, 1)
    assert Interaction.objects.count() == 1


def test_two_polls_at_once_read_a_mailbox_once(account, make_mailbox, wang):
    account.deliver(chinese_mail(sender=CUSTOMER, to=STAFF))
    mailbox = make_mailbox(account)
    Mailbox.objects.filter(pk=mailbox.pk).update(
        polling_until=timezone.now() + datetime.timedelta(minutes=1)
    )
    assert _poll(mailbox) is None  # another poll holds it
    assert not Interaction.objects.exists()


def test_the_beat_task_polls_every_active_mailbox(account, imap_server, make_mailbox, wang):
    account.deliver(chinese_mail(sender=CUSTOMER, to=STAFF))
    make_mailbox(account)
    idle = imap_server.add_account()
    Mailbox.objects.filter(pk=make_mailbox(idle, name="Off").pk).update(is_active=False)
    assert tasks.poll_mailboxes() == 1
    assert AuditEvent.objects.filter(action="interaction.create", via="task").count() == 1
