"""No personal data in logs: everything the whole suite logged — requests, jobs, the worker,
imports, exports, errors with their tracebacks — holds no phone number, email address or
identity number of the customers the tests created."""

import re

import pytest

from tests.conftest import SuiteLog

# Chinese mobile numbers (bare, +86, or spaced as people type them), email addresses,
# resident identity numbers. Digits after a decimal point are a fraction (a task's duration in
# seconds, 0.005083887999717263), not a number identifying anyone.
PHONE = re.compile(r"(?<![\d*.])(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?![\d*])")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
ID_NUMBER = re.compile(r"(?<![\d*.])\d{17}[\dXx](?![\d*])")


@pytest.mark.after_all
def test_the_suite_logged_no_phone_email_or_identity_number():
    lines = SuiteLog.lines
    if len(lines) < 50:
        pytest.skip("run with the rest of the suite: alone it has no logs to read")
    found = [
        line for line in lines if PHONE.search(line) or ID_NUMBER.search(line) or EMAIL.search(line)
    ]
    assert found == []


@pytest.mark.parametrize(
    ("line", "personal"),
    [
        ("customer 13912345678 created", True),
        ("call +86 139 1234 5678", True),
        ("mail to zoltan@example.org failed", True),
        ("id 11010519491231002X", True),
        ("masked 139****5678 and 110***********002X", False),
        ("customer_id=1391234 import 2026-11-26 12:00:01", False),
        ("Task webhooks.tasks.x[1] succeeded in 0.005083887999717263s: True", False),
    ],
)
def test_the_search_recognises_personal_values(line, personal):
    assert bool(PHONE.search(line) or EMAIL.search(line) or ID_NUMBER.search(line)) is personal
