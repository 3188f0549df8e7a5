"""The error pages (403, 404, 500) say what happened in the reader's language, where to go and
whom to ask, and nothing of the error itself; a refusal logs one line without a traceback,
while a server error keeps its traceback."""

import logging
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import RequestFactory
from django.utils import translation
from django.views.defaults import server_error

from crm.log_filters import RefusalsWithoutTraceback

pytestmark = pytest.mark.django_db

REFUSED = {
    "en": ("You do not have permission for this", "ask an administrator"),
    "zh-hans": ("您没有执行此操作的权限", "请联系管理员"),
}


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_refused_page_explains_in_the_readers_language(client, sales_user, language):
    client.force_login(sales_user)
    response = client.get("/operations/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 403
    page = response.content.decode()
    assert f'<html lang="{language}">' in page
    for text in REFUSED[language]:
        assert text in page
    other = "zh-hans" if language == "en" else "en"
    assert REFUSED[other][0] not in page
    assert 'href="/"' in page  # the way back: the start page
    assert "403 Forbidden" not in page


def test_a_missing_or_out_of_scope_page_says_so_in_chinese(client, sales_user):
    client.force_login(sales_user)
    response = client.get("/customers/999999999/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 404
    page = response.content.decode()
    assert "页面未找到" in page
    assert "Page not found" not in page


def test_the_server_error_page_needs_neither_the_database_nor_the_request(
    django_assert_num_queries,
):
    with translation.override("zh-hans"), django_assert_num_queries(0):
        response = server_error(RequestFactory().get("/customers/"))
    assert response.status_code == 500
    page = response.content.decode()
    assert "出错了" in page
    assert "Something went wrong" not in page


def test_a_refusal_is_logged_as_one_line_without_a_traceback(client, sales_user, caplog):
    client.force_login(sales_user)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        client.get("/operations/")
    [record] = [record for record in caplog.records if record.name == "django.request"]
    assert record.getMessage() == "Forbidden (Permission denied): /operations/"
    assert record.exc_info is None


def test_a_server_errors_record_keeps_its_traceback():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord(
            "django.request",
            logging.ERROR,
            __file__,
            1,
            "Internal Server Error",
            (),
            sys.exc_info(),
        )
    record.status_code = 500
    assert RefusalsWithoutTraceback().filter(record)
    assert record.exc_info is not None


# What Django's request handler logs for a refusal and for a crash, in a development process.
DEVELOPMENT_CONSOLE = """
import django
django.setup()
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseForbidden, HttpResponseServerError
from django.utils.log import log_response
try:
    raise PermissionDenied
except PermissionDenied as refusal:
    log_response("Forbidden (Permission denied): %s", "/operations/",
                 response=HttpResponseForbidden(), exception=refusal)
try:
    raise ValueError("boom")
except ValueError as error:
    log_response("Internal Server Error: %s", "/customers/",
                 response=HttpResponseServerError(), exception=error)
"""


def test_the_development_console_shows_a_refusal_once_and_an_errors_traceback_once():
    result = subprocess.run(
        [sys.executable, "-c", DEVELOPMENT_CONSOLE],
        cwd=settings.BASE_DIR,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "crm.settings",
            "DEBUG": "true",
            "LOG_FORMAT": "plain",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    console = result.stderr
    assert console.count("Forbidden (Permission denied): /operations/") == 1, console
    assert "PermissionDenied" not in console
    assert console.count("Internal Server Error: /customers/") == 1, console
    assert console.count("Traceback") == 1
    assert "ValueError: boom" in console


def test_a_signed_in_readers_error_pages_keep_the_menu_and_the_search_box(client, service_user):
    client.force_login(service_user)
    for path, status in (("/customers/999999999/", 404), ("/operations/", 403)):
        response = client.get(path)
        assert response.status_code == status
        page = response.content.decode()
        assert 'href="/customers/"' in page  # the menu
        assert 'id="global-search-input"' in page
