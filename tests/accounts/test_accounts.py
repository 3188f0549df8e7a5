"""Staff accounts: lockout, two-factor authentication, session limits, headers (issue 7)."""

import datetime
import logging
import re
import time
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone, translation
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import sessions
from accounts.models import UserSession
from crm.log_filters import DropQueryStrings
from privacy import roles
from privacy.models import AuditEvent
from tests.factories import totp_code, wrong_code

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
LOGIN = "/accounts/login/"
SETUP = "/accounts/two-factor/setup/"
VERIFY = "/accounts/two-factor/verify/"


def _actions(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def _log_in(client: Client, user, password: str = PASSWORD, **extra):
    return client.post(LOGIN, {"username": user.username, "password": password}, **extra)


@pytest.fixture
def no_throttle(settings):
    """django-otp doubles the wait after each wrong code; tests that follow a wrong code with
    the right one at once switch that off."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


# --- Lockout (django-axes) ----------------------------------------------------------------------


def _fail(client: Client, user, times: int, **extra):
    response = None
    for _ in range(times):
        response = _log_in(client, user, password="wrong-password", **extra)
    return response


def test_login_locks_out_after_the_failure_limit_and_says_when_to_retry(make_user):
    user = make_user(roles.SALES)
    client = Client()
    assert _fail(client, user, settings.AXES_FAILURE_LIMIT - 1).status_code == 200
    response = _fail(client, user, 1)
    assert response.status_code == 429
    assert "registration/locked_out.html" in [t.name for t in response.templates]
    page = response.content.decode()
    assert "Too many failed logins" in page
    retry_at = timezone.localtime(timezone.now() + settings.AXES_COOLOFF_TIME)
    shown = re.search(r"paused for 15 minutes, until (\d\d:\d\d)", page).group(1)
    assert shown in {f"{retry_at:%H:%M}", f"{retry_at - datetime.timedelta(minutes=1):%H:%M}"}
    assert response["Retry-After"] == str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    # Even the right password is refused while locked, and the lockout is audited once.
    assert _log_in(client, user).status_code == 429
    assert "_auth_user_id" not in client.session
    lockouts = _actions("auth.lockout")
    assert len(lockouts) == 1
    assert lockouts[0].actor_label == user.username
    assert lockouts[0].changes["failures"] == settings.AXES_FAILURE_LIMIT


def test_lockout_is_per_user_name_and_address(make_user):
    user, colleague = make_user(roles.SALES), make_user(roles.SALES)
    _fail(Client(), user, settings.AXES_FAILURE_LIMIT, REMOTE_ADDR="10.0.0.1")
    assert _log_in(Client(), user, REMOTE_ADDR="10.0.0.1").status_code == 429
    # The same name from elsewhere, and a colleague from the same address, still log in.
    assert _log_in(Client(), user, REMOTE_ADDR="10.0.0.2").status_code == 302
    assert _log_in(Client(), colleague, REMOTE_ADDR="10.0.0.1").status_code == 302


def test_lockout_lifts_after_the_cool_off(make_user):
    user = make_user(roles.SALES)
    _fail(Client(), user, settings.AXES_FAILURE_LIMIT)
    assert _log_in(Client(), user).status_code == 429
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - datetime.timedelta(seconds=1)
    )
    response = _log_in(Client(), user)
    assert response.status_code == 302
    assert response["Location"] == "/"
    # A successful login clears the record of failures.
    assert not AccessAttempt.objects.exists()


def test_the_cool_off_is_never_permanent():
    assert datetime.timedelta(0) < settings.AXES_COOLOFF_TIME
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


def test_test_client_login_passes_the_request_axes_needs(client, make_user):
    user = make_user(roles.SALES)
    assert client.login(username=user.username, password=PASSWORD)
    assert client.get("/").status_code == 200


def test_administrator_lifts_a_lockout_in_admin_and_it_is_audited(client, make_user):
    user = make_user(roles.SALES)
    _fail(Client(), user, settings.AXES_FAILURE_LIMIT)
    attempt = AccessAttempt.objects.get()
    admin = make_user(roles.ADMINISTRATOR, is_staff=True)
    client.force_login(admin)
    assert client.get("/admin/axes/accessattempt/").status_code == 200
    response = client.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    unlock = _actions("auth.unlock")[0]
    assert (unlock.actor, unlock.target_id) == (admin, str(user.pk))
    assert _log_in(Client(), user).status_code == 302


def test_failed_login_records_hold_no_password(make_user):
    user = make_user(roles.SALES)
    _fail(Client(), user, 1)
    attempt = AccessAttempt.objects.get()
    assert "wrong-password" not in attempt.post_data
    assert user.username not in attempt.post_data


# --- Two-factor authentication ------------------------------------------------------------------


def test_administrator_without_authenticator_reaches_nothing_but_enrolment(make_user):
    admin = make_user(roles.ADMINISTRATOR, is_staff=True, otp_device=False)
    client = Client()
    client.force_login(admin)
    for path in (
        "/",
        "/customers/",
        "/admin/",
        "/accounts/two-factor/",
        "/accounts/password_change/",
    ):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(SETUP), path
    assert client.get("/customers/")["Location"] == f"{SETUP}?next=%2Fcustomers%2F"
    # htmx panels are sent to the page as a whole.
    panel = client.get("/customers/", headers={"HX-Request": "true"})
    assert panel.headers["HX-Redirect"] == SETUP
    # Leaving, switching the language and the health check still work.
    assert client.get("/health/").status_code in (200, 503)
    assert client.post("/i18n/setlang/", {"language": "en"}).status_code == 302
    assert client.post("/accounts/logout/")["Location"] == LOGIN


def test_enrolment_shows_a_server_drawn_qr_code_and_turns_two_factor_on(make_user):
    officer = make_user(roles.PRIVACY_OFFICER, otp_device=False)
    client = Client()
    client.force_login(officer)
    page = client.get(SETUP)
    assert page.status_code == 200
    assert page["Cache-Control"].startswith("max-age=0")
    html = page.content.decode()
    assert "<svg" in html
    assert "Your role requires two-factor authentication" in html
    assert "http" not in re.sub(r'xmlns="http://www.w3.org/2000/svg"', "", html.split("<svg")[1])
    device = TOTPDevice.objects.get(user=officer)
    assert not device.confirmed
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', html).group(1)
    assert secret.replace(" ", "") in device.config_url
    # Reloading keeps the same secret.
    assert secret in client.get(SETUP).content.decode()

    response = client.post(SETUP, {"code": totp_code(device), "next": "/customers/"})
    assert response["Location"] == "/customers/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/customers/").status_code == 200
    assert [e.actor for e in _actions("auth.2fa_enrolled")] == [officer]


def test_a_wrong_code_does_not_enrol_and_is_audited(make_user):
    admin = make_user(roles.ADMINISTRATOR, is_staff=True, otp_device=False)
    client = Client()
    client.force_login(admin)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=admin)
    wrong = wrong_code(device)
    response = client.post(SETUP, {"code": wrong})
    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert client.get("/")["Location"].startswith(SETUP)
    assert _actions("auth.2fa_failed")[0].changes == {"step": "enrol"}
    # Not six digits: a form error, not a try.
    response = client.post(SETUP, {"code": "12ab"})
    assert "Enter the 6 digits" in response.content.decode()
    assert len(_actions("auth.2fa_failed")) == 1


def test_after_the_password_a_user_with_authenticator_must_enter_a_code(make_user, no_throttle):
    officer = make_user(roles.PRIVACY_OFFICER)
    device = TOTPDevice.objects.get(user=officer)
    client = Client()
    assert _log_in(client, officer)["Location"] == "/"
    assert client.get("/")["Location"] == VERIFY
    assert client.get("/customers/")["Location"] == f"{VERIFY}?next=%2Fcustomers%2F"
    assert client.get(VERIFY).status_code == 200

    wrong = wrong_code(device)
    refused = client.post(VERIFY, {"code": wrong})
    assert "That code is not right" in refused.content.decode()
    assert client.get("/")["Location"] == VERIFY

    code = totp_code(device)
    accepted = client.post(VERIFY, {"code": code, "next": "/customers/"})
    assert accepted["Location"] == "/customers/"
    assert client.get("/customers/").status_code == 200
    assert [e.actor for e in _actions("auth.2fa_verified")] == [officer]
    assert _actions("auth.2fa_failed")[0].changes == {"step": "verify"}
    # A code is good once (the same code: a fresh one may belong to the next 30-second step).
    other = Client()
    _log_in(other, officer)
    assert "That code is not right" in other.post(VERIFY, {"code": code}).content.decode()


def test_wrong_codes_in_a_row_are_throttled(make_user):
    officer = make_user(roles.PRIVACY_OFFICER)
    device = TOTPDevice.objects.get(user=officer)
    client = Client()
    _log_in(client, officer)
    wrong = wrong_code(device)
    client.post(VERIFY, {"code": wrong})
    response = client.post(VERIFY, {"code": totp_code(device)})
    assert "Too many wrong codes" in response.content.decode()
    assert client.get("/")["Location"] == VERIFY


def test_next_after_the_code_step_stays_on_this_site(make_user):
    officer = make_user(roles.PRIVACY_OFFICER)
    client = Client()
    _log_in(client, officer)
    device = TOTPDevice.objects.get(user=officer)
    response = client.post(VERIFY, {"code": totp_code(device), "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_two_factor_is_optional_for_sales_who_may_turn_it_on(make_user):
    sales = make_user(roles.SALES)
    assert not TOTPDevice.objects.filter(user=sales).exists()
    client = Client()
    _log_in(client, sales)
    assert client.get("/").status_code == 200
    status = client.get("/accounts/two-factor/").content.decode()
    assert "Set up two-factor authentication" in status
    setup = client.get(SETUP).content.decode()
    assert "Your role requires" not in setup
    device = TOTPDevice.objects.get(user=sales)
    assert client.post(SETUP, {"code": totp_code(device)})["Location"] == "/"
    assert client.get("/").status_code == 200
    # From the next login on, the code step follows the password.
    later = Client()
    _log_in(later, sales)
    assert later.get("/")["Location"] == VERIFY
    assert later.post(VERIFY, {"code": totp_code(device, steps_ahead=1)})["Location"] == "/"


def test_enrolling_ends_the_users_other_sessions(make_user):
    sales = make_user(roles.SALES)
    elsewhere, here = Client(), Client()
    _log_in(elsewhere, sales)
    _log_in(here, sales)
    here.get(SETUP)
    device = TOTPDevice.objects.get(user=sales)
    here.post(SETUP, {"code": totp_code(device)})
    assert elsewhere.get("/")["Location"].startswith(LOGIN)
    assert here.get("/").status_code == 200
    ended = _actions("auth.sessions_ended")[0]
    assert ended.changes == {"reason": "2fa_enrolled", "sessions": 1}


def test_removing_ones_authenticator_needs_a_current_code(client, make_user, no_throttle):
    sales = make_user(roles.SALES)
    device = TOTPDevice.objects.create(user=sales, name="phone", confirmed=True)
    client.force_login(sales)
    wrong = wrong_code(device)
    refused = client.post("/accounts/two-factor/remove/", {"code": wrong})
    assert refused.status_code == 400
    assert TOTPDevice.objects.filter(user=sales).exists()
    response = client.post("/accounts/two-factor/remove/", {"code": totp_code(device)})
    assert response["Location"] == "/accounts/two-factor/"
    assert not TOTPDevice.objects.filter(user=sales).exists()
    assert _actions("auth.2fa_removed")[0].changes == {"by": "user"}
    assert client.get("/").status_code == 200


def test_an_administrator_who_removes_their_authenticator_sets_up_a_new_one(client, make_user):
    admin = make_user(roles.ADMINISTRATOR, is_staff=True)
    device = TOTPDevice.objects.get(user=admin)
    client.force_login(admin)
    client.post("/accounts/two-factor/remove/", {"code": totp_code(device, steps_ahead=1)})
    assert client.get("/")["Location"].startswith(SETUP)


def test_administrator_removes_a_lost_authenticator_in_admin(client, make_user):
    officer = make_user(roles.PRIVACY_OFFICER)
    officer_browser = Client()
    officer_browser.force_login(officer)
    device = TOTPDevice.objects.get(user=officer)
    admin = make_user(roles.ADMINISTRATOR, is_staff=True)
    client.force_login(admin)
    listing = client.get("/admin/otp_totp/totpdevice/")
    assert listing.status_code == 200
    assert device.key not in listing.content.decode()
    detail = client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/")
    assert device.key not in detail.content.decode()
    assert client.get("/admin/otp_totp/totpdevice/add/").status_code == 403
    assert client.get(f"/admin/otp_totp/totpdevice/{device.pk}/qrcode/").status_code == 403
    response = client.post(f"/admin/otp_totp/totpdevice/{device.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=officer).exists()
    removed = _actions("auth.2fa_removed")[0]
    assert (removed.actor, removed.target_id, removed.changes) == (
        admin,
        str(officer.pk),
        {"by": "administrator"},
    )
    # The officer's session ended; at the next login they enrol again.
    assert officer_browser.get("/")["Location"].startswith(LOGIN)
    again = Client()
    _log_in(again, officer)
    assert again.get("/")["Location"].startswith(SETUP)


def test_superusers_need_two_factor_too(make_user):
    root = make_user(None, is_staff=True, is_superuser=True, otp_device=False)
    client = Client()
    client.force_login(root)
    assert client.get("/admin/")["Location"].startswith(SETUP)


# --- Session limits -----------------------------------------------------------------------------


def _set_session(client: Client, **values) -> None:
    session = client.session
    for key, value in values.items():
        session[key] = value
    session.save()


def test_an_idle_session_is_signed_out_with_a_message(client, make_user):
    sales = make_user(roles.SALES)
    client.force_login(sales)
    idle_since = time.time() - settings.SESSION_IDLE_TIMEOUT - 5
    _set_session(client, **{sessions.LAST_ACTIVITY: idle_since})
    response = client.get("/customers/", follow=True)
    assert response.redirect_chain[0][0] == f"{LOGIN}?next=/customers/"
    minutes = settings.SESSION_IDLE_TIMEOUT // 60
    assert f"You were signed out after {minutes} minutes without activity." in (
        response.content.decode()
    )
    assert not response.context["user"].is_authenticated
    assert _actions("auth.session_expired")[0].changes == {"reason": "idle"}


def test_an_idle_htmx_panel_sends_the_whole_tab_to_the_login_page(client, make_user):
    sales = make_user(roles.SALES)
    client.force_login(sales)
    _set_session(
        client, **{sessions.LAST_ACTIVITY: time.time() - settings.SESSION_IDLE_TIMEOUT - 5}
    )
    response = client.get("/customers/", headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"] == LOGIN


def test_activity_keeps_a_session_alive_but_background_polling_does_not(client, make_user):
    sales = make_user(roles.SALES)
    client.force_login(sales)
    ten_minutes_ago = int(time.time()) - 600
    _set_session(client, **{sessions.LAST_ACTIVITY: ten_minutes_ago})
    client.get("/", headers={"X-Background-Request": "1", "HX-Request": "true"})
    assert client.session[sessions.LAST_ACTIVITY] == ten_minutes_ago
    client.get("/")
    assert client.session[sessions.LAST_ACTIVITY] > ten_minutes_ago


def test_a_session_ends_at_its_maximum_age_however_busy(client, make_user):
    sales = make_user(roles.SALES)
    client.force_login(sales)
    _set_session(client, **{sessions.LOGGED_IN_AT: time.time() - settings.SESSION_COOKIE_AGE - 5})
    response = client.get("/", follow=True)
    assert not response.context["user"].is_authenticated
    assert "Your session ended" in response.content.decode()
    assert _actions("auth.session_expired")[0].changes == {"reason": "maximum_age"}


def test_session_settings_are_sensible():
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
    assert 0 < settings.SESSION_IDLE_TIMEOUT <= settings.SESSION_COOKIE_AGE


# --- Sessions ended when an account changes ---------------------------------------------------


def _two_sessions(user) -> tuple[Client, Client]:
    first, second = Client(), Client()
    first.force_login(user)
    second.force_login(user)
    assert first.get("/").status_code == second.get("/").status_code == 200
    return first, second


def test_deactivating_a_user_ends_all_their_sessions(make_user):
    sales = make_user(roles.SALES)
    first, second = _two_sessions(sales)
    assert UserSession.objects.filter(user=sales).count() == 2
    sales.is_active = False
    sales.save()
    assert not UserSession.objects.filter(user=sales).exists()
    assert not Session.objects.filter(session_key=first.session.session_key).exists()
    assert first.get("/")["Location"].startswith(LOGIN)
    assert second.get("/")["Location"].startswith(LOGIN)
    ended = _actions("auth.sessions_ended")[0]
    assert (ended.target_id, ended.changes) == (
        str(sales.pk),
        {"reason": "deactivated", "sessions": 2},
    )


def test_deactivating_in_admin_ends_sessions_and_names_the_administrator(client, make_user):
    sales = make_user(roles.SALES)
    browser = Client()
    browser.force_login(sales)
    admin = make_user(roles.ADMINISTRATOR, is_staff=True)
    client.force_login(admin)
    form = client.get(f"/admin/auth/user/{sales.pk}/change/").context["adminform"].form
    data = {
        key: value
        for key, value in form.initial.items()
        if key in form.fields and value is not None and key not in ("password", "is_active")
    }
    data["groups"] = [group.pk for group in sales.groups.all()]
    data["user_permissions"] = []
    data["last_login_0"] = data["last_login_1"] = ""
    data["date_joined_0"] = sales.date_joined.strftime("%Y-%m-%d")
    data["date_joined_1"] = sales.date_joined.strftime("%H:%M:%S")
    response = client.post(f"/admin/auth/user/{sales.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    sales.refresh_from_db()
    assert not sales.is_active
    assert browser.get("/")["Location"].startswith(LOGIN)
    assert _actions("auth.sessions_ended")[0].actor == admin


def test_a_password_set_by_someone_else_ends_the_users_sessions(make_user):
    sales = make_user(roles.SALES)
    first, second = _two_sessions(sales)
    sales.set_password("a-new-Passw0rd-2026")
    sales.save()
    assert first.get("/")["Location"].startswith(LOGIN)
    assert second.get("/")["Location"].startswith(LOGIN)
    assert _actions("auth.sessions_ended")[0].changes == {
        "reason": "password_changed",
        "sessions": 2,
    }


def test_changing_ones_own_password_keeps_this_session_and_ends_the_others(make_user):
    sales = make_user(roles.SALES)
    here, elsewhere = _two_sessions(sales)
    response = here.post(
        "/accounts/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-Passw0rd-2026",
            "new_password2": "a-new-Passw0rd-2026",
        },
    )
    assert response["Location"] == "/accounts/password_change/done/"
    assert here.get("/").status_code == 200
    assert elsewhere.get("/")["Location"].startswith(LOGIN)
    assert _actions("auth.sessions_ended")[0].changes["sessions"] == 1
    # The session's new key is the one mapped to the user now.
    assert list(UserSession.objects.filter(user=sales).values_list("session_key", flat=True)) == [
        here.session.session_key
    ]


def test_a_login_hash_upgrade_is_no_password_change(make_user):
    sales = make_user(roles.SALES)
    first, _second = _two_sessions(sales)
    sales.check_password(PASSWORD)  # may rehash and save; must not end sessions
    sales.last_login = timezone.now()
    sales.save(update_fields=["last_login"])
    assert first.get("/").status_code == 200
    assert not _actions("auth.sessions_ended")


def test_logging_out_forgets_the_session_and_cleanup_removes_old_records(client, make_user):
    sales = make_user(roles.SALES)
    client.force_login(sales)
    assert UserSession.objects.filter(user=sales).count() == 1
    client.post("/accounts/logout/")
    assert not UserSession.objects.filter(user=sales).exists()
    stale = UserSession.objects.create(
        user=sales,
        session_key="x" * 32,
        created_at=timezone.now() - datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE + 1),
    )
    _fail(Client(), sales, 1)
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME * 2)
    assert sessions.clear_expired_sessions() == 1
    assert not UserSession.objects.filter(pk=stale.pk).exists()
    assert not AccessAttempt.objects.exists()


# --- Passwords ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "chinese"),
    [
        ("Sh0rt-pw", "密码长度太短。密码必须包含至少 10 个字符。"),
        ("password123", "这个密码太常见了。"),
        ("20242025202620", "密码只包含数字。"),
        ("zhangwei2024x", "太相似了"),
    ],
)
def test_weak_passwords_are_refused_with_chinese_messages(make_user, password, chinese):
    user = make_user(roles.SALES, username="zhangwei2024")
    with translation.override("zh-hans"), pytest.raises(ValidationError) as refused:
        validate_password(password, user=user)
    assert any(chinese in message for message in refused.value.messages), refused.value.messages


# --- Headers and Content-Security-Policy ------------------------------------------------------


def test_every_page_carries_a_strict_content_security_policy_and_security_headers(client):
    response = client.get(LOGIN)
    policy = dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
    )
    assert policy["default-src"] == "'self'"
    assert policy["script-src"].startswith("'self'")
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    assert policy["style-src"] == "'self'"
    assert policy["img-src"] == "'self' data:"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["base-uri"] == "'self'"
    assert policy["form-action"] == "'self'"
    assert "camera=()" in response["Permissions-Policy"]
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


TEMPLATES = Path(settings.BASE_DIR) / "templates"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
# The code a web form hands other sites to paste (webforms/views.py shows it as text): it runs
# under their styles, not the product's policy, so it carries the little styling it needs (the
# frame's size, the honeypot kept off screen) inline.
FOR_OTHER_SITES = {"webforms/embed_iframe.html", "webforms/embed_snippet.html"}


@pytest.mark.parametrize(
    "template",
    sorted(
        str(p.relative_to(TEMPLATES))
        for p in TEMPLATES.rglob("*.html")
        if str(p.relative_to(TEMPLATES)) not in FOR_OTHER_SITES
    ),
)
def test_templates_have_no_inline_script_style_or_handler(template):
    text = (TEMPLATES / template).read_text(encoding="utf-8")
    assert not INLINE_SCRIPT.search(text)
    assert not INLINE_STYLE.search(text)
    assert not INLINE_HANDLER.search(text)


def test_rendered_pages_have_no_inline_script_or_style(client, make_user):
    admin = make_user(roles.ADMINISTRATOR, is_staff=True)
    client.force_login(admin)
    for path in ("/", "/customers/", "/accounts/two-factor/", "/accounts/password_change/"):
        html = client.get(path).content.decode()
        assert not INLINE_SCRIPT.search(html), path
        assert not INLINE_STYLE.search(html), path
        assert not INLINE_HANDLER.search(html), path


# --- Logs -----------------------------------------------------------------------------------


def test_request_lines_are_logged_without_query_strings():
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        "",
        0,
        '"%s" %s %s',
        ("GET /x/?q=13800138000 HTTP/1.1", "200", "5"),
        None,
    )
    DropQueryStrings().filter(record)
    assert record.getMessage() == '"GET /x/ HTTP/1.1" 200 5'
