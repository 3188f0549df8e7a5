"""Where a submission came from, as channel effectiveness counts it: the UTM parameters and
the referring site become the customer's source channel (customers.models.SourceChannel, what
analytics' channel charts group by) and a source detail in words. Pure: no database.

Only the referring site's host is kept, never its address: a path or query can carry
personal data. The host of the site the form is embedded on says nothing about the channel
(every submission from it has it), so it counts only when nothing else is known."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from customers.models import SourceChannel
from kernel.free_text import mark_unreadable

DETAIL_LENGTH = 200
_PARAMETER_LENGTH = 60

# Words in utm_source / utm_medium, or endings of the referring host, naming a channel.
_CHANNEL_SIGNS: tuple[tuple[SourceChannel, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        SourceChannel.WECHAT,
        ("wechat", "weixin", "微信", "公众号", "小程序"),
        ("weixin.qq.com", "wechat.com"),
    ),
    (
        SourceChannel.MARKETPLACE,
        ("tmall", "taobao", "jd", "jingdong", "pinduoduo", "douyin", "天猫", "淘宝", "京东"),
        ("tmall.com", "taobao.com", "jd.com", "pinduoduo.com", "douyin.com"),
    ),
    (
        SourceChannel.ONLINE_SHOP,
        ("shop", "store", "shopify", "youzan", "商城", "网店"),
        ("myshopify.com", "youzan.com"),
    ),
)
_WORD_BREAKS = re.compile(r"[\s_\-./+|,;:]+")
_HOST = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)*")
_REFERRAL_MEDIA = frozenset({"referral", "affiliate", "partner", "推荐", "转介绍"})
# Search engines send visitors, they do not refer them: such a visit stays a web form's.
_SEARCH_HOSTS = ("baidu.com", "google.com", "bing.com", "sogou.com", "so.com", "sm.cn")


@dataclass(frozen=True)
class Attribution:
    channel: str
    detail: str


def _clean(value: str) -> str:
    return " ".join(mark_unreadable(value).split())[:_PARAMETER_LENGTH]


def referrer_host(referrer: str) -> str:
    """The host of a referring address ("" for anything that is not an http(s) address)."""
    try:
        parts = urlsplit(referrer.strip())
    except ValueError:
        return ""
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not _HOST.fullmatch(host):
        return ""
    return host[:_PARAMETER_LENGTH]


def _names(words: str, signs: Iterable[str]) -> bool:
    """Whether `words` name one of `signs`: a Latin sign as a whole word ("jd", not "jdoe"),
    a Chinese one anywhere."""
    tokens = set(_WORD_BREAKS.split(words))
    return any(sign in tokens if sign.isascii() else sign in words for sign in signs)


def _on(host: str, domains: Iterable[str]) -> bool:
    return any(host == domain or host.endswith(f".{domain}") for domain in domains)


def attribute(
    *,
    form_name: str,
    utm_source: str = "",
    utm_medium: str = "",
    utm_campaign: str = "",
    referrer: str = "",
    own_hosts: Iterable[str] = (),
) -> Attribution:
    """The channel and detail of a submission to `form_name`, from its UTM parameters and its
    referrer (an address or a host); `own_hosts` are the hosts the form is embedded on and the
    product's own, which refer nobody."""
    source, medium, campaign = (_clean(v) for v in (utm_source, utm_medium, utm_campaign))
    host = referrer_host(referrer) or referrer_host(f"https://{referrer.strip()}")
    if host and _on(host, own_hosts):
        host = ""
    words = f"{source} {medium}".casefold()
    channel = SourceChannel.WEB_FORM
    for candidate, signs, domains in _CHANNEL_SIGNS:
        if _names(words, signs) or (host and _on(host, domains)):
            channel = candidate
            break
    else:
        if medium.casefold() in _REFERRAL_MEDIA or (
            host and not (source or medium) and not _on(host, _SEARCH_HOSTS)
        ):
            channel = SourceChannel.REFERRAL
    parts = [form_name, " / ".join(part for part in (source, medium, campaign) if part), host]
    detail = " · ".join(part for part in parts if part)
    return Attribution(channel=channel.value, detail=detail[:DETAIL_LENGTH])
