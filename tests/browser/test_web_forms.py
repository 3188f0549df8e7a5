"""A web form on another site, as its visitors use it: framed on a page of another origin,
sent, confirmed by the link a real SMTP server received from the worker, the customer created
with the consent in the ledger; then the same person through the plain HTML form, without
JavaScript, completing the same customer instead of duplicating it."""

import re
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from customers.models import Customer
from privacy.models import ConsentRecord, PrivacyPolicy
from tests.smtp_sink import body_of
from tests.worker_process import wait_for
from webforms import services
from webforms.views import embed_snippet, iframe_code

pytestmark = [pytest.mark.browser, pytest.mark.celery_worker]

LINK = re.compile(r"http://\S+/f/confirm/\?t=[\w-]+")


@pytest.fixture
def other_site(tmp_path):
    """Another origin (http://localhost:<port>, the product being on 127.0.0.1) serving the
    pages a business would put the form on; the pages are written by the test."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield tmp_path, f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _page(folder, name: str, body: str) -> None:
    (folder / name).write_text(
        f'<!doctype html><html><head><meta charset="utf-8"><title>Our shop</title></head>'
        f"<body><h1>Our shop</h1>{body}</body></html>",
        encoding="utf-8",
    )


def test_a_form_framed_on_another_site_is_sent_confirmed_by_mail_then_completed_by_the_snippet(
    page, browser, live_server, other_site, smtp_sink, make_user, settings
):
    from celery.contrib.testing.worker import start_worker

    from crm.celery import app as celery_app
    from privacy import roles

    settings.SITE_URL = live_server.url
    policy = PrivacyPolicy.objects.create(
        version="2026-01", effective_from=timezone.localdate(), text="How we use your data."
    )
    folder, origin = other_site
    admin = make_user(roles.ADMINISTRATOR)
    form = services.create_form(
        actor=admin,
        name="Newsletter",
        fields=[
            {"key": "name", "required": True},
            {"key": "email", "required": True},
            {"key": "city", "required": False},
        ],
        consents=[{"purpose": "marketing_email", "text_en": "Send me news by email."}],
        thank_you_en="Thank you, see you soon.",
        allowed_origins=[origin],
        min_seconds=1,
    )
    _page(folder, "frame.html", iframe_code(form))
    _page(folder, "snippet.html", embed_snippet(form, "en"))

    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        page.goto(f"{origin}/frame.html")
        frame = page.frame_locator("iframe")
        frame.get_by_role("textbox", name="Name").fill("Anna Schmidt")
        frame.get_by_role("textbox", name="Email").fill("anna@example.de")
        frame.get_by_label("Send me news by email.").check()
        page.wait_for_timeout(1200)  # a person takes longer than the form's minimum
        frame.get_by_role("button", name="Send").click()
        expect(frame.locator("#thanks")).to_contain_text("Thank you, see you soon.")
        expect(frame.locator("#thanks")).to_contain_text("confirm by the link")
        wait_for(lambda: smtp_sink.messages, seconds=20)

    [mail] = smtp_sink.messages
    assert mail["To"] == "anna@example.de"
    customer = Customer.objects.get()
    assert customer.consent_email is False  # not before the person confirms
    page.goto(LINK.search(body_of(mail)).group(0))
    page.get_by_role("button", name="Yes, I confirm").click()
    expect(page.get_by_role("heading")).to_contain_text("your consent is recorded")
    customer.refresh_from_db()
    assert customer.consent_email is True
    entry = ConsentRecord.objects.get(customer=customer, purpose="marketing_email")
    assert (entry.source, entry.policy) == ("form", policy)

    # The same person, through the plain HTML form on a browser without JavaScript.
    context = browser.new_context(java_script_enabled=False, locale="en-US")
    plain = context.new_page()
    plain.goto(f"{origin}/snippet.html")
    plain.get_by_role("textbox", name="Name").fill("Anna Schmidt")
    plain.get_by_role("textbox", name="Email").fill("ANNA@example.de")
    plain.get_by_label("City").fill("Berlin")
    plain.get_by_role("button", name="Send").click()
    # The product asks once more (a page written once carries no fresh token), keeping it all.
    expect(plain.locator("#notice")).to_contain_text("One more step")
    expect(plain.get_by_label("City")).to_have_value("Berlin")
    plain.wait_for_timeout(1200)
    plain.get_by_role("button", name="Send").click()
    expect(plain.locator("#thanks")).to_contain_text("Thank you, see you soon.")
    context.close()
    assert Customer.objects.count() == 1
    customer.refresh_from_db()
    assert customer.city == "Berlin"
