"""The demo's deals: a few dozen across the default pipeline's stages for the demo salesperson's
customers, written through the deal services so that
the won ones have their purchase and everything is audited like real work."""

from __future__ import annotations

import datetime
import random
from decimal import Decimal
from typing import Any

from customers.models import Customer, LifecycleStage
from interactions.models import Product
from sales.deals import services
from sales.models import Stage

TITLES = [
    "门店货架更新",
    "年度办公用品采购",
    "Spring collection order",
    "会员礼品定制",
    "New branch fit-out",
    "员工福利团购",
    "Replacement printers",
    "节日礼盒批量订购",
    "Kitchen equipment upgrade",
    "会议室家具",
]
# (stage name, how many deals): the open stages thin out towards the close, a few are won or
# lost.
SPREAD = [
    ("Lead", 9),
    ("Qualified", 8),
    ("Proposal", 7),
    ("Negotiation", 5),
    ("Won", 5),
    ("Lost", 3),
]
LOST_REASONS = ["Went with a cheaper supplier", "项目预算取消", "No decision before year end"]


def create_demo_deals(*, sales: Any, seed: int, now: datetime.datetime) -> int:
    """Create the demo deals; returns how many. Needs the demo customers and products."""
    rng = random.Random(seed)  # noqa: S311  (a repeatable demo, not a secret)
    customers = list(Customer.objects.filter(owner=sales).order_by("pk")[:40])
    # A won deal records a purchase: it goes to repeat customers, whose stage that keeps true.
    repeat_buyers = list(
        Customer.objects.filter(owner=sales, lifecycle_stage=LifecycleStage.REPEAT).order_by("pk")[
            :10
        ]
    )
    products = list(Product.objects.filter(is_active=True).order_by("pk")[:30])
    if not customers or not products:
        return 0
    stages = {stage.name: stage for stage in Stage.objects.filter(pipeline__is_default=True)}
    created = 0
    for stage_name, count in SPREAD:
        for _ in range(count):
            won = stages[stage_name].kind == "won" and repeat_buyers
            customer = rng.choice(repeat_buyers if won else customers)
            product = rng.choice(products)
            quantity = Decimal(rng.randint(1, 20))
            close = now.date() + datetime.timedelta(days=rng.randint(-20, 90))
            deal = services.create_deal(
                actor=sales,
                customer=customer,
                title=rng.choice(TITLES),
                expected_close_date=close,
                owner=sales,
                lines=[{"product": product, "quantity": quantity, "unit_price": product.price}],
            )
            stage = stages[stage_name]
            if stage.kind == "won":
                services.win_deal(
                    actor=sales, deal=deal, channel="wholesale", record_purchase=bool(won)
                )
            elif stage.kind == "lost":
                services.move_deal_to_stage(
                    actor=sales, deal=deal, stage=stage, lost_reason=rng.choice(LOST_REASONS)
                )
            elif stage_name != "Lead":
                services.move_deal_to_stage(actor=sales, deal=deal, stage=stage)
            created += 1
    return created
