"""The public side of a form, through the test client as a browser without a session: the
page, its token, the door, the abuse rules, CORS and the frame policy."""

import pytest
from django.conf import settings

from customers.models import Customer
from customers.services import create_customer
from privacy.models import AuditEvent, ConsentRecord
from tests.webforms.conftest import SHOP, aged_token, form_url, post
from webforms import services
from webforms.models import FormRejection, FormSubmission, RejectionReason

pytestmark = pytest.mark.django_db

PERSON = {"name": "王丽娟", "email": "Lijuan.Wang@Example.com", "phone": "138 0013 8000"}


def _rejected(form, reason) -> int:
    row = FormRejection.objects.filter(form=form, reason=reason).first()
    return row.count if row else 0


def test_the_page_shows_the_form_in_the_visitors_language_with_a_token(make_form, visitor):
    form = make_form()
    page = visitor.get(form_url(form), HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = page.content.decode()
    assert page.status_code == 200
    assert "您的姓名" in html
    assert "通过电子邮件给我发送资讯。" in html
    assert 'name="token"' in html
    assert 'name="homepage"' in html
    assert page["Content-Language"] == "zh-hans"
    # Framed only by the declared site (and the product), never forbidden by X-Frame-Options.
    assert "X-Frame-Options" not in page
    assert f"frame-ancestors 'self' {SHOP}" in page["Content-Security-Policy"]
    english = visitor.get(form_url(form) + "?lang=en").content.decode()
    assert "Your name" in english
    assert "Send me news by email." in english
    assert "sessionid" not in page.cookies
    assert "csrftoken" not in page.cookies


def test_a_submission_creates_the_customer_through_the_door(make_form, visitor, policy):
    form = make_form()
    answer = post(visitor, form, {**PERSON, "consent_profiling": "on", "lang": "en"})
    assert answer.status_code == 200
    assert "Thank you!" in answer.content.decode()
    customer = Customer.objects.get()
    # Normalised as an import normalises it.
    assert (customer.name, customer.email, customer.phone) == (
        "王丽娟",
        "lijuan.wang@example.com",
        "+8613800138000",
    )
    assert customer.owner is None
    assert customer.source_channel == "web_form"
    assert customer.source_detail.startswith("Spring newsletter")
    submission = FormSubmission.objects.get()
    assert (submission.outcome, submission.customer, submission.form_version) == (
        "created",
        customer,
        form.version,
    )
    assert submission.ip_address == "127.0.0.1"
    assert submission.user_agent == "Mozilla/5.0 (test)"
    # Profiling is recorded at once, with the one step as evidence; marketing waits.
    entry = ConsentRecord.objects.get(customer=customer)
    assert (entry.purpose, entry.source, entry.policy) == ("profiling", "form", policy)
    assert "Spring newsletter" in entry.evidence
    assert "127.0.0.1" in entry.evidence
    assert submission.pending_purposes == []
    event = AuditEvent.objects.filter(action="import.bulk_upsert").get()
    assert event.actor_id == form.service_account_id


def test_a_known_person_is_completed_not_duplicated_and_the_answer_is_the_same(make_form, visitor):
    form = make_form()
    known = create_customer(actor=None, name="王丽娟", phone="13800138000")
    first = post(visitor, form, {**PERSON, "city": "上海"})
    stranger = post(visitor, form, {"name": "Anna Schmidt", "email": "anna@example.de"})
    assert first.content == stranger.content  # nothing tells that she was known
    assert Customer.objects.count() == 2
    known.refresh_from_db()
    assert (known.email, known.city) == ("lijuan.wang@example.com", "上海市")
    again = post(visitor, form, {**PERSON, "name": "Someone Else", "city": "北京"})
    assert again.content == first.content
    known.refresh_from_db()
    # Filled where empty, never overwritten.
    assert (known.name, known.city) == ("王丽娟", "上海市")
    outcomes = list(FormSubmission.objects.order_by("pk").values_list("outcome", flat=True))
    assert outcomes == ["updated", "created", "unchanged"]


def test_invalid_values_come_back_per_field_in_the_visitors_language_and_write_nothing(
    make_form, visitor
):
    form = make_form()
    answer = post(visitor, form, {**PERSON, "phone": "12345", "lang": "zh-hans"})
    assert answer.status_code == 400
    html = answer.content.decode()
    assert 'value="王丽娟"' in html  # what was typed stays
    assert "请输入有效的手机号码或固定电话号码。" in html
    assert not Customer.objects.exists()
    submission = FormSubmission.objects.get()
    assert (submission.outcome, submission.failed_fields) == ("failed", ["phone"])
    assert not ConsentRecord.objects.exists()


def test_a_plain_html_post_without_a_token_is_shown_again_filled_in(make_form, visitor):
    form = make_form()
    answer = post(visitor, form, {**PERSON, "consent_marketing_email": "on"}, token="")
    html = answer.content.decode()
    assert answer.status_code == 200
    assert "One more step" in html
    assert 'value="王丽娟"' in html
    assert "checked" in html
    assert 'name="token" value="' in html
    assert not Customer.objects.exists()
    assert not FormSubmission.objects.exists()
    # The token it now carries is a real one: sending the page on works.
    token = html.split('name="token" value="', 1)[1].split('"', 1)[0]
    assert post(visitor, form, PERSON, token=token).status_code == 200
    assert Customer.objects.count() == 1


def test_an_edited_form_asks_pages_showing_the_old_one_to_send_again(make_form, admin, visitor):
    form = make_form()
    old_token = aged_token(form, 30)
    services.update_form(actor=admin, form=form, name="Summer newsletter")
    assert "One more step" in post(visitor, form, PERSON, token=old_token).content.decode()
    assert not Customer.objects.exists()


def test_too_fast_is_counted_and_shown_again(make_form, visitor):
    form = make_form(min_seconds=5)
    answer = post(visitor, form, PERSON, token=aged_token(form, 1))
    assert "That was quick" in answer.content.decode()
    assert _rejected(form, RejectionReason.TOO_FAST) == 1
    assert not FormSubmission.objects.exists()
    assert post(visitor, form, PERSON, token=aged_token(form, 6)).status_code == 200
    assert Customer.objects.count() == 1


def test_the_honeypot_answers_as_usual_counts_and_stores_nothing(make_form, visitor):
    form = make_form()
    answer = post(visitor, form, {**PERSON, "homepage": "http://spam.example"})
    assert answer.status_code == 200
    assert "Thank you!" in answer.content.decode()
    assert _rejected(form, RejectionReason.HONEYPOT) == 1
    assert not Customer.objects.exists()
    assert not FormSubmission.objects.exists()


def test_too_many_from_one_address_are_refused_and_counted(make_form, visitor, settings):
    settings.WEBFORMS_RATE_PER_ADDRESS = "2/hour"
    form = make_form()
    for n in range(2):
        post(visitor, form, {"name": f"Person {n}", "email": f"p{n}@example.com"})
    refused = post(visitor, form, {"name": "Person 3", "email": "p3@example.com"})
    assert refused.status_code == 429
    assert refused["Retry-After"]
    assert _rejected(form, RejectionReason.ADDRESS_LIMIT) == 1
    assert Customer.objects.count() == 2
    # Another address still gets through, as long as the form's own limit allows.
    assert post(visitor, form, PERSON, REMOTE_ADDR="203.0.113.9").status_code == 200


def test_too_many_for_one_form_are_refused(make_form, visitor, settings):
    settings.WEBFORMS_RATE_PER_FORM = "1/hour"
    form = make_form()
    post(visitor, form, PERSON, REMOTE_ADDR="203.0.113.1")
    refused = post(visitor, form, PERSON, REMOTE_ADDR="203.0.113.2")
    assert refused.status_code == 429
    assert _rejected(form, RejectionReason.FORM_LIMIT) == 1


def test_a_body_over_the_cap_is_refused_before_it_is_read(make_form, visitor):
    form = make_form()
    answer = post(visitor, form, {**PERSON, "notes": "x" * (settings.WEBFORMS_MAX_BODY_BYTES + 1)})
    assert answer.status_code == 413
    assert _rejected(form, RejectionReason.TOO_LARGE) == 1
    assert not FormSubmission.objects.exists()


def test_a_post_from_a_page_of_another_site_is_refused(make_form, visitor):
    form = make_form()
    answer = post(visitor, form, PERSON, HTTP_ORIGIN="https://evil.example")
    assert answer.status_code == 403
    assert _rejected(form, RejectionReason.ORIGIN) == 1
    assert not Customer.objects.exists()


def test_cors_only_for_the_declared_sites(make_form, visitor):
    form = make_form()
    preflight = visitor.options(form_url(form), HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == SHOP
    other = visitor.options(form_url(form), HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in other
    token = visitor.get(form_url(form) + "token/")
    assert token["Access-Control-Allow-Origin"] == SHOP
    answer = post(
        visitor, form, PERSON, token=token.json()["token"], HTTP_ACCEPT="application/json"
    )
    assert answer.json() == {"status": "ok", "message": "Thank you!"}
    assert answer["Access-Control-Allow-Origin"] == SHOP


def test_a_script_learns_the_errors_as_json(make_form, visitor):
    form = make_form()
    answer = post(visitor, form, {"email": "x@example.com"}, HTTP_ACCEPT="application/json")
    assert answer.status_code == 400
    assert answer.json()["status"] == "invalid"
    assert list(answer.json()["errors"]) == ["name"]


def test_a_thank_you_address_receives_the_visitor(make_form, visitor):
    form = make_form(redirect_url="https://shop.example.com/thanks")
    page = visitor.get(form_url(form))
    assert "form-action 'self' https://shop.example.com" in page["Content-Security-Policy"]
    answer = post(visitor, form, PERSON)
    assert (answer.status_code, answer["Location"]) == (303, "https://shop.example.com/thanks")


def test_a_switched_off_form_is_not_found(make_form, admin, visitor):
    form = make_form()
    services.set_form_active(actor=admin, form=form, active=False)
    assert visitor.get(form_url(form)).status_code == 404
    assert post(visitor, form, PERSON).status_code == 404


def test_attribution_reaches_the_customer_for_channel_effectiveness(make_form, visitor):
    form = make_form()
    page = visitor.get(
        form_url(form) + "?utm_source=wechat&utm_medium=social&utm_campaign=spring",
        HTTP_REFERER=f"{SHOP}/landing?phone=13800138000",
    ).content.decode()
    assert 'name="utm_source" value="wechat"' in page
    assert "13800138000" not in page  # the referrer's address is never kept, only its host
    post(
        visitor,
        form,
        {
            **PERSON,
            "utm_source": "wechat",
            "utm_medium": "social",
            "utm_campaign": "spring",
            "referrer": "shop.example.com",
        },
    )
    customer = Customer.objects.get()
    assert customer.source_channel == "wechat"
    assert customer.source_detail == "Spring newsletter · wechat / social / spring"


def test_switching_language_keeps_the_campaign(make_form, visitor):
    form = make_form()
    page = visitor.get(
        form_url(form) + "?utm_source=wechat&utm_medium=social&lang=zh-hans"
    ).content.decode()
    assert 'href="?utm_source=wechat&amp;utm_medium=social&amp;lang=en"' in page
    english = visitor.get(form_url(form) + "?utm_source=wechat&utm_medium=social&lang=en")
    assert 'name="utm_source" value="wechat"' in english.content.decode()


def test_the_page_links_the_privacy_policy_the_consents_are_given_under(make_form, visitor):
    form = make_form()
    html = visitor.get(form_url(form) + "?lang=zh-hans").content.decode()
    assert (
        '<a href="/privacy/policy/" target="_blank" rel="noopener">阅读我们的隐私政策</a>' in html
    )
