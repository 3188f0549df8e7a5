"""The demo's custom fields: a few of each kind of record, as a shop would define them, defined
and filled through the services (so the settings page, the forms, the lists, the timeline and
the audit log show them as after real work)."""

from __future__ import annotations

import datetime
import random
from typing import Any

from customers import services as customer_services
from customers.custom_fields import services
from customers.custom_fields.models import FieldTarget, FieldType, Sensitivity
from customers.custom_fields.services import ChoiceSpec
from customers.models import Customer
from interactions.services import record_interaction
from sales.deals import services as deal_services
from sales.models import Deal

LEVELS = [ChoiceSpec("Bronze", "铜卡"), ChoiceSpec("Silver", "银卡"), ChoiceSpec("Gold", "金卡")]
SOURCES = [
    ChoiceSpec("Trade fair", "展会"),
    ChoiceSpec("Referral", "转介绍"),
    ChoiceSpec("Website", "官网"),
]
OUTCOMES = [
    ChoiceSpec("Resolved", "已解决"),
    ChoiceSpec("Follow-up needed", "待跟进"),
    ChoiceSpec("Escalated", "已升级"),
]
# (kind of record, settings): what save_field takes.
FIELDS: list[tuple[str, dict[str, Any]]] = [
    (
        FieldTarget.CUSTOMER,
        {
            "label_en": "Membership level",
            "label_zh": "会员等级",
            "type": FieldType.CHOICE,
            "choices": LEVELS,
            "listed": True,
        },
    ),
    (
        FieldTarget.CUSTOMER,
        {
            "label_en": "WeChat id",
            "label_zh": "微信号",
            "type": FieldType.TEXT,
            "sensitivity": Sensitivity.PERSONAL,
            "identifying": True,
        },
    ),
    (
        FieldTarget.CUSTOMER,
        {
            "label_en": "Shoe size",
            "label_zh": "鞋码",
            "type": FieldType.NUMBER,
            "decimals": 1,
            "group_en": "Preferences",
            "group_zh": "偏好",
        },
    ),
    (
        FieldTarget.DEAL,
        {
            "label_en": "Lead source",
            "label_zh": "线索来源",
            "type": FieldType.CHOICE,
            "choices": SOURCES,
            "listed": True,
        },
    ),
    (
        FieldTarget.DEAL,
        {"label_en": "Decision date", "label_zh": "决策日期", "type": FieldType.DATE},
    ),
    (
        FieldTarget.INTERACTION,
        {
            "label_en": "Outcome",
            "label_zh": "结果",
            "type": FieldType.CHOICE,
            "choices": OUTCOMES,
        },
    ),
]
# How many customers get values (the first ones), and how many calls are logged with an outcome.
FILLED_CUSTOMERS = 120
LOGGED_CALLS = 12


def create_demo_custom_fields(*, admin: Any, staff: Any, seed: int, now: Any) -> int:
    """Define the fields and fill them on some customers, every deal and a few new calls;
    returns how many fields were defined."""
    rng = random.Random(seed)  # noqa: S311  (a repeatable demo, not a secret)
    for target, settings in FIELDS:
        services.save_field(actor=admin, target=target, **settings)
    customers = list(Customer.objects.order_by("pk")[:FILLED_CUSTOMERS])
    for index, customer in enumerate(customers):
        custom: dict[str, Any] = {"membership_level": rng.choice(["Bronze", "Silver", "金卡"])}
        if index % 3 == 0:
            custom["wechat_id"] = f"wx_{customer.pk}{rng.randrange(100, 999)}"
        if index % 4 == 0:
            custom["shoe_size"] = str(rng.choice([36, 37, 38.5, 40, 42, 43.5]))
        customer_services.update_customer(actor=staff, customer=customer, custom=custom)
    for deal in Deal.objects.order_by("pk"):
        decision = now.date() + datetime.timedelta(days=rng.choice([7, 14, 30, 45]))
        deal_services.update_deal(
            actor=staff,
            deal=deal,
            custom={
                "lead_source": rng.choice(["Trade fair", "转介绍", "Website"]),
                "decision_date": decision.isoformat(),
            },
        )
    for customer in customers[:LOGGED_CALLS]:
        record_interaction(
            actor=staff,
            customer=customer,
            kind="call",
            subject="回访 / Follow-up call",
            occurred_at=now - datetime.timedelta(days=rng.choice([1, 2, 3, 5])),
            custom={"outcome": rng.choice(["Resolved", "待跟进", "Escalated"])},
        )
    return len(FIELDS)
