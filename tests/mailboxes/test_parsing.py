"""Messages as the timeline needs them, from the bytes mail clients really send."""

from __future__ import annotations

import datetime

import pytest

from kernel.free_text import NOTE_LENGTH
from mailboxes.parsing import decode_header, html_to_text, parse
from mailboxes.polling import imap_folder_name
from tests.mailboxes.messages import chinese_mail, html_only_mail, multipart_mail


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("=?GB2312?B?xPq6w6Ohsai827Wl?=", "您好！报价单"),
        # GBK's 喆 under a GB2312 label, as Foxmail and Outlook send it.
        ("=?gb2312?B?zfWGtA==?=", "王喆"),
        ("=?GBK?Q?=CD=F5=86=B4?=", "王喆"),
        ("=?gb18030?B?1cXI/Q==?=", "张三"),
        ("=?UTF-8?Q?Re:_=E8=AE=A2=E5=8D=95?=", "Re: 订单"),
        ("=?utf-8?B?6K6i5Y2V?= =?utf-8?B?5Y+R6LSn?=", "订单发货"),
        ("Re: =?UTF-8?B?6K6i5Y2V?= #12", "Re: 订单 #12"),
        ("plain subject", "plain subject"),
        ("=?x-unknown?B?6K6i5Y2V?=", "订单"),
        ("", ""),
    ],
)
def test_headers_are_decoded_whatever_the_client_labelled_them(raw, text):
    assert decode_header(raw) == text


def test_a_gbk_body_labelled_gb2312_is_read_whole():
    message = parse(chinese_mail(sender="A@B.example", to="c@d.example", body="王喆：您好\n谢谢"))
    assert message.body == "王喆：您好\n谢谢"
    assert message.sender == "a@b.example"
    assert message.recipients == ["c@d.example"]
    assert message.sent_at == datetime.datetime(2024, 5, 1, 2, 30, tzinfo=datetime.UTC)


def test_html_becomes_the_text_a_reader_sees():
    html = (
        "<style>p{}</style><p>第一行<br>第二行</p><script>x()</script><div>&lt;三&gt;&nbsp;</div>"
    )
    assert html_to_text(html) == "第一行\n第二行\n<三>"
    assert "王女士您好" in parse(html_only_mail(sender="a@b.cn", to="c@d.cn")).body


def test_the_plain_part_wins_and_attachments_are_never_read():
    assert parse(multipart_mail(sender="a@b.cn", to="c@d.cn")).body == "Plain words."


def test_the_same_message_id_gives_the_same_key_whatever_else_differs():
    first = parse(chinese_mail(sender="a@b.cn", to="c@d.cn", message_id="<m@x>"))
    copy = parse(
        b"Delivered-To: crm@shop.cn\r\n"
        + chinese_mail(sender="a@b.cn", to="c@d.cn", message_id="<m@x>")
    )
    other = parse(chinese_mail(sender="a@b.cn", to="c@d.cn", message_id="<n@x>"))
    assert first.message_key == copy.message_key != other.message_key


def test_a_message_without_message_id_is_keyed_by_its_headers():
    raw = (
        b"From: a@b.cn\r\nTo: c@d.cn\r\nSubject: hi\r\n"
        b"Date: Wed, 01 May 2024 10:30:00 +0800\r\n\r\nhello\r\n"
    )
    assert parse(raw).message_key == parse(raw).message_key
    assert parse(raw).message_key != parse(raw.replace(b"hi", b"ho")).message_key


def test_unreadable_bytes_and_controls_are_dropped_and_long_text_is_cut():
    raw = (
        b"From: a@b.cn\r\nTo: c@d.cn\r\nSubject: ok\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
        b"good \xff\xfe bad \x1b[0m" + b"x" * (NOTE_LENGTH + 50)
    )
    body = parse(raw).body
    assert body.startswith("good  bad [0m")
    assert len(body) == NOTE_LENGTH
    assert body.endswith("…")


def test_a_missing_or_broken_date_is_none():
    raw = b"From: a@b.cn\r\nTo: c@d.cn\r\nDate: yesterday\r\n\r\nhi\r\n"
    assert parse(raw).sent_at is None


@pytest.mark.parametrize(
    ("name", "encoded"),
    [
        ("INBOX", '"INBOX"'),
        ("已发送", '"&XfJT0ZAB-"'),
        ("台北", '"&U,BTFw-"'),
        ("A&B", '"A&-B"'),
        ('Sent "old"', '"Sent \\"old\\""'),
    ],
)
def test_folder_names_are_written_as_imap_writes_them(name, encoded):
    assert imap_folder_name(name) == encoded
