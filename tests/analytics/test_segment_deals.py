"""Segment rules on deals: "has an open deal (in stage X)", "won / lost a deal (in a period)":
who they select, how they read in both languages, and what validation refuses."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from analytics.segments.compilation import matching_customers
from analytics.segments.description import describe_rules
from analytics.segments.validation import validate
from analytics.segments.vocabulary import builder_vocabulary
from sales.models import Deal, Pipeline, Stage, StageKind
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def _all(*conditions) -> dict:
    return {"match": "all", "rules": list(conditions)}


def _names(rules) -> set[str]:
    return set(matching_customers(validate(rules)).values_list("name", flat=True))


def _stage(name: str) -> Stage:
    return Stage.objects.get(pipeline__is_default=True, name=name)


def deal(customer, stage: Stage, **fields) -> Deal:
    closed = fields.get("won_at") or fields.get("lost_at")
    return Deal.objects.create(
        customer=customer,
        title=f"{customer.name} deal",
        pipeline=stage.pipeline,
        stage=stage,
        amount=100,
        closed_at=closed,
        **fields,
    )


@pytest.fixture
def people():
    anna, bo, cy, di = (CustomerFactory(name=name) for name in ("Anna", "Bo", "Cy", "Di"))
    deal(anna, _stage("Proposal"))
    deal(bo, _stage("Lead"))
    deal(bo, _stage("Won"), won_at=NOW - datetime.timedelta(days=5))
    deal(cy, _stage("Won"), won_at=NOW - datetime.timedelta(days=200))
    deal(di, _stage("Lost"), lost_at=NOW - datetime.timedelta(days=3))
    return {"anna": anna, "bo": bo, "cy": cy, "di": di}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"field": "open_deal", "operator": "has"}, {"Anna", "Bo"}),
        ({"field": "open_deal", "operator": "has", "value": {}}, {"Anna", "Bo"}),
        ({"field": "open_deal", "operator": "has_not"}, {"Cy", "Di"}),
        ({"field": "deal_won", "operator": "yes"}, {"Bo", "Cy"}),
        ({"field": "deal_won", "operator": "yes", "value": {"days": 30}}, {"Bo"}),
        ({"field": "deal_won", "operator": "no", "value": {"days": 30}}, {"Anna", "Cy", "Di"}),
        ({"field": "deal_lost", "operator": "yes", "value": {"days": 7}}, {"Di"}),
    ],
)
def test_deal_conditions_select_the_right_customers(people, condition, expected):
    assert _names(_all(condition)) == expected


def test_an_open_deal_in_one_stage(people):
    proposal = _stage("Proposal").pk
    rule = {"field": "open_deal", "operator": "has", "value": {"stage": proposal}}
    assert _names(_all(rule)) == {"Anna"}
    # A won deal is not open, even in a stage whose kind says otherwise.
    deal(people["cy"], _stage("Proposal"), won_at=NOW)
    assert _names(_all(rule)) == {"Anna"}


def test_won_between_dates(people):
    today = timezone.localdate()
    since = (today - datetime.timedelta(days=250)).isoformat()
    until = (today - datetime.timedelta(days=100)).isoformat()
    rule = {"field": "deal_won", "operator": "yes", "value": {"since": since, "until": until}}
    assert _names(_all(rule)) == {"Cy"}


def test_deal_conditions_in_words_in_both_languages(people):
    proposal = _stage("Proposal").pk
    rules = _all(
        {"field": "open_deal", "operator": "has", "value": {"stage": proposal}},
        {"field": "deal_won", "operator": "yes", "value": {"days": 30}},
        {"field": "deal_lost", "operator": "no", "value": {"since": "2026-01-01"}},
    )
    with translation.override("en"):
        assert describe_rules(validate(rules)) == (
            "has an open deal (in stage Sales › Proposal) and won a deal at least once "
            "(in the last 30 days) and lost a deal never (since 2026-01-01)"
        )
    with translation.override("zh-hans"):
        words = describe_rules(validate(rules))
    assert "销售 › 方案报价" in words
    assert "has an open deal" not in words
    assert "won a deal" not in words


@pytest.mark.parametrize(
    "condition",
    [
        {"field": "open_deal", "operator": "yes"},
        {"field": "open_deal", "operator": "has", "value": {"stage": "Proposal"}},
        {"field": "open_deal", "operator": "has", "value": {"pipeline": 1}},
        {"field": "deal_won", "operator": "yes", "value": {"days": -1}},
        {"field": "deal_won", "operator": "yes", "value": {"days": 1.5}},
        {"field": "deal_lost", "operator": "no", "value": {"since": "yesterday"}},
    ],
)
def test_deal_conditions_that_do_not_fit_are_refused(condition):
    with pytest.raises(ValidationError):
        validate(_all(condition))


def test_a_stage_that_no_longer_exists_is_named_in_the_refusal():
    pipeline = Pipeline.objects.create(name="Partners")
    gone = Stage.objects.create(pipeline=pipeline, name="Intro", kind=StageKind.OPEN)
    gone_id = gone.pk
    gone.delete()
    with translation.override("en"), pytest.raises(ValidationError) as refusal:
        validate(_all({"field": "open_deal", "operator": "has", "value": {"stage": gone_id}}))
    assert refusal.value.messages == ["/1: that pipeline stage no longer exists."]


def test_the_builder_offers_the_open_stages_of_active_pipelines():
    with translation.override("en"):
        offered = dict(builder_vocabulary()["open_stages"])
    assert list(offered.values()) == [
        "Sales › Lead",
        "Sales › Qualified",
        "Sales › Proposal",
        "Sales › Negotiation",
    ]
