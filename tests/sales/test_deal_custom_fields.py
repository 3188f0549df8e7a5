"""Custom fields on deals (customers/custom_fields/, registered by sales/apps.py): written by the
deal services and form, shown on the deal's page (masked as the viewer must see them, a
sensitive one revealed by an audited POST), filtered and listed on the list, exported, in the
data subject's copy and gone after an erasure, converted with the field's type."""

import csv
import io
import json

import pytest
from django.core.exceptions import ValidationError

from customers.custom_fields import services as field_services
from customers.custom_fields.models import FieldType, Sensitivity
from customers.custom_fields.records import is_sealed
from privacy.models import AuditEvent, RequestKind
from privacy.subjects import copy as subject_copy
from privacy.subjects import services as requests
from sales.deals import services
from tests.customers.test_custom_fields import define_field, redefine, refused_conversion
from tests.factories import CustomerFactory
from tests.privacy.test_subject_requests import _read_zip, _verified

pytestmark = pytest.mark.django_db

CONTRACT_NOTE = "Quixby signs on site"


@pytest.fixture
def fields(admin_user_role):
    """A choice field with a default, a personal text and a sensitive text, on deals."""
    admin = admin_user_role
    return {
        "tier": define_field(
            admin, FieldType.CHOICE, label="Tier", target="deal", default="Silver", listed=True
        ),
        "buyer_wechat": define_field(
            admin,
            FieldType.TEXT,
            label="Buyer WeChat",
            target="deal",
            sensitivity=Sensitivity.PERSONAL,
            listed=True,
        ),
        "contract_note": define_field(
            admin,
            FieldType.TEXT,
            label="Contract note",
            target="deal",
            sensitivity=Sensitivity.SENSITIVE,
        ),
    }


def _deal(user, **custom):
    customer = CustomerFactory(owner=user)
    return services.create_deal(actor=user, customer=customer, title="Kitchen", custom=custom)


def test_a_new_deal_takes_values_as_typed_and_defaults_and_the_audit_says_so(sales_user, fields):
    deal = _deal(sales_user, buyer_wechat=" quixby_wx ", contract_note=CONTRACT_NOTE)
    deal.refresh_from_db()
    assert deal.custom["tier"] == "silver"
    assert deal.custom["buyer_wechat"] == "quixby_wx"
    assert is_sealed(deal.custom["contract_note"])
    assert CONTRACT_NOTE not in json.dumps(deal.custom)
    created = AuditEvent.objects.get(action="deal.create", target_id=str(deal.pk))
    assert created.changes["custom.tier"] == [None, "silver"]
    assert created.changes["custom.contract_note"] == ["", "…"]
    assert "quixby_wx" not in json.dumps(created.changes)


def test_a_changed_value_is_audited_with_a_new_version_and_a_bad_one_refused(sales_user, fields):
    deal = _deal(sales_user)
    version = deal.version
    services.update_deal(actor=sales_user, deal=deal, custom={"tier": "金卡"})
    deal.refresh_from_db()
    assert deal.custom["tier"] == "gold"
    assert deal.version == version + 1
    updated = AuditEvent.objects.get(action="deal.update", target_id=str(deal.pk))
    assert updated.changes["custom.tier"] == ["silver", "gold"]

    with pytest.raises(ValidationError) as refused:
        services.update_deal(actor=sales_user, deal=deal, custom={"tier": "Platinum"})
    assert list(refused.value.message_dict) == ["custom.tier"]
    deal.refresh_from_db()
    assert deal.custom["tier"] == "gold"


def test_the_form_writes_values_and_shows_a_refusal_on_its_input(client, sales_user, fields):
    deal = _deal(sales_user)
    client.force_login(sales_user)
    page = client.get(f"/deals/{deal.pk}/edit/")
    form = page.context["form"]
    assert {bound.name for bound in form.custom_inputs()} == {
        "custom__tier",
        "custom__buyer_wechat",
        "custom__contract_note",
    }
    data = {
        "title": deal.title,
        "currency": deal.currency,
        "amount": "100",
        "version": deal.version,
        "custom__tier": "gold",
        "custom__buyer_wechat": "quixby_wx",
        "custom__contract_note": "",  # left empty: a sealed value is kept
        "lines-TOTAL_FORMS": "0",
        "lines-INITIAL_FORMS": "0",
    }
    response = client.post(f"/deals/{deal.pk}/edit/", data)
    assert response.status_code == 302, response.context["form"].errors
    deal.refresh_from_db()
    assert (deal.custom["tier"], deal.custom["buyer_wechat"]) == ("gold", "quixby_wx")

    too_long = {**data, "version": deal.version, "custom__buyer_wechat": "x" * 300}
    refused = client.post(f"/deals/{deal.pk}/edit/", too_long)
    assert refused.status_code == 200
    assert refused.context["form"].errors["custom__buyer_wechat"]


def test_the_page_masks_what_the_viewer_may_not_see_and_reveals_sealed_values_audited(
    client, sales_user, analyst_user, admin_user_role, fields
):
    deal = _deal(sales_user, tier="gold", buyer_wechat="quixby_wx", contract_note=CONTRACT_NOTE)
    reveal = f"/deals/{deal.pk}/reveal/contract_note/"
    client.force_login(sales_user)  # the owner: sees the customer's personal data
    html = client.get(f"/deals/{deal.pk}/").content.decode()
    assert "Gold" in html
    assert "quixby_wx" in html
    assert CONTRACT_NOTE not in html
    assert reveal not in html  # no right to reveal
    assert client.post(reveal).status_code == 403

    client.force_login(analyst_user)  # sees every deal, no one's personal data
    html = client.get(f"/deals/{deal.pk}/").content.decode()
    assert "Gold" in html
    assert "quixby_wx" not in html

    client.force_login(admin_user_role)
    assert reveal in client.get(f"/deals/{deal.pk}/").content.decode()
    revealed = client.post(reveal)
    assert revealed.status_code == 200
    assert CONTRACT_NOTE in revealed.content.decode()
    assert revealed["Cache-Control"] == "no-store"
    # Against the customer: the person's copy lists who saw what of theirs.
    event = AuditEvent.objects.get(action="deal.reveal_custom")
    assert (event.target_id, event.changes) == (
        str(deal.customer_id),
        {"field": "contract_note", "deal": deal.pk},
    )


def test_the_list_filters_and_lists_values_and_the_export_masks_them(
    client, sales_user, analyst_user, fields
):
    gold = _deal(sales_user, tier="gold", buyer_wechat="quixby_wx")
    _deal(sales_user, tier="silver")
    client.force_login(sales_user)
    listed = client.get("/deals/list/", {"custom_tier": "gold"})
    assert [(deal.pk, texts) for deal, texts in listed.context["deals"]] == [
        (gold.pk, ["Gold", "quixby_wx"])
    ]

    client.force_login(analyst_user)  # exports deals, may not see personal data
    [(_row, texts)] = client.get("/deals/list/", {"custom_tier": "gold"}).context["deals"]
    assert texts[0] == "Gold"
    assert texts[1] not in ("", "quixby_wx")
    exported = client.get("/deals/export/csv/", {"custom_tier": "gold"})
    rows = list(csv.reader(io.StringIO(b"".join(exported.streaming_content).decode("utf-8-sig"))))
    assert rows[0][-3:] == ["Tier", "Buyer WeChat", "Contract note"]
    assert len(rows) == 2
    assert rows[1][-3] == "Gold"
    assert rows[1][-2] == texts[1]  # masked as on the page
    assert CONTRACT_NOTE not in rows[1][-1]


def test_the_copy_holds_deals_custom_values_and_an_erasure_clears_them(
    privacy_user, sales_user, fields, tmp_path
):
    deal = _deal(sales_user, tier="gold", buyer_wechat="quixby_wx", contract_note=CONTRACT_NOTE)
    customer = deal.customer
    request = _verified(privacy_user, customer, RequestKind.ACCESS)
    path = tmp_path / "copy.zip"
    counts = subject_copy.write_copy(customer, path, request=request)
    assert counts["deal_custom_fields"] == 1
    [row] = json.loads(_read_zip(path)["json/deal_custom_fields.json"])
    assert row == {
        "id": deal.pk,
        "custom.tier": "Gold",
        "custom.buyer_wechat": "quixby_wx",
        "custom.contract_note": CONTRACT_NOTE,
    }

    erasure = _verified(privacy_user, customer, RequestKind.ERASURE)
    requests.erase_for_request(actor=privacy_user, request=erasure, resolution="Erased.")
    deal.refresh_from_db()
    assert deal.custom == {}


def test_a_type_change_converts_deals_values_or_names_the_deal_that_would_not(
    admin_user_role, sales_user, fields
):
    size = define_field(admin_user_role, FieldType.TEXT, label="Size", target="deal")
    fits = _deal(sales_user, size="42")
    does_not = _deal(sales_user, size="large")
    refused = refused_conversion(admin_user_role, size, type=FieldType.NUMBER)
    assert f"#{does_not.pk}" in refused.failure
    services.update_deal(actor=sales_user, deal=does_not, custom={"size": "43"})
    redefine(admin_user_role, size, type=FieldType.NUMBER)
    fits.refresh_from_db()
    assert fits.custom["size"] == "42"
    field_services.archive_field(actor=admin_user_role, field=size)
