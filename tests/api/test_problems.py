"""Errors outside the view sets still reach API callers as problem details."""

from django.test import RequestFactory

from kernel.api.problems import PROBLEM_CONTENT_TYPE, server_error


def test_a_server_error_under_api_answers_a_problem_and_elsewhere_the_page():
    api = server_error(RequestFactory().get("/api/v1/customers/"))
    assert api.status_code == 500
    assert api["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert b'"status": 500' in api.content
    page = server_error(RequestFactory().get("/customers/"))
    assert page.status_code == 500
    assert page["Content-Type"].startswith("text/html")
