"""Custom fields in segments (analytics/segments/vocabulary.py segment_fields, compilation.py):
every ordinary field is a rule's subject of its kind, selecting what a plain Python filter over
the same customers would; personal and sensitive fields never are; rules read in words."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from analytics.segments.compilation import matching_customers
from analytics.segments.description import describe_rules
from analytics.segments.validation import validate
from analytics.segments.vocabulary import builder_vocabulary
from customers import services
from customers.custom_fields.models import FieldType, Sensitivity
from tests.customers.test_custom_fields import define_field

pytestmark = pytest.mark.django_db


@pytest.fixture
def members(admin_user_role, sales_user):
    admin = admin_user_role
    define_field(admin, FieldType.CHOICE, label="Membership level", label_zh="会员等级")
    define_field(admin, FieldType.CHOICES, label="Interests")
    define_field(admin, FieldType.YES_NO, label="Club member")
    define_field(admin, FieldType.NUMBER, label="Points")
    define_field(admin, FieldType.DATE, label="Member since")
    define_field(admin, FieldType.TEXT, label="Store")
    define_field(admin, FieldType.USER, label="Referred by")
    define_field(admin, FieldType.TEXT, label="WeChat id", sensitivity=Sensitivity.PERSONAL)
    define_field(admin, FieldType.TEXT, label="Health", sensitivity=Sensitivity.SENSITIVE)
    values = {
        "甲": {
            "membership_level": "Gold",
            "interests": "Gold, Silver",
            "club_member": "yes",
            "points": "1200",
            "member_since": datetime.date.today().isoformat(),
            "store": "Shanghai Nanjing Road",
            "referred_by": sales_user.username,
        },
        "乙": {
            "membership_level": "Silver",
            "interests": "Silver",
            "club_member": "no",
            "points": "80",
            "member_since": "2019-06-01",
            "store": "Beijing Sanlitun",
        },
        "丙": {},
    }
    for name, custom in values.items():
        services.create_customer(actor=admin, name=name, custom=custom)


def _all(*conditions) -> dict:
    return {"match": "all", "rules": list(conditions)}


def _rule(field, operator, value=None) -> dict:
    return {"field": f"custom.{field}", "operator": operator, "value": value}


def _names(*conditions) -> set[str]:
    return set(matching_customers(validate(_all(*conditions))).values_list("name", flat=True))


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (_rule("membership_level", "is", "gold"), {"甲"}),
        (_rule("membership_level", "is_not", "gold"), {"乙", "丙"}),
        (_rule("membership_level", "in", ["gold", "silver"]), {"甲", "乙"}),
        (_rule("interests", "has", "silver"), {"甲", "乙"}),
        (_rule("interests", "has_not", "gold"), {"乙", "丙"}),
        (_rule("interests", "is_empty"), {"丙"}),
        (_rule("club_member", "is", False), {"乙"}),
        (_rule("points", "gte", 100), {"甲"}),
        (_rule("points", "between", [50, 100]), {"乙"}),  # as numbers, not as text
        (_rule("points", "is_empty"), {"丙"}),
        (_rule("member_since", "before", "2020-01-01"), {"乙"}),
        (_rule("member_since", "within_days", 30), {"甲"}),
        (_rule("store", "contains", "nanjing"), {"甲"}),
        (_rule("store", "is", "Beijing Sanlitun"), {"乙"}),
        (_rule("store", "is_not_empty"), {"甲", "乙"}),
    ],
)
def test_each_kind_of_custom_rule_selects_the_right_customers(members, condition, expected):
    assert _names(condition) == expected


def test_a_colleague_rule_and_rules_in_words(members, sales_user):
    assert _names(_rule("referred_by", "is", str(sales_user.pk))) == {"甲"}
    rules = validate(_all(_rule("membership_level", "is", "gold"), _rule("points", "gte", 100)))
    assert describe_rules(rules) == "Membership level is Gold and Points ≥ 100"


def test_personal_and_sensitive_fields_are_no_rules_subject(members):
    for field in ("wechat_id", "health"):
        with pytest.raises(ValidationError, match="unknown field"):
            validate(_all(_rule(field, "is", "x")))
    offered = {field["name"] for field in builder_vocabulary()["fields"]}
    assert {"custom.membership_level", "custom.interests", "custom.points"} <= offered
    assert not {"custom.wechat_id", "custom.health"} & offered


def test_a_value_the_field_cannot_hold_is_refused(members):
    with pytest.raises(ValidationError, match="does not fit"):
        validate(_all(_rule("membership_level", "is", "platinum")))
    with pytest.raises(ValidationError, match="does not fit"):
        validate(_all(_rule("points", "gte", "many")))
