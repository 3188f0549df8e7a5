"""Segment rules: validation refuses what is not in the vocabulary; every kind of condition
selects what a plain Python filter over the same customers selects; refresh, size history,
static lists, ready-made segments and the command."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from analytics.metrics import refresh_metrics
from analytics.models import Segment, SegmentKind, SegmentMember, SegmentSize
from analytics.segments.compilation import matching_customers
from analytics.segments.ready_made import READY_MADE, ensure_ready_made_segments
from analytics.segments.refresh import refresh_segment, refresh_segments
from analytics.segments.services import save_segment
from analytics.segments.validation import validate
from analytics.segments.vocabulary import FIELDS, OPERATORS, builder_vocabulary
from customers.models import Customer, Tag
from interactions.models import InteractionKind, Product
from privacy.models import AuditEvent
from tests.factories import CustomerFactory, InteractionFactory, TransactionFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def _all(*conditions) -> dict:
    return {"match": "all", "rules": list(conditions)}


def _names(rules) -> set[str]:
    return set(matching_customers(validate(rules)).values_list("name", flat=True))


@pytest.fixture
def people():
    vip = Tag.objects.create(name="VIP")
    tea = Product.objects.create(sku="TEA-1", name="Longjing", category="Tea", price=100)
    anna = CustomerFactory(
        name="Anna",
        city="上海",
        gender="female",
        consent_email=True,
        tags=[vip],
        birth_date=datetime.date(1990, 5, 1),
        source_channel="online_shop",
    )
    bo = CustomerFactory(name="Bo", city="北京", gender="male", consent_sms=True)
    cy = CustomerFactory(name="Cy", city="上海市", kind="company", company_name="Cy Trading")
    TransactionFactory(
        customer=anna,
        occurred_at=NOW - datetime.timedelta(days=10),
        amount=None,
        lines=[{"product": tea, "quantity": 3, "unit_price": Decimal("100")}],
    )
    TransactionFactory(customer=anna, occurred_at=NOW - datetime.timedelta(days=100), amount=50)
    TransactionFactory(customer=bo, occurred_at=NOW - datetime.timedelta(days=400), amount=20)
    for days in (1, 2, 3):
        InteractionFactory(
            customer=bo,
            kind=InteractionKind.COMPLAINT,
            satisfaction=1,
            occurred_at=NOW - datetime.timedelta(days=days),
        )
    InteractionFactory(
        customer=cy, kind=InteractionKind.VISIT, occurred_at=NOW - datetime.timedelta(days=2)
    )
    refresh_metrics(as_of=NOW)
    return {"vip": vip}


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        # 上海 and 上海市 are one city (customers/places.py).
        (_all({"field": "city", "operator": "is", "value": "上海"}), {"Anna", "Cy"}),
        (_all({"field": "city", "operator": "contains", "value": "上海"}), {"Anna", "Cy"}),
        (_all({"field": "city", "operator": "in", "value": ["北京", "上海市"]}),
         {"Anna", "Bo", "Cy"}),
        (_all({"field": "company_name", "operator": "is_empty"}), {"Anna", "Bo"}),
        (_all({"field": "kind", "operator": "is_not", "value": "company"}), {"Anna", "Bo"}),
        (_all({"field": "gender", "operator": "in", "value": ["male", "female"]}), {"Anna", "Bo"}),
        (_all({"field": "orders", "operator": "gte", "value": 2}), {"Anna"}),
        (_all({"field": "revenue", "operator": "between", "value": [10, 100]}), {"Bo"}),
        (_all({"field": "recency_days", "operator": "is_empty"}), {"Cy"}),
        (_all({"field": "complaints", "operator": "gte", "value": 3}), {"Bo"}),
        (_all({"field": "repeat_buyer", "operator": "is", "value": True}), {"Anna"}),
        (_all({"field": "birth_date", "operator": "before", "value": "2000-01-01"}), {"Anna"}),
        (_all({"field": "last_purchase_at", "operator": "within_days", "value": 30}), {"Anna"}),
        (_all({"field": "purchased", "operator": "yes", "value": {"category": "Tea"}}), {"Anna"}),
        (
            _all({"field": "purchased", "operator": "no",
                  "value": {"since": (NOW - datetime.timedelta(days=365)).date().isoformat()}}),
            {"Bo", "Cy"},
        ),
        (_all({"field": "purchased", "operator": "yes", "value": {"min_amount": 100}}), {"Anna"}),
        (_all({"field": "interacted", "operator": "yes", "value": {"kind": "visit"}}), {"Cy"}),
        (_all({"field": "consent", "operator": "given", "value": "email"}), {"Anna"}),
        (
            {"match": "any", "rules": [
                {"field": "consent", "operator": "given", "value": "sms"},
                _all({"field": "city", "operator": "contains", "value": "上海"},
                     {"field": "orders", "operator": "eq", "value": 0}),
            ]},
            {"Bo", "Cy"},
        ),
    ],
)  # fmt: skip
def test_each_kind_of_condition_selects_the_right_customers(people, rules, expected):
    assert _names(rules) == expected


def test_the_tag_condition(people):
    vip = people["vip"].pk
    assert _names(_all({"field": "tag", "operator": "has", "value": vip})) == {"Anna"}
    assert _names(_all({"field": "tag", "operator": "has_not", "value": vip})) == {"Bo", "Cy"}


@pytest.mark.parametrize(
    "rules",
    [
        "DROP TABLE",
        {"match": "some", "rules": []},
        _all({"field": "password", "operator": "is", "value": "x"}),
        _all({"field": "city", "operator": "regex", "value": ".*"}),
        _all({"field": "city", "operator": "is", "value": "x", "sql": "1=1"}),
        _all({"field": "orders", "operator": "gt", "value": "many"}),
        _all({"field": "gender", "operator": "is", "value": "robot"}),
        _all({"field": "purchased", "operator": "yes", "value": {"where": "1=1"}}),
        _all({"field": ["city"], "operator": "is", "value": "x"}),
        _all({"field": "purchased", "operator": "yes", "value": ["Tea"]}),
        _all({"field": "interacted", "operator": "yes", "value": "visit"}),
        _all({"field": "last_purchase_at", "operator": "within_days", "value": float("inf")}),
        _all({"field": "tag", "operator": "has", "value": float("inf")}),
        _all({"field": "tag", "operator": "has", "value": 999_999}),
        _all({"field": "tag", "operator": "has", "value": True}),
        _all({"field": "revenue", "operator": "gt", "value": "NaN"}),
        _all({"field": "orders", "operator": "lt", "value": 1.5}),
        _all({"field": "orders", "operator": "gt", "value": 10**30}),
        _all({"field": "revenue", "operator": "between", "value": "12"}),
        _all({"field": "city", "operator": "in", "value": ["x"] * 1001}),
        _all({"field": "city", "operator": "is", "value": 5}),
        _all({"field": "city", "operator": "is", "value": ""}),
        _all({"field": "company_name", "operator": "contains", "value": "  "}),
        _all({"field": "city", "operator": "in", "value": ["上海", ""]}),
        {"match": "all", "rules": []},
        {"match": "any", "rules": [{"match": "all", "rules": []}]},
        _all(_all(_all(_all(_all({"field": "city", "operator": "is_empty"}))))),
    ],
)
def test_rules_outside_the_vocabulary_are_refused_with_a_reason(rules):
    with pytest.raises(ValidationError) as refused:
        validate(rules)
    assert refused.value.messages


def test_a_dynamic_segment_refreshes_and_keeps_its_size_history(people, analyst_user):
    segment = save_segment(
        actor=analyst_user,
        name="Shanghai",
        kind=SegmentKind.DYNAMIC,
        rules=_all({"field": "city", "operator": "contains", "value": "上海"}),
    )
    segment = refresh_segment(segment)
    assert segment.size == 2
    CustomerFactory(name="Dee", city="上海")
    segment = refresh_segment(segment)
    assert set(segment.members.values_list("name", flat=True)) == {"Anna", "Cy", "Dee"}
    assert list(SegmentSize.objects.filter(segment=segment).values_list("size", flat=True)) == [
        3,
        2,
    ]
    assert AuditEvent.objects.filter(action="segment.save").exists()


def test_a_static_list_keeps_its_members_through_refreshes(people, analyst_user):
    listed = save_segment(actor=analyst_user, name="Fair leads", kind=SegmentKind.STATIC)
    SegmentMember.objects.create(segment=listed, customer=Customer.objects.get(name="Bo"))
    refresh_segments()
    assert list(listed.members.values_list("name", flat=True)) == ["Bo"]


def test_ready_made_segments_and_the_command(people, capsys):
    ensure_ready_made_segments()
    ensure_ready_made_segments()  # idempotent
    assert Segment.objects.filter(key__gt="").count() == len(READY_MADE)
    call_command("refresh_segments")
    complainers = Segment.objects.get(key="frequent_complainers")
    assert set(complainers.members.values_list("name", flat=True)) == {"Bo"}
    churned = Segment.objects.get(key="churned")
    assert set(churned.members.values_list("name", flat=True)) == {"Bo"}
    call_command("refresh_segments", "Frequent complainers")
    assert "Frequent complainers" in capsys.readouterr().out


def test_groups_may_nest_four_deep():
    rules = _all(_all(_all(_all({"field": "city", "operator": "is_empty"}))))
    assert validate(rules) == rules


def test_every_accepted_rule_compiles(people):
    """Whatever validate() accepts, the compiler turns into SQL."""
    samples = {
        "text": ("x", ["x", "y"]),
        "number": (3, [1, 5]),
        "date": ("2024-01-01", ["2024-01-01", "2024-12-31"], 30),
        "boolean": (True,),
        "tag": (people["vip"].pk,),
        "purchase": ({}, {"category": "Tea", "since": "2024-01-01", "min_amount": 10}),
        "interaction": ({}, {"kind": "visit", "until": "2030-01-01"}),
        "consent": ("email",),
        "open_deal": ({},),
        "closed_deal": ({}, {"since": "2024-01-01", "days": 30}),
    }
    compiled = 0
    for name, field in FIELDS.items():
        values = samples.get(field.kind) or (field.values[0], list(field.values[:2]))
        for operator in OPERATORS[field.kind]:
            for value in values:
                rules = _all({"field": name, "operator": operator, "value": value})
                try:
                    validate(rules)
                except ValidationError:
                    continue
                assert "SELECT" in str(matching_customers(rules).values("pk").query)
                compiled += 1
    assert compiled > 60


def test_a_segment_whose_stored_rules_broke_does_not_stop_the_others(people, analyst_user):
    broken = save_segment(
        actor=analyst_user,
        name="Broken",
        rules=_all({"field": "city", "operator": "is", "value": "上海"}),
    )
    Segment.objects.filter(pk=broken.pk).update(rules={"match": "all", "rules": []})
    healthy = save_segment(
        actor=analyst_user,
        name="Healthy",
        rules=_all({"field": "consent", "operator": "given", "value": "sms"}),
    )
    refreshed = refresh_segments()
    assert [segment.name for segment in refreshed] == ["Healthy"]
    assert set(healthy.members.values_list("name", flat=True)) == {"Bo"}
    with pytest.raises(ValidationError):
        save_segment(actor=analyst_user, name="No rules", kind=SegmentKind.DYNAMIC)


def test_a_ready_made_name_already_taken_gets_its_key(people, analyst_user):
    save_segment(actor=analyst_user, name="At risk", kind=SegmentKind.STATIC)
    ensure_ready_made_segments()
    assert Segment.objects.get(key="at_risk").name == "At risk (at_risk)"


@pytest.mark.parametrize("value", ["上海", "上海市", "Shanghai", "SHANGHAI shi"])
def test_a_place_rule_selects_the_same_customers_however_the_place_is_written(value):
    CustomerFactory(name="Chen", city="上海")
    CustomerFactory(name="Anna", city="shanghai")
    CustomerFactory(name="Wang", city="北京")
    for field in ("city", "province"):
        assert _names(_all({"field": field, "operator": "is", "value": value})) == {
            "Chen",
            "Anna",
        }
        assert _names(_all({"field": field, "operator": "is_not", "value": value})) == {"Wang"}
        rule = {"field": field, "operator": "in", "value": [value, "Beijing"]}
        assert _names(_all(rule)) == {"Chen", "Anna", "Wang"}


def test_the_builder_suggests_the_places_customers_have_most_common_first():
    cache.clear()
    for city in ("上海", "Shanghai", "北京", "Shenzhen"):
        CustomerFactory(city=city)
    places = builder_vocabulary()["places"]
    assert places["city"][:1] == ["上海市"]
    assert set(places["city"]) == {"上海市", "北京市", "深圳市"}
    assert set(places["province"]) == {"上海市", "北京市", "广东省"}
