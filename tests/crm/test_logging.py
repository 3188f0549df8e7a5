"""Structured logs: in production every line is one JSON object — time, level, logger,
message, traceback — and nothing a record carries besides what its code chose to write."""

import json
import logging
import os
import subprocess
import sys

from django.conf import settings

from crm.log_filters import JsonLineFormatter


def _record(message, *args, **extra):
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return record


def test_a_line_is_one_json_object_with_time_level_logger_and_message():
    line = JsonLineFormatter().format(_record("Not Found: %s", "/customers/7/"))
    data = json.loads(line)
    assert set(data) == {"time", "level", "logger", "message"}
    assert data["level"] == "WARNING"
    assert data["logger"] == "django.request"
    assert data["message"] == "Not Found: /customers/7/"
    assert data["time"].endswith("+00:00")


def test_what_a_record_carries_besides_its_message_is_left_out():
    # Django's request logger attaches the request, whose text holds the query string.
    record = _record("Forbidden: %s", "/exports/", request="<WSGIRequest: GET '/?q=13912345678'>")
    assert "13912345678" not in JsonLineFormatter().format(record)


def test_a_traceback_stays_with_its_line():
    try:
        raise ValueError("boom")
    except ValueError:
        record = _record("failed")
        record.exc_info = sys.exc_info()
    data = json.loads(JsonLineFormatter().format(record))
    assert "ValueError: boom" in data["exc_info"]


def _production_logging(**env) -> dict:
    program = (
        "import django, json; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.LOGGING['handlers']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", program],
        cwd=settings.BASE_DIR,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "crm.settings",
            "DEBUG": "false",
            "EMAIL_URL": "smtp://smtp.example.com:587",
            **env,
        },
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_logs_json_and_people_can_ask_for_plain_lines():
    handlers = _production_logging()
    assert handlers["console"]["formatter"] == "json"
    assert handlers["django.server"]["formatter"] == "json"
    assert _production_logging(LOG_FORMAT="plain")["console"]["formatter"] == "plain"


def _normalise_for_the_report(phone):
    # A local holding personal data when the code fails, as a service's would.
    normalised = f"+86{phone}"
    raise ValueError(f"cannot store {len(normalised)} digits")


def test_a_server_error_mailed_to_admins_carries_no_value_sent_or_held(rf, mailoutbox, settings):
    settings.DEBUG = False
    settings.ADMINS = [("Ops", "ops@example.com")]
    # Built at run time: a traceback quotes source lines, and this test's lines are no leak.
    phone, street = "138" + "00138000", "建国" + "路88号"
    request = rf.post("/customers/new/", {"phone": phone, "notes": f"住在{street}"})
    try:
        _normalise_for_the_report(phone)
    except ValueError:
        logging.getLogger("django.request").error(
            "Internal Server Error: %s",
            request.path,
            exc_info=sys.exc_info(),
            extra={"status_code": 500, "request": request},
        )
    [mail] = mailoutbox
    body = mail.body + "".join(str(part) for part, _type in getattr(mail, "alternatives", []))
    assert "_normalise_for_the_report" in body  # where it failed is still said
    assert phone not in body
    assert street not in body
