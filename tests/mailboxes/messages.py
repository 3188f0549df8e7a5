"""Raw messages as real mail clients write them, byte for byte: Foxmail's GB2312-labelled GBK,
Outlook's UTF-8 quoted-printable, an HTML-only newsletter-style reply."""

from __future__ import annotations

import base64
import quopri


def _b(text: str, charset: str, *, label: str = "") -> str:
    """An RFC 2047 encoded-word of `text` in `charset`, labelled `label` (a client's lie)."""
    return f"=?{label or charset}?B?{base64.b64encode(text.encode(charset)).decode()}?="


def chinese_mail(
    *,
    sender: str,
    to: str,
    subject: str = "关于王喆的报价单",
    body: str = "您好，附件是报价单，请查收。\n王喆",
    message_id: str = "<20240501103000.1@qq.example.com>",
    date: str = "Wed, 01 May 2024 10:30:00 +0800",
    cc: str = "",
) -> bytes:
    """A mail from a Chinese client: the subject a GB2312 encoded-word and the body GB2312 by
    its label, but GBK in fact (喆 is not in GB2312, as such clients send anyway)."""
    head = [
        f"From: {_b('客户', 'gb2312')} <{sender}>",
        f"To: {to}",
        *([f"Cc: {cc}"] if cc else []),
        f"Subject: {_b(subject, 'gbk', label='GB2312')}",
        f"Date: {date}",
        f"Message-ID: {message_id}",
        "MIME-Version: 1.0",
        'Content-Type: text/plain; charset="gb2312"',
        "Content-Transfer-Encoding: base64",
    ]
    encoded = base64.encodebytes(body.encode("gbk")).decode()
    return ("\r\n".join(head) + "\r\n\r\n" + encoded.replace("\n", "\r\n")).encode("ascii")


def html_only_mail(
    *,
    sender: str,
    to: str,
    subject: str = "Re: 订单 P-1 发货",
    message_id: str = "<html-1@shop.example.cn>",
) -> bytes:
    html = (
        "<html><head><style>p {color: red}</style><title>x</title></head><body>"
        "<p>王女士您好：</p><p>您的订单已发货，运单号 <b>SF123</b>。</p>"
        "<script>track()</script><div>谢谢&amp;祝好</div></body></html>"
    )
    head = [
        f"From: Li Ming <{sender}>",
        f"To: {to}",
        f"Subject: =?UTF-8?Q?{quopri.encodestring(subject.encode(), header=True).decode()}?=",
        "Date: Thu, 02 May 2024 09:00:00 +0800",
        f"Message-ID: {message_id}",
        "MIME-Version: 1.0",
        'Content-Type: text/html; charset="utf-8"',
        "Content-Transfer-Encoding: quoted-printable",
    ]
    body = quopri.encodestring(html.encode()).decode()
    return ("\r\n".join(head) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode("ascii")


def multipart_mail(*, sender: str, to: str, message_id: str = "<multi-1@example.com>") -> bytes:
    """Plain and HTML alternatives and an attachment: the plain text is logged, nothing else."""
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: Invoice\r\n"
        "Date: Fri, 03 May 2024 08:00:00 +0000\r\n"
        f"Message-ID: {message_id}\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n'
        "--outer\r\n"
        'Content-Type: multipart/alternative; boundary="inner"\r\n\r\n'
        "--inner\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlain words.\r\n"
        "--inner\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>HTML words.</p>\r\n"
        "--inner--\r\n"
        "--outer\r\nContent-Type: text/plain; charset=utf-8\r\n"
        'Content-Disposition: attachment; filename="secret.txt"\r\n\r\nAttached words.\r\n'
        "--outer--\r\n"
    ).encode()
