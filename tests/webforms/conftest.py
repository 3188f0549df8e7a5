"""Forms made through the service, a policy in force, and posting to a form as a browser on
another site would."""

from __future__ import annotations

import datetime
import time

import pytest
from django.core import signing
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from privacy import roles
from privacy.models import PrivacyPolicy
from tests.factories import UserFactory
from webforms import services
from webforms.tokens import issue_form_token

SHOP = "https://shop.example.com"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """The rate limits count in the cache, which outlives a test's database."""
    cache.clear()


@pytest.fixture
def admin(db):
    return UserFactory(role=roles.ADMINISTRATOR, is_staff=True)


@pytest.fixture
def policy(db):
    return PrivacyPolicy.objects.create(
        version="2026-01",
        effective_from=timezone.localdate() - datetime.timedelta(days=10),
        text="We keep what you send us to answer you.",
    )


@pytest.fixture
def make_form(admin):
    def make(**settings):
        values = {
            "name": "Spring newsletter",
            "fields": [
                {"key": "name", "required": True, "label_en": "Your name", "label_zh": "您的姓名"},
                {"key": "email", "required": True},
                {"key": "phone", "required": False},
                {"key": "city", "required": False},
            ],
            "consents": [
                {
                    "purpose": "marketing_email",
                    "text_en": "Send me news by email.",
                    "text_zh": "通过电子邮件给我发送资讯。",
                },
                {
                    "purpose": "profiling",
                    "text_en": "Tailor offers to my purchases.",
                    "text_zh": "根据我的购买记录推荐优惠。",
                },
            ],
            "thank_you_en": "Thank you!",
            "thank_you_zh": "谢谢！",
            "allowed_origins": [SHOP],
            "min_seconds": 0,
            **settings,
        }
        return services.create_form(actor=admin, **values)

    return make


def aged_token(form, seconds: float) -> str:
    """A genuine token for `form` issued `seconds` ago (a visitor who took that long)."""

    class Earlier(signing.TimestampSigner):
        def timestamp(self):
            return signing.b62_encode(int(time.time() - seconds))

    return Earlier(salt="webforms.form-token").sign_object(
        {"k": form.public_key, "v": form.version}
    )


@pytest.fixture
def visitor():
    """A browser with no session, on another site."""
    return Client(HTTP_ORIGIN=SHOP, HTTP_USER_AGENT="Mozilla/5.0 (test)")


def form_url(form) -> str:
    return reverse("public_forms:public_form", args=[form.public_key])


def post(client, form, data, *, token=None, **headers):
    """Post `data` to the form as its page would, with a fresh token unless told otherwise."""
    body = {"token": issue_form_token(form.public_key, form.version) if token is None else token}
    body.update(data)
    return client.post(form_url(form), body, **headers)
