"""Custom fields in the customer list (customers/custom_fields/listing.py, indexes.py): a filter
per ordinary field, listed fields as columns masked as the viewer must see them, sorting by one
page after page, and on PostgreSQL the indexes those queries use."""

import re

import pytest
from django.db import connection, transaction
from django.urls import reverse

from accounts.templatetags.staff import staff_name
from customers import services
from customers.custom_fields.indexes import (
    build_missing_order_indexes,
    holds,
    index_name,
    ordered_value,
)
from customers.custom_fields.listing import sort_order, sorted_page
from customers.custom_fields.models import FieldType, Sensitivity
from customers.filters import listed_customers
from customers.models import Customer
from customers.selectors import search_customers
from tests.customers.test_custom_fields import define_field

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(admin_user_role, sales_user):
    """Fields of several kinds and four customers holding values of them."""
    admin = admin_user_role
    fields = {
        "level": define_field(admin, FieldType.CHOICE, label="Membership level", listed=True),
        "interests": define_field(admin, FieldType.CHOICES, label="Interests"),
        "member": define_field(admin, FieldType.YES_NO, label="Club member"),
        "size": define_field(admin, FieldType.NUMBER, label="Shoe size", decimals=1, listed=True),
        "since": define_field(admin, FieldType.DATE, label="Member since"),
        "store": define_field(admin, FieldType.PHONE, label="Store phone"),
        "referrer": define_field(admin, FieldType.USER, label="Referred by", listed=True),
        "wechat": define_field(
            admin,
            FieldType.TEXT,
            label="WeChat id",
            sensitivity=Sensitivity.PERSONAL,
            listed=True,
        ),
    }
    rows = [
        (
            "甲",
            {
                "membership_level": "gold",
                "interests": "Gold, Silver",
                "club_member": "yes",
                "shoe_size": "38.5",
                "member_since": "2021-03-01",
                "wechat_id": "jia_01",
                "store_phone": "021 6234 5678",
                "referred_by": str(sales_user.pk),
            },
        ),
        (
            "乙",
            {
                "membership_level": "silver",
                "interests": "Silver",
                "club_member": "no",
                "shoe_size": "42",
                "member_since": "2023-07-15",
            },
        ),
        ("丙", {"membership_level": "gold", "shoe_size": "9.5"}),
        ("丁", {}),
    ]
    customers = {
        name: services.create_customer(actor=admin, name=name, custom=values)
        for name, values in rows
    }
    return fields, customers


def _names(user, **params) -> set[str]:
    _filters, customers, _capped = listed_customers(user=user, params=params)
    return set(customers.values_list("name", flat=True))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"custom_membership_level": "gold"}, {"甲", "丙"}),
        ({"custom_interests": "silver"}, {"甲", "乙"}),
        ({"custom_interests": "gold"}, {"甲"}),
        ({"custom_club_member": "no"}, {"乙"}),
        ({"custom_shoe_size_min": "10", "custom_shoe_size_max": "40"}, {"甲"}),
        ({"custom_shoe_size_min": "40"}, {"乙"}),  # as numbers: "9.5" is not above "40"
        ({"custom_member_since_after": "2022-01-01"}, {"乙"}),
        ({"custom_store_phone": "+86 21 62345678"}, {"甲"}),  # written another way, same phone
        ({"custom_store_phone": "not a phone"}, set()),
        ({"custom_membership_level": "gold", "custom_shoe_size_max": "10"}, {"丙"}),
    ],
)
def test_each_kind_of_custom_filter_finds_its_customers(admin_user_role, shop, params, expected):
    assert _names(admin_user_role, **params) == expected


def test_a_colleague_filter_and_no_filter_for_personal_values(admin_user_role, sales_user, shop):
    assert _names(admin_user_role, custom_referred_by=str(sales_user.pk)) == {"甲"}
    filters, _customers, _capped = listed_customers(user=admin_user_role, params={})
    assert "custom_membership_level" in filters.form.fields
    # A personal value would travel in the address: it is looked for with the search box.
    assert "custom_wechat_id" not in filters.form.fields
    # A choice that is not one of the field's is refused, and then no one matches.
    assert _names(admin_user_role, custom_membership_level="platinum") == set()


def test_sorting_by_a_number_pages_through_every_customer_once(admin_user_role, shop):
    fields, _customers = shop
    seen, after = [], None
    while True:
        page, after = sorted_page(Customer.objects.all(), fields["size"], after=after, size=1)
        seen += [customer.name for customer in page]
        if after is None:
            break
    assert seen == ["丙", "甲", "乙", "丁"]  # 9.5 < 38.5 < 42, the empty one last


def test_the_list_shows_listed_fields_as_sortable_masked_columns(
    client, admin_user_role, analyst_user, sales_user, shop
):
    url = reverse("customers:list")
    client.force_login(admin_user_role)
    page = client.get(url, {"order": "custom:shoe_size"}, HTTP_ACCEPT_LANGUAGE="en")
    rows = [customer.name for customer, _cells in page.context["rows"]]
    assert rows == ["丙", "甲", "乙", "丁"]
    html = page.content.decode()
    assert "order=custom%3Ashoe_size" in html
    first = {field.key: text for field, text in page.context["rows"][1][1]}
    assert first["membership_level"] == "Gold"
    assert first["shoe_size"] == "38.5"
    assert first["wechat_id"] == "jia_01"
    assert first["referred_by"] == staff_name(sales_user)

    client.force_login(analyst_user)
    page = client.get(url, {"order": "custom:shoe_size"})
    first = {field.key: text for field, text in page.context["rows"][1][1]}
    assert first["wechat_id"] == "j***"
    assert "jia_01" not in page.content.decode()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_filters_and_sorting_read_the_indexes_on_postgresql(admin_user_role, shop):
    fields, _customers = shop
    assert build_missing_order_indexes() >= 2  # the number and the date, at least
    assert build_missing_order_indexes() == 0  # built once

    def plan(queryset) -> str:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            sql, params = queryset.query.sql_with_params()
            cursor.execute(f"EXPLAIN {sql}", params)
            return "\n".join(row[0] for row in cursor.fetchall())

    # The conditions alone (the list adds scope and archive filters, which a table this small
    # would rather read by another index): each can be answered from its index.
    records = Customer._base_manager
    with transaction.atomic():
        assert "customer_custom_values_gin" in plan(records.filter(holds(fields["level"], "gold")))
        assert "customer_custom_values_gin" in plan(
            records.filter(holds(fields["interests"], "silver"))
        )
        by_size = records.alias(v=ordered_value(fields["size"])).filter(v__gte=10)
        assert index_name(fields["size"]) in plan(by_size)
        ordered = records.alias(v=ordered_value(fields["since"])).order_by("v", "pk")
        assert index_name(fields["since"]) in plan(ordered)


def test_a_personal_column_is_masked_whatever_its_type_and_never_sorts(
    client, admin_user_role, analyst_user, sales_user
):
    referrer, income = (
        define_field(
            admin_user_role, kind, label=label, sensitivity=Sensitivity.PERSONAL, listed=True
        )
        for kind, label in ((FieldType.USER, "Referred by"), (FieldType.NUMBER, "Income"))
    )
    services.create_customer(
        actor=admin_user_role,
        name="甲",
        custom={"referred_by": sales_user.username, "income": "900"},
    )
    client.force_login(analyst_user)
    page = client.get(reverse("customers:list"), {"order": "custom:income"})
    [(_customer, cells)] = page.context["rows"]
    assert {field.key: text for field, text in cells} == {
        "referred_by": "***",
        "income": "***",
    }
    assert page.context["order"] == "newest"  # a personal value's order would tell it
    assert sort_order(referrer) == sort_order(income) == ""


@pytest.mark.parametrize(
    "sensitivity", [Sensitivity.ORDINARY, Sensitivity.PERSONAL, Sensitivity.SENSITIVE]
)
def test_the_search_box_finds_a_customer_by_an_identifying_value_within_what_the_reader_may_see(
    admin_user_role, service_user, analyst_user, sensitivity
):
    define_field(
        admin_user_role,
        FieldType.TEXT,
        label="Member number",
        identifying=True,
        sensitivity=sensitivity,
    )
    define_field(admin_user_role, FieldType.TEXT, label="Nickname")  # not identifying
    member = services.create_customer(
        actor=service_user,
        name="Zed Quixby",
        custom={"member_number": "M-20931", "nickname": "quixbyfan"},
    )
    services.create_customer(actor=service_user, name="Other One")
    assert list(search_customers(user=service_user, query=" M-20931 ")) == [member]
    assert list(search_customers(user=service_user, query="quixbyfan")) == []
    # An analyst sees every customer but no one's personal data: a hidden value finds no one.
    found = list(search_customers(user=analyst_user, query="M-20931"))
    assert found == ([member] if sensitivity == Sensitivity.ORDINARY else [])


def test_range_filters_offer_number_and_date_inputs_side_by_side(client, admin_user_role):
    define_field(admin_user_role, FieldType.NUMBER, label="Points")
    define_field(admin_user_role, FieldType.DATE, label="Member since")
    client.force_login(admin_user_role)
    html = client.get(reverse("customers:list")).content.decode()
    for name, input_type in (("custom_points", "number"), ("custom_member_since", "date")):
        for end in ("min", "max") if input_type == "number" else ("after", "before"):
            assert re.search(rf'<input type="{input_type}" name="{name}_{end}"', html), name
    # One group per range: its two inputs around a dash, not stacked around a stray "-".
    dash = '<span class="input-group-text" aria-hidden="true">–</span>'
    assert html.count(dash) == 4  # the two built-in date ranges too
