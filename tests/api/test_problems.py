"""Problems the schemathesis run found, kept fixed: what the schema says of every operation,
and the answers that were not problems before."""

import pytest
from django.test import Client, RequestFactory
from drf_spectacular.generators import SchemaGenerator

from kernel.api.problems import PROBLEM_CONTENT_TYPE, server_error
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/customers/"


def test_the_schema_documents_each_operations_problems_idempotency_key_and_links():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    create = schema["paths"][LIST]["post"]
    assert {"400", "401", "403", "409", "415", "422", "429"} <= set(create["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])
    assert create["responses"]["201"]["links"]["customers_retrieve"]["parameters"] == {
        "path.id": "$response.body#/id"
    }
    update = schema["paths"][LIST + "{id}/"]["patch"]
    assert {"404", "412", "428"} <= set(update["responses"])
    read = schema["paths"][LIST + "{id}/"]["get"]
    link = read["responses"]["200"]["links"]["customers_partial_update"]
    assert link["parameters"]["header.If-Match"] == "$response.header.ETag"
    problem = schema["components"]["responses"]["Throttled"]
    assert "application/problem+json" in problem["content"]
    assert "Retry-After" in problem["headers"]


def test_a_replayed_problem_keeps_its_content_type(admin_api):
    path = f"{LIST}999999/archive/"
    first = admin_api.post(path, HTTP_IDEMPOTENCY_KEY="retry-me")
    again = admin_api.post(path, HTTP_IDEMPOTENCY_KEY="retry-me")
    assert first.status_code == again.status_code == 404
    assert again["Idempotent-Replayed"] == "true"
    assert again["Content-Type"] == first["Content-Type"] == "application/problem+json"


def test_an_external_id_another_customer_holds_answers_409_with_its_holder(admin_api):
    holder = CustomerFactory(external_ids=[("shopify", "1001")])
    response = admin_api.post(
        LIST,
        {"name": "李娜", "external_ids": [{"system": "shopify", "external_id": "1001"}]},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["type"].endswith("/external-id-taken")
    assert response.json()["customers"] == [holder.pk]


def test_a_sales_key_is_not_told_who_holds_an_external_id_it_cannot_see(
    sales_api, other_sales_user
):
    CustomerFactory(owner=other_sales_user, external_ids=[("shopify", "1001")])
    response = sales_api.post(
        LIST,
        {"name": "李娜", "external_ids": [{"system": "shopify", "external_id": "1001"}]},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["customers"] == []


@pytest.mark.parametrize("path", [f"{LIST}null/", f"{LIST}1.5/archive/", "/api/v2/customers/"])
def test_an_address_naming_no_record_answers_a_404_problem(admin_api, path):
    response = admin_api.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert Client().post(path).status_code in (401, 404)


def test_a_server_error_under_api_answers_a_problem_and_elsewhere_the_page():
    api = server_error(RequestFactory().get("/api/v1/customers/"))
    assert api.status_code == 500
    assert api["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert b'"status": 500' in api.content
    page = server_error(RequestFactory().get("/customers/"))
    assert page.status_code == 500
    assert page["Content-Type"].startswith("text/html")
