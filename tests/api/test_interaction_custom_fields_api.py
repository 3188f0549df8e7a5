"""Custom values of interactions in the API (customers/api/custom_values.py): written as typed
and refused per field, read back masked for a reader who may not see the customer's personal
data, and described in the schema."""

import json

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests.factories import CustomerFactory
from tests.interactions.test_interaction_custom_fields import SYMPTOM, fields  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.mark.usefixtures("fields")
def test_the_api_takes_and_gives_values_masked_for_its_reader(admin_api, analyst_api):
    customer = CustomerFactory()
    created = admin_api.post(
        "/api/v1/interactions/",
        {
            "customer": customer.pk,
            "kind": "call",
            "custom": {"outcome": "金卡", "caller_wechat": "qx_wx", "symptom": SYMPTOM},
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    custom = created.json()["custom"]
    assert custom["outcome"] == "gold"
    assert custom["caller_wechat"] == "qx_wx"
    assert SYMPTOM not in json.dumps(custom)  # a sealed value reads as its mask

    unknown = admin_api.post(
        "/api/v1/interactions/",
        {"customer": customer.pk, "kind": "call", "custom": {"mood": "calm"}},
        format="json",
    )
    assert unknown.status_code == 400
    bad = admin_api.post(
        "/api/v1/interactions/",
        {"customer": customer.pk, "kind": "call", "custom": {"outcome": "Platinum"}},
        format="json",
    )
    assert bad.status_code == 400
    assert "custom.outcome" in json.dumps(bad.json())

    read = analyst_api.get(f"/api/v1/interactions/{created.json()['id']}/").json()
    assert read["custom"]["outcome"] == "gold"
    assert read["custom"]["caller_wechat"] not in ("qx_wx", None)

    schema = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    for shape in ("Interaction", "InteractionCreateRequest"):
        described = schema[shape]["properties"]["custom"]["properties"]
        assert set(described) == {"outcome", "caller_wechat", "symptom"}
