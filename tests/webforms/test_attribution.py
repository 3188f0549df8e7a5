"""Attribution is pure: UTM parameters and the referring host to a source channel and a
detail in words."""

import pytest

from webforms.attribution import attribute, referrer_host

OWN = ("shop.example.com", "crm.example.com")


@pytest.mark.parametrize(
    ("utm", "referrer", "channel", "detail"),
    [
        ({}, "", "web_form", "Form"),
        ({"utm_source": "wechat", "utm_medium": "social"}, "", "wechat", "Form · wechat / social"),
        ({}, "https://mp.weixin.qq.com/s/abc?u=13800138000", "wechat", "Form · mp.weixin.qq.com"),
        ({"utm_source": "公众号"}, "", "wechat", "Form · 公众号"),
        ({"utm_source": "tmall", "utm_campaign": "618"}, "", "marketplace", "Form · tmall / 618"),
        ({"utm_source": "jdoe"}, "", "web_form", "Form · jdoe"),  # a word, not "jd"
        (
            {"utm_medium": "referral", "utm_source": "partner-blog"},
            "",
            "referral",
            "Form · partner-blog / referral",
        ),
        ({}, "https://blog.friend.cn/post/1", "referral", "Form · blog.friend.cn"),
        ({}, "https://www.baidu.com/s?wd=x", "web_form", "Form · www.baidu.com"),
        (
            {"utm_source": "newsletter", "utm_medium": "email"},
            "",
            "web_form",
            "Form · newsletter / email",
        ),
        # The site the form is on refers nobody.
        ({}, "https://shop.example.com/landing", "web_form", "Form"),
        ({}, "shop.example.com", "web_form", "Form"),
    ],
)
def test_channels_and_details(utm, referrer, channel, detail):
    found = attribute(form_name="Form", referrer=referrer, own_hosts=OWN, **utm)
    assert (found.channel, found.detail) == (channel, detail)


def test_the_detail_fits_its_column_and_holds_no_unreadable_text():
    found = attribute(form_name="F" * 150, utm_source="x\x00" * 100, utm_campaign="c" * 300)
    assert len(found.detail) <= 200
    assert "\x00" not in found.detail


@pytest.mark.parametrize(
    ("referrer", "host"),
    [
        ("https://Example.com:8443/a?b=c", "example.com"),
        ("javascript:alert(1)", ""),
        ("not a url", ""),
        ("", ""),
    ],
)
def test_only_the_host_of_a_referrer_is_kept(referrer, host):
    assert referrer_host(referrer) == host
