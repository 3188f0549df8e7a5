"""Interactions (visits, calls, complaints, feedback, notes; in Chinese or English, tied to a
purchase or not) and the follow-ups assigned to staff."""

from __future__ import annotations

import datetime
import random
from collections.abc import Iterable, Iterator, Sequence

from demo.data.draws import _INTERACTIONS, DAY, _at_realistic_hour, _clamp, _seed_of, _Weighted
from demo.data.people import _cities
from demo.data.purchases import _ONLINE, _ORDER_SYSTEM, _Purchase, _purchases
from demo.data.scenario import CustomerPlan, FollowUpRow, InteractionRow, Scenario, _offset
from interactions.models import InteractionChannel, InteractionKind, TransactionStatus

# --- Interaction texts --------------------------------------------------------------------------

# Placeholders: {product}, {order}, {n}, {amount}, {days}, {store}.
# fmt: off
_TEXTS = {
    InteractionKind.VISIT: {
        "zh": (("到店", "到{store}看了{product}。"),
               ("门店体验", "在{store}试用{product}，店员做了讲解。")),
        "en": (("Store visit", "Came to the {store} store and looked at {product}."),
               ("In-store demo", "Tried {product} at the {store} store.")),
    },
    InteractionKind.BROWSE: {
        "zh": (("浏览：{product}", ""),), "en": (("Viewed {product}", ""),),
    },
    InteractionKind.ADD_TO_CART: {
        "zh": (("加入购物车：{product}", ""),), "en": (("Added {product} to cart", ""),),
    },
    InteractionKind.PURCHASE: {
        "zh": (("下单 {order}", "{product}等{n}件商品，合计¥{amount}。"),),
        "en": (("Order {order}", "{n} item(s) incl. {product}, total ¥{amount}."),),
    },
    InteractionKind.CONSULT: {
        "zh": (("咨询：{product}", "询问{product}的规格和价格，已发送资料。"),
               ("咨询：会员权益", "询问会员积分和生日优惠。"),
               ("咨询：售后政策", "询问七天无理由退货的条件。"),
               ("咨询：批量采购", "询问{product}的批量采购价格。")),
        "en": (("Question: {product}", "Asked about specs and price of {product}; sent details."),
               ("Question: membership", "Asked about loyalty points and birthday offers."),
               ("Question: returns", "Asked about the 7-day no-reason return policy."),
               ("Question: bulk order", "Asked for a volume price on {product}.")),
    },
    InteractionKind.COMPLAINT: {
        "zh": (("投诉：物流太慢", "下单{days}天还没收到{product}，要求尽快发货。"),
               ("投诉：商品破损", "收到的{product}外包装破损，要求换货。"),
               ("投诉：服务态度", "反映门店店员态度不好，已致歉并记录。"),
               ("投诉：发票问题", "发票抬头开错，需要重新开具。"),
               ("投诉：质量问题", "{product}使用一周后出现故障。"),
               ("投诉：退款未到账", "退款申请已提交{days}天，仍未到账。")),
        "en": (("Complaint: late delivery", "Ordered {product} {days} days ago; not delivered."),
               ("Complaint: damaged item", "{product} arrived damaged; asks for a replacement."),
               ("Complaint: staff attitude", "Unhappy with how store staff treated them."),
               ("Complaint: wrong invoice", "Invoice issued to the wrong name; needs reissuing."),
               ("Complaint: defect", "{product} stopped working after a week."),
               ("Complaint: refund not received", "Refund requested {days} days ago; not paid.")),
    },
    InteractionKind.CALL: {
        "zh": (("电话回访", "回访{product}的使用情况，客户反馈良好。"),
               ("活动邀约", "邀请参加周末门店活动，客户表示有兴趣。"),
               ("未接通", "电话未接通，稍后再联系。"),
               ("报价跟进", "跟进{product}报价，客户还在比较。")),
        "en": (("Follow-up call", "Checked how {product} is working out; all good."),
               ("Event invitation", "Invited to the weekend in-store event; interested."),
               ("No answer", "No answer; will try again later."),
               ("Quote follow-up", "Followed up on the {product} quote; still comparing.")),
    },
    InteractionKind.EMAIL: {
        "zh": (("发送报价单", "已发送{product}报价单，有效期30天。"),
               ("会员活动通知", "发送会员专享活动邮件。"),
               ("订单确认", "发送订单确认邮件。")),
        "en": (("Quote sent", "Sent a quote for {product}, valid for 30 days."),
               ("Member offer", "Sent the members-only offer."),
               ("Order confirmation", "Sent the order confirmation.")),
    },
    InteractionKind.MEETING: {
        "zh": (("上门拜访", "拜访客户，介绍新品{product}，采购负责人参加。"),
               ("年度采购洽谈", "讨论明年采购计划和价格。"),
               ("产品演示", "现场演示{product}。")),
        "en": (("Site visit", "Visited the client to present {product}; their buyer attended."),
               ("Annual purchasing review", "Discussed next year's volumes and pricing."),
               ("Product demo", "Demonstrated {product} on site.")),
    },
    InteractionKind.TICKET: {
        "zh": (("售后工单：维修", "{product}需要维修，已安排上门。"),
               ("售后工单：换货", "已安排{product}换货。"),
               ("售后工单：安装", "预约{product}安装服务。")),
        "en": (("Service ticket: repair", "{product} needs repair; technician booked."),
               ("Service ticket: exchange", "Exchange arranged for {product}."),
               ("Service ticket: installation", "Installation of {product} booked.")),
    },
    InteractionKind.FEEDBACK: {
        "zh": (("好评", "对{product}很满意，会推荐给朋友。"), ("服务反馈", "店员讲解很专业。"),
               ("产品建议", "希望{product}有更多颜色可选。"), ("满意度回访", "对送货速度满意。")),
        "en": (("Positive review", "Very happy with {product}; will recommend it."),
               ("Service feedback", "Staff explained everything clearly."),
               ("Product suggestion", "Would like {product} in more colours."),
               ("Satisfaction survey", "Happy with the delivery speed.")),
    },
    InteractionKind.NOTE: {
        "zh": (("备注", "偏好周末下午到店。"), ("备注", "对价格比较敏感，关注促销。"),
               ("备注", "本月生日，可发送优惠券。"), ("备注", "希望通过微信联系。")),
        "en": (("Note", "Prefers visiting on weekend afternoons."),
               ("Note", "Price-sensitive; watches promotions."),
               ("Note", "Birthday this month; send a voucher."),
               ("Note", "Prefers to be contacted on WeChat.")),
    },
}

_FOLLOW_UP_TITLES = {
    "zh": ("回访：确认收货满意度", "发送新品目录", "跟进报价", "预约上门安装", "邀请参加会员日",
           "处理投诉回复", "确认续订意向", "生日关怀电话"),
    "en": ("Check satisfaction with the delivery", "Send the new catalogue",
           "Follow up on the quote",
           "Book the installation visit", "Invite to the members' day", "Reply to the complaint",
           "Confirm renewal", "Birthday call"),
}
# fmt: on

# Interactions not tied to a purchase: (kind, weight for persons, weight for companies).
_FREE_KINDS = (
    (InteractionKind.BROWSE, 24, 4),
    (InteractionKind.VISIT, 10, 3),
    (InteractionKind.ADD_TO_CART, 8, 1),
    (InteractionKind.CONSULT, 12, 10),
    (InteractionKind.CALL, 10, 25),
    (InteractionKind.EMAIL, 6, 20),
    (InteractionKind.MEETING, 1, 15),
    (InteractionKind.COMPLAINT, 4, 3),
    (InteractionKind.TICKET, 4, 4),
    (InteractionKind.FEEDBACK, 7, 3),
    (InteractionKind.NOTE, 6, 10),
    (InteractionKind.PURCHASE, 0, 0),
)
_FREE_KIND = {
    "person": _Weighted((kind, person) for kind, person, _company in _FREE_KINDS),
    "company": _Weighted((kind, company) for kind, _person, company in _FREE_KINDS),
}
_KIND_CHANNELS = {
    InteractionKind.VISIT: _Weighted(((InteractionChannel.IN_PERSON, 1),)),
    InteractionKind.BROWSE: _Weighted(
        ((InteractionChannel.WEBSITE, 4), (InteractionChannel.APP, 6))),
    InteractionKind.ADD_TO_CART: _Weighted(
        ((InteractionChannel.WEBSITE, 4), (InteractionChannel.APP, 6))),
    InteractionKind.CONSULT: _Weighted(
        ((InteractionChannel.WECHAT, 5), (InteractionChannel.PHONE, 3),
         (InteractionChannel.IN_PERSON, 2), (InteractionChannel.WEBSITE, 2))),
    InteractionKind.COMPLAINT: _Weighted(
        ((InteractionChannel.PHONE, 5), (InteractionChannel.WECHAT, 3),
         (InteractionChannel.EMAIL, 1), (InteractionChannel.APP, 1))),
    InteractionKind.CALL: _Weighted(((InteractionChannel.PHONE, 1),)),
    InteractionKind.EMAIL: _Weighted(((InteractionChannel.EMAIL, 1),)),
    InteractionKind.MEETING: _Weighted(((InteractionChannel.IN_PERSON, 1),)),
    InteractionKind.TICKET: _Weighted(
        ((InteractionChannel.PHONE, 4), (InteractionChannel.APP, 3),
         (InteractionChannel.WECHAT, 3))),
    InteractionKind.FEEDBACK: _Weighted(
        ((InteractionChannel.APP, 4), (InteractionChannel.WECHAT, 3),
         (InteractionChannel.SMS, 1), (InteractionChannel.WEBSITE, 2))),
    InteractionKind.NOTE: _Weighted((("", 1),)),
}  # fmt: skip
# Logged by staff (so they carry a staff member), as opposed to tracked from the shop.
_STAFF_KINDS = frozenset(
    {
        InteractionKind.CONSULT,
        InteractionKind.COMPLAINT,
        InteractionKind.CALL,
        InteractionKind.EMAIL,
        InteractionKind.MEETING,
        InteractionKind.TICKET,
        InteractionKind.NOTE,
    }
)
_SERVICE_KINDS = frozenset(
    {InteractionKind.COMPLAINT, InteractionKind.TICKET, InteractionKind.FEEDBACK}
)
_COMPLAINT_SCORE = _Weighted(((1, 40), (2, 35), (3, 25)))
_FEEDBACK_SCORE = _Weighted(((3, 20), (4, 35), (5, 45)))


def interactions(
    scenario: Scenario,
    plans: Iterable[CustomerPlan],
    *,
    start_id: int,
    contact_start_id: int | None = None,
) -> Iterator[InteractionRow]:
    """About ``plan.n_interactions`` interactions per customer, oldest first per customer,
    ids consecutive from ``start_id``.

    Online purchases are preceded by browsing and add-to-cart events and partly mirrored by a
    "purchase" interaction carrying the order number; the rest are consultations, calls,
    emails, meetings (mostly companies), tickets, complaints (satisfaction 1-3), feedback
    (3-5) and notes, in the customer's language, between joining and last activity; the last
    activity is exactly ``last_activity_at`` when it was not a purchase. With
    ``contact_start_id`` (the start id given to :func:`contacts` for the same plans), staff
    interactions with companies name one of their contacts.
    """
    rng = random.Random()  # noqa: S311  (synthetic data, not security)
    tz = scenario.now.tzinfo
    now_ts = scenario.now.timestamp()
    offset = _offset(scenario)
    fromts = datetime.datetime.fromtimestamp
    table = _cities()
    catalog = scenario.catalog
    next_id = start_id
    next_contact = contact_start_id
    for plan in plans:
        contact_base = next_contact
        if next_contact is not None:
            next_contact += plan.n_contacts
        if not plan.n_interactions or plan.last_ts is None:
            continue
        rng.seed(_seed_of(scenario.seed, plan.index, _INTERACTIONS))
        lang = plan.lang
        purchases = _purchases(scenario, plan)
        bought = [item for p in purchases for item, _q, _u in p.lines]
        store = (
            table.cities[plan.city_key].store
            if plan.city_key >= 0 and lang == "zh"
            else (table.cities[plan.city_key].name_en if plan.city_key >= 0 else "Shanghai")
        )
        events: list[tuple[float, str, _Purchase | None]] = []
        reserve_last = not plan.last_is_purchase
        budget = plan.n_interactions - reserve_last

        for purchase in purchases:
            if budget <= 0:
                break
            if purchase.status != TransactionStatus.PAID:
                continue
            ts = purchase.ts
            if purchase.channel in _ONLINE:
                if rng.random() < 0.5 and budget > 0:
                    earlier = ts - rng.uniform(300, 3 * DAY)
                    events.append((max(earlier, plan.created_ts), InteractionKind.BROWSE, purchase))
                    budget -= 1
                if rng.random() < 0.35 and budget > 0:
                    earlier = ts - rng.uniform(60, 7200)
                    events.append(
                        (max(earlier, plan.created_ts), InteractionKind.ADD_TO_CART, purchase)
                    )
                    budget -= 1
            elif rng.random() < 0.25 and budget > 0:
                earlier = ts - rng.uniform(0, 1800)
                events.append((max(earlier, plan.created_ts), InteractionKind.VISIT, purchase))
                budget -= 1
            if rng.random() < 0.5 and budget > 0:
                events.append((ts, InteractionKind.PURCHASE, purchase))
                budget -= 1

        free_kind = _FREE_KIND[plan.kind]
        span = plan.last_ts - plan.created_ts
        for _ in range(max(budget, 0)):
            ts = plan.created_ts + span * rng.random()
            ts = _clamp(_at_realistic_hour(rng, ts, offset), plan.created_ts, plan.last_ts)
            events.append((ts, free_kind(rng), None))
        if reserve_last:
            events.append((plan.last_ts, free_kind(rng), None))
        events.sort(key=lambda event: event[0])

        for ts, kind, purchase in events:
            # Indexing with random() instead of rng.choice: this loop runs ten million times.
            texts = _TEXTS.get(kind, _TEXTS[InteractionKind.NOTE])[lang]
            subject, body = texts[int(rng.random() * len(texts))]
            if purchase is not None:
                item = purchase.lines[0][0]
            elif bought and rng.random() < 0.7:
                item = bought[int(rng.random() * len(bought))]
            else:
                item = catalog[int(rng.random() * len(catalog))]
            values = {
                "product": item.name_zh if lang == "zh" else item.name_en,
                "store": store,
                "days": 3 + int(rng.random() * 13),
                "order": "",
                "n": 1,
                "amount": "",
            }
            if purchase is not None:
                values["order"] = purchase.ref
                values["n"] = sum(q for _i, q, _u in purchase.lines)
                values["amount"] = f"{purchase.amount_cents / 100:,.2f}"
            satisfaction = None
            if kind == InteractionKind.COMPLAINT:
                satisfaction = _COMPLAINT_SCORE(rng)
            elif kind == InteractionKind.FEEDBACK:
                satisfaction = _FEEDBACK_SCORE(rng)
            if kind == InteractionKind.PURCHASE:
                channel = (
                    InteractionChannel.APP
                    if purchase.channel in _ONLINE
                    else InteractionChannel.IN_PERSON
                )
            else:
                channel = _KIND_CHANNELS.get(kind, _KIND_CHANNELS[InteractionKind.NOTE])(rng)
            staff_id = None
            contact_id = None
            if kind in _STAFF_KINDS:
                if kind in _SERVICE_KINDS and scenario.service_staff:
                    staff_id = rng.choice(scenario.service_staff)
                elif plan.owner_id is not None:
                    staff_id = plan.owner_id
                elif scenario.sales_staff or scenario.service_staff:
                    staff_id = rng.choice(scenario.sales_staff or scenario.service_staff)
                if contact_base is not None and plan.n_contacts:
                    contact_id = contact_base + (
                        0 if rng.random() < 0.6 else rng.randrange(plan.n_contacts)
                    )
            elif kind == InteractionKind.VISIT and scenario.sales_staff and rng.random() < 0.5:
                staff_id = rng.choice(scenario.sales_staff)
            # Staff log calls and visits a little after they happen.
            logged_ts = min(ts + (rng.uniform(60, 7200) if staff_id else 1.0), now_ts)
            yield InteractionRow(
                id=next_id,
                customer_id=plan.id,
                contact_id=contact_id,
                kind=kind,
                channel=channel,
                occurred_at=fromts(ts, tz),
                subject=subject.format_map(values),
                body=body.format_map(values),
                satisfaction=satisfaction,
                staff_id=staff_id,
                # The purchase event carries its order's reference, unique per order system.
                source_system=_ORDER_SYSTEM[purchase.channel]
                if kind == InteractionKind.PURCHASE
                else "",
                external_ref=purchase.ref if kind == InteractionKind.PURCHASE else "",
                created_at=fromts(logged_ts, tz),
            )
            next_id += 1


def follow_ups(
    rng: random.Random,
    *,
    now: datetime.datetime,
    assignments: Sequence[tuple[int, Sequence[tuple[int, str]]]],
    count: int,
) -> Iterator[FollowUpRow]:
    """``count`` follow-ups spread round-robin over ``assignments`` = [(assignee id,
    [(customer id, lang), ...]), ...]: ~25% overdue, ~10% due today, ~45% due later, ~20%
    done. Customers are picked from the assignee's list; ``now`` must be timezone-aware."""
    if not assignments:
        return
    today_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for number in range(count):
        assignee, candidates = assignments[number % len(assignments)]
        if not candidates:
            continue
        customer_id, lang = rng.choice(candidates)
        roll = rng.random()
        done_at = None
        if roll < 0.25:
            due_at = now - datetime.timedelta(days=rng.uniform(1, 21))
        elif roll < 0.35:
            due_at = today_start + datetime.timedelta(hours=rng.uniform(9, 18))
        elif roll < 0.80:
            due_at = now + datetime.timedelta(days=rng.uniform(1, 30))
        else:
            due_at = now - datetime.timedelta(days=rng.uniform(1, 60))
            done_at = min(
                due_at + datetime.timedelta(hours=rng.uniform(-48, 72)),
                now - datetime.timedelta(minutes=rng.uniform(5, 600)),
            )
        due_at = due_at.replace(minute=rng.choice((0, 15, 30, 45)), second=0, microsecond=0)
        created_at = min(due_at - datetime.timedelta(days=rng.uniform(1, 14)), now)
        if done_at is not None:
            created_at = min(created_at, done_at)
        yield FollowUpRow(
            customer_id=customer_id,
            title=rng.choice(_FOLLOW_UP_TITLES[lang]),
            notes="",
            due_at=due_at,
            assignee_id=assignee,
            done_at=done_at,
            created_by_id=assignee if rng.random() < 0.7 else None,
            created_at=created_at,
        )
