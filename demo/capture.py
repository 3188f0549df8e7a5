"""The demo's capture sources (README "Web forms", "Drop folders"): a newsletter form with a
few dozen sign-ups in its log, and a store's POS drop folder waiting for its first file. No
mailbox: one needs a mail server to read.

Everything goes through the apps' services and the form's door (webforms/intake.py), as the
form's page would: the log shows what the product did with each sign-up, new customers and
known ones completed alike, not rows written to look like it. The confirmation mails go to
fictional people at real mail domains, so they are kept in memory and never sent; one of them
is then followed, as its person would.
"""

from __future__ import annotations

import datetime
import random
import re
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from customers.models import Customer, CustomerKind, ImportKind, SourceChannel
from demo.data.customers import Newcomer, typed_mobile
from dropfolders import services as drop_folders
from dropfolders.models import DropFolder
from privacy.models import ConsentPurpose
from webforms import intake
from webforms import services as web_forms
from webforms.attribution import attribute
from webforms.models import WebForm

FORM_NAME = "Newsletter sign-up / 订阅我们的资讯"
# The page that embeds it: the demo's own address (README "Web forms", On another site).
FORM_SITE = "http://127.0.0.1:8000"
FOLDER_NAME = "Store 1 POS / 门店1收银"
FOLDER_PATH = "store-1-pos"

# The sign-ups, oldest first over the last few days: newcomers (a few of them asking for the
# newsletter, the first of those confirming it), known customers who add their phone, known
# ones who had nothing new to say, and a couple refused for a mistyped address.
NEW_PEOPLE = 22
ASKING_FOR_NEWS = 3
COMPLETING = 8
REPEATING = 3
MISTYPED = 2
SPREAD = datetime.timedelta(days=3)

# Where visitors came from, as the form's address (utm_*) and the browser's Referer tell it:
# (weight, UTM parameters, referring address).
_ARRIVALS: tuple[tuple[int, dict[str, str], str], ...] = (
    (5, {}, ""),
    (
        3,
        {"utm_source": "wechat", "utm_medium": "social", "utm_campaign": "spring-newsletter"},
        "",
    ),
    (2, {}, "https://www.baidu.com/s?wd=newsletter"),
    (1, {}, "https://www.xiaohongshu.com/explore/demo"),
    (1, {"utm_source": "tmall", "utm_medium": "shop-page"}, ""),
)
_BROWSERS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Mobile/15E148 MicroMessenger/8.0.49",
    "Mozilla/5.0 (Linux; Android 14; V2309A) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36 Edg/126.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
)
_LANGUAGE = {"zh": "zh-hans", "en": "en"}
_CHINESE = re.compile(r"[\u4e00-\u9fff]")


def _language_of(name: str) -> str:
    """The language a known customer fills the form in: Chinese for a Chinese name."""
    return _LANGUAGE["zh" if _CHINESE.search(name) else "en"]


class _KeptMail(BaseEmailBackend):
    """Mail kept in memory: the demo's people are fictional, their mail domains are not."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.messages: list[Any] = []

    def send_messages(self, email_messages: Sequence[Any]) -> int:
        self.messages.extend(email_messages)
        return len(email_messages)


def create_web_form(*, admin: Any) -> WebForm:
    """The newsletter form, in both languages, through the form's settings service."""
    return web_forms.create_form(
        actor=admin,
        name=FORM_NAME,
        fields=[
            {"key": "name", "required": True, "label_en": "Your name", "label_zh": "您的姓名"},
            {"key": "phone", "required": False, "label_en": "Mobile", "label_zh": "手机号码"},
            {"key": "email", "required": True, "label_en": "Email", "label_zh": "电子邮箱"},
            {"key": "city", "required": False, "label_en": "City", "label_zh": "所在城市"},
        ],
        consents=[
            {
                "purpose": ConsentPurpose.EMAIL,
                "text_en": "Yes, send me news and offers by email. I can unsubscribe at any time.",
                "text_zh": "是的，请通过电子邮件向我发送资讯和优惠，我可以随时退订。",
            }
        ],
        thank_you_en="Thank you for signing up!",
        thank_you_zh="感谢您的订阅！",
        allowed_origins=[FORM_SITE],
        min_seconds=3,
    )


class _SignUp(NamedTuple):
    at: datetime.datetime
    values: dict[str, str]
    language: str
    asks_for_news: bool


def _sign_ups(
    people: Iterator[Newcomer], rng: random.Random, now: datetime.datetime
) -> list[_SignUp]:
    """Every sign-up, oldest first. The mistyped ones are older than a day: the operations
    page counts the last day's refusals as errors, and a first look at the demo shows none."""

    def recent() -> datetime.datetime:
        return now - SPREAD * rng.random()

    def older() -> datetime.datetime:
        return (
            now - datetime.timedelta(days=1) - (SPREAD - datetime.timedelta(days=1)) * rng.random()
        )

    sign_ups = []
    for number in range(NEW_PEOPLE):
        person = next(people)
        values = {"name": person.name, "email": person.email, "city": person.city}
        if person.phone:
            values["phone"] = person.phone
        sign_ups.append(_SignUp(recent(), values, _LANGUAGE[person.lang], number < ASKING_FOR_NEWS))
    for _number in range(MISTYPED):
        person = next(people)
        values = {"name": person.name, "email": person.email.replace("@", " at ")}
        sign_ups.append(_SignUp(older(), values, _LANGUAGE[person.lang], False))
    known = Customer.objects.filter(
        kind=CustomerKind.PERSON, merged_into__isnull=True, archived_at__isnull=True
    ).exclude(email="")
    for customer in known.filter(phone="").order_by("pk")[:COMPLETING]:
        values = {"name": customer.name, "email": customer.email, "phone": typed_mobile(rng)}
        sign_ups.append(_SignUp(recent(), values, _language_of(customer.name), False))
    # Nothing new: the form fills empty fields only, the source detail among them.
    repeating = known.exclude(phone="").exclude(source_detail="")
    for customer in repeating.order_by("-pk")[:REPEATING]:
        values = {"name": customer.name, "email": customer.email, "phone": customer.phone_raw}
        sign_ups.append(_SignUp(recent(), values, _language_of(customer.name), False))
    return sorted(sign_ups, key=lambda sign_up: sign_up.at)


def fill_in_web_form(
    form: WebForm, *, people: Iterator[Newcomer], seed: int, now: datetime.datetime
) -> int:
    """Send the sign-ups through the form's door, oldest first, from the places visitors come
    from; mail the newsletter's confirmations (kept in memory) and follow the oldest link.
    Returns how many sign-ups the log holds."""
    rng = random.Random(seed)  # noqa: S311  (synthetic data, not security)
    sign_ups = _sign_ups(people, rng, now)
    weights = [weight for weight, _utm, _referrer in _ARRIVALS]
    own_hosts = {urlsplit(FORM_SITE).hostname or ""}
    mail = _KeptMail()
    for sign_up in sign_ups:
        [(_weight, utm, referrer)] = rng.choices(_ARRIVALS, weights)
        received = intake.submit(
            form=form,
            values=sign_up.values,
            purposes=[ConsentPurpose.EMAIL] if sign_up.asks_for_news else [],
            attribution=attribute(
                form_name=form.name, referrer=referrer, own_hosts=own_hosts, **utm
            ),
            step=intake.Step(
                sign_up.at, f"203.0.113.{rng.randrange(1, 255)}", rng.choice(_BROWSERS)
            ),
            language=sign_up.language,
        )
        if received.submission.pending_purposes:
            intake.mail_confirmation(received.submission.pk, connection=mail)
    # The first to ask follows the link in the mail, as they would from their phone.
    link = re.escape(intake.confirm_url("")) + r"([\w-]+)"
    [token, *_waiting] = [re.search(link, message.body).group(1) for message in mail.messages]
    intake.confirm(token=token, step=intake.Step(timezone.now(), "203.0.113.200", _BROWSERS[0]))
    return len(sign_ups)


def create_drop_folder(*, admin: Any) -> DropFolder:
    """Store 1's POS folder for its member exports (made under DROP_FOLDER_ROOT), imported as
    the administrator; empty, for a prospect to drop a file in."""
    return drop_folders.create_folder(
        actor=admin,
        name=FOLDER_NAME,
        path=FOLDER_PATH,
        kind=ImportKind.CUSTOMERS,
        template=None,
        source_name="store-1",
        source_channel=SourceChannel.POS,
        owner=None,
        run_as=admin,
        is_active=True,
    )
