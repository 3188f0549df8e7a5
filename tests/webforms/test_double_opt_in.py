"""Double opt-in: a marketing consent chosen on a form counts only once the person follows the
link mailed to them (a real SMTP server catches the mail); the ledger then holds the form, its
version, the policy version and both steps."""

import datetime
import re

import pytest
from django.utils import timezone

from crm.celery import app as celery_app
from customers.models import Customer
from privacy.models import ConsentRecord
from tests.smtp_sink import body_of
from tests.webforms.conftest import post
from webforms import intake
from webforms.models import FormSubmission

pytestmark = pytest.mark.django_db

PERSON = {"name": "Anna Schmidt", "email": "anna@example.de", "consent_marketing_email": "on"}
LINK = re.compile(r"http://\S+/f/confirm/\?t=[\w-]+")


@pytest.fixture
def mailed(make_form, visitor, smtp_sink, policy, monkeypatch, django_capture_on_commit_callbacks):
    """A submission asking for email marketing, its confirmation mailed as the worker would."""
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    form = make_form()
    with django_capture_on_commit_callbacks(execute=True):
        answer = post(visitor, form, {**PERSON, "lang": "en"}, REMOTE_ADDR="198.51.100.7")
    assert "confirm by the link we are mailing you" in answer.content.decode()
    return form, smtp_sink


def _link(sink) -> str:
    [message] = sink.messages
    return LINK.search(body_of(message)).group(0)


def test_the_marketing_consent_waits_for_the_mailed_link(mailed):
    _form, sink = mailed
    customer = Customer.objects.get()
    assert customer.consent_email is False
    assert not ConsentRecord.objects.filter(purpose="marketing_email").exists()
    [message] = sink.messages
    assert message["To"] == "anna@example.de"
    assert "Please confirm: Spring newsletter" in message["Subject"]
    body = body_of(message)
    assert "Marketing by email" in body
    assert "/privacy/" in body  # the person's privacy page, a signed link
    submission = FormSubmission.objects.get()
    assert submission.pending_purposes == ["marketing_email"]
    assert submission.mailed_at is not None
    assert len(submission.token_digest) == 64
    assert submission.token_digest not in body  # only the digest is stored


def test_following_the_link_asks_and_confirming_records_both_steps(mailed, visitor, policy):
    form, sink = mailed
    path = _link(sink).split("testserver", 1)[-1]
    page = visitor.get(path)
    # A mail scanner opening the link records nothing.
    assert "Yes, I confirm" in page.content.decode()
    assert not ConsentRecord.objects.filter(purpose="marketing_email").exists()
    done = visitor.post(path, REMOTE_ADDR="192.0.2.44", HTTP_USER_AGENT="Phone browser")
    assert "your consent is recorded" in done.content.decode()
    customer = Customer.objects.get()
    assert customer.consent_email is True
    entry = ConsentRecord.objects.get(purpose="marketing_email")
    assert (entry.source, entry.granted, entry.policy) == ("form", True, policy)
    for said in (
        "Spring newsletter",
        f"version {form.version}",
        "2026-01",
        "198.51.100.7",
        "192.0.2.44",
        "Phone browser",
        "Mozilla/5.0 (test)",
    ):
        assert said in entry.evidence
    # Followed again: nothing more is recorded.
    assert "Already confirmed" in visitor.post(path).content.decode()
    assert ConsentRecord.objects.filter(purpose="marketing_email").count() == 1


def test_an_expired_link_records_nothing(mailed, visitor):
    _form, sink = mailed
    FormSubmission.objects.update(
        confirmation_expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    path = _link(sink).split("testserver", 1)[-1]
    assert "expired" in visitor.post(path).content.decode()
    assert not ConsentRecord.objects.filter(purpose="marketing_email").exists()


def test_an_unknown_link_is_not_found(visitor, db):
    assert visitor.get("/f/confirm/?t=not-a-real-token").status_code == 404
    assert visitor.get("/f/confirm/").status_code == 404


def test_a_retried_mail_task_sends_nothing_twice(mailed):
    _form, sink = mailed
    assert intake.mail_confirmation(FormSubmission.objects.get().pk) is False
    assert len(sink.messages) == 1


def test_the_mail_speaks_the_visitors_language(
    make_form, visitor, smtp_sink, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    form = make_form()
    with django_capture_on_commit_callbacks(execute=True):
        post(visitor, form, {**PERSON, "lang": "zh-hans"})
    [message] = smtp_sink.messages
    assert message["Subject"] == "请确认：Spring newsletter"
    body = body_of(message)
    assert "您在“Spring newsletter”中申请接收：" in body
    assert "- 电子邮件营销" in body
