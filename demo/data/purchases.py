"""The product catalogue, each customer's purchases (re-derived from the history stream and kept
for the passes over one chunk of customers) and what follows from them: the value grade, the
lifecycle stage and its history, and the transactions with their lines."""

from __future__ import annotations

import bisect
import datetime
import math
import random
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

from customers.models import CustomerKind, LifecycleStage, SourceChannel, ValueGrade
from demo.data.draws import (
    _HISTORY,
    DAY,
    _at_realistic_hour,
    _cents,
    _clamp,
    _seed_of,
    _Weighted,
    _weighted_cached,
)
from demo.data.scenario import (
    CatalogItem,
    CustomerPlan,
    HistorySummary,
    LineRow,
    ProductRow,
    Scenario,
    TransactionRow,
    _offset,
)
from interactions.models import SalesChannel, TransactionStatus

# Stage rules shared with the writers' summaries: recency of the last paid purchase.
AT_RISK_AFTER_DAYS = 180
CHURNED_AFTER_DAYS = 365
# Spend (in yuan, paid transactions over the history) that earns each value grade.
GRADE_THRESHOLDS = ((20_000, ValueGrade.A), (5_000, ValueGrade.B), (1_000, ValueGrade.C))

# Products: (SKU prefix, category zh, category en, items of (zh, en, price in yuan)).
# fmt: off
_CATALOG = (
    ("DIG", "手机数码", "Phones & Gadgets", (
        ("无线蓝牙耳机", "Wireless Earbuds", 299),
        ("降噪头戴耳机", "Noise-Cancelling Headphones", 1299),
        ("智能手表", "Smart Watch", 1599), ("运动手环", "Fitness Band", 249),
        ("快充充电宝", "Fast-Charge Power Bank", 149), ("65W氮化镓充电器", "65W GaN Charger", 129),
        ("蓝牙音箱", "Bluetooth Speaker", 399), ("11英寸平板电脑", "11-inch Tablet", 2999))),
    ("APL", "家用电器", "Home Appliances", (
        ("空气炸锅", "Air Fryer", 459), ("扫地机器人", "Robot Vacuum", 2499),
        ("空气净化器", "Air Purifier", 1699), ("IH电饭煲", "IH Rice Cooker", 599),
        ("破壁料理机", "High-Speed Blender", 899), ("加湿器", "Humidifier", 259),
        ("高速吹风机", "High-Speed Hair Dryer", 399),
        ("台式洗碗机", "Countertop Dishwasher", 3999))),
    ("KIT", "厨房用品", "Kitchen", (
        ("不锈钢炒锅", "Stainless Steel Wok", 329), ("不粘煎锅", "Non-Stick Frying Pan", 199),
        ("刀具五件套", "5-Piece Knife Set", 459), ("保温杯", "Vacuum Flask", 129),
        ("陶瓷餐具套装", "Ceramic Dinnerware Set", 369),
        ("玻璃保鲜盒", "Glass Food Containers", 89),
        ("手冲咖啡壶", "Pour-Over Kettle", 219), ("竹砧板", "Bamboo Cutting Board", 69))),
    ("TEA", "茶叶冲饮", "Tea & Coffee", (
        ("西湖龙井 250g", "West Lake Longjing Tea 250g", 368),
        ("安溪铁观音 250g", "Anxi Tieguanyin 250g", 198),
        ("云南普洱茶饼 357g", "Yunnan Pu'er Cake 357g", 268),
        ("武夷大红袍 150g", "Wuyi Da Hong Pao 150g", 158),
        ("精品咖啡豆 500g", "Specialty Coffee Beans 500g", 128),
        ("挂耳咖啡 20包", "Drip Coffee Bags (20)", 69), ("功夫茶具套装", "Gongfu Tea Set", 499),
        ("花草茶礼盒", "Herbal Tea Gift Box", 139))),
    ("BEA", "个护美妆", "Beauty & Personal Care", (
        ("保湿面霜", "Moisturising Cream", 329), ("精华液 30ml", "Facial Serum 30ml", 499),
        ("防晒霜 SPF50", "Sunscreen SPF50", 159), ("氨基酸洗面奶", "Amino Acid Cleanser", 89),
        ("电动牙刷", "Electric Toothbrush", 299), ("香水 50ml", "Eau de Parfum 50ml", 699),
        ("补水面膜 10片", "Hydrating Sheet Masks (10)", 99),
        ("洗发水 500ml", "Shampoo 500ml", 79))),
    ("APP", "服饰鞋包", "Apparel & Bags", (
        ("美利奴羊毛衫", "Merino Wool Sweater", 599), ("轻薄羽绒服", "Light Down Jacket", 1299),
        ("纯棉T恤", "Cotton T-Shirt", 99), ("直筒牛仔裤", "Straight-Leg Jeans", 299),
        ("真丝围巾", "Silk Scarf", 399), ("通勤双肩包", "Commuter Backpack", 359),
        ("真皮钱包", "Leather Wallet", 269), ("缓震跑步鞋", "Cushioned Running Shoes", 699))),
    ("BAB", "母婴用品", "Mother & Baby", (
        ("轻便婴儿推车", "Lightweight Stroller", 1899), ("儿童安全座椅", "Child Car Seat", 1599),
        ("纸尿裤 L码 54片", "Diapers L (54)", 129),
        ("婴儿配方奶粉 800g", "Infant Formula 800g", 358),
        ("宽口奶瓶套装", "Wide-Neck Bottle Set", 159), ("儿童积木", "Building Blocks", 199),
        ("婴儿湿巾 10包", "Baby Wipes (10 packs)", 69), ("儿童绘本套装", "Picture Book Set", 149))),
    ("SPO", "运动户外", "Sports & Outdoors", (
        ("加厚瑜伽垫", "Thick Yoga Mat", 159), ("可调节哑铃", "Adjustable Dumbbells", 899),
        ("40L登山包", "40L Hiking Backpack", 499), ("双人露营帐篷", "2-Person Camping Tent", 799),
        ("运动水壶", "Sports Bottle", 59), ("羽毛球拍", "Badminton Racket", 329),
        ("家用跑步机", "Home Treadmill", 4599), ("骑行头盔", "Cycling Helmet", 299))),
    ("HOM", "家居家纺", "Home & Bedding", (
        ("乳胶枕", "Latex Pillow", 299), ("桑蚕丝被", "Mulberry Silk Duvet", 1699),
        ("纯棉四件套", "Cotton Bedding Set (4 pcs)", 499), ("香薰蜡烛", "Scented Candle", 129),
        ("折叠收纳箱", "Folding Storage Box", 79), ("护眼台灯", "LED Desk Lamp", 259),
        ("客厅地毯", "Living Room Rug", 599), ("纯棉浴巾", "Cotton Bath Towel", 89))),
    ("OFF", "办公文具", "Office & Stationery", (
        ("人体工学椅", "Ergonomic Chair", 1999), ("电动升降桌", "Electric Standing Desk", 2899),
        ("钢笔", "Fountain Pen", 268), ("A5笔记本 3本", "A5 Notebooks (3)", 49),
        ("A4复印纸 5包", "A4 Copy Paper (5 reams)", 129), ("文件柜", "Filing Cabinet", 899),
        ("显示器支架", "Monitor Arm", 299), ("无线键鼠套装", "Wireless Keyboard & Mouse", 249))),
)
# Discontinued products still appear in old orders; the catalogue marks them inactive.
_DISCONTINUED = frozenset({"DIG-006", "APL-006", "APP-003", "HOM-005"})
# Company customers buy for offices, canteens and gifts, not prams.
_B2B_CATEGORIES = frozenset({"OFF", "KIT", "TEA", "APL", "DIG", "HOM"})
# fmt: on

# How customers who came in through each channel go on to buy.
_SALES_CHANNELS = {
    SourceChannel.STORE: (
        (SalesChannel.STORE, 65), (SalesChannel.POS, 25), (SalesChannel.ONLINE_SHOP, 10)),
    SourceChannel.POS: ((SalesChannel.POS, 80), (SalesChannel.STORE, 20)),
    SourceChannel.ONLINE_SHOP: (
        (SalesChannel.ONLINE_SHOP, 80), (SalesChannel.MARKETPLACE, 10), (SalesChannel.STORE, 10)),
    SourceChannel.MARKETPLACE: (
        (SalesChannel.MARKETPLACE, 85), (SalesChannel.ONLINE_SHOP, 10), (SalesChannel.STORE, 5)),
    SourceChannel.WECHAT: ((SalesChannel.ONLINE_SHOP, 60), (SalesChannel.STORE, 40)),
    SourceChannel.WEB_FORM: ((SalesChannel.ONLINE_SHOP, 50), (SalesChannel.STORE, 50)),
    SourceChannel.REFERRAL: (
        (SalesChannel.STORE, 50), (SalesChannel.PHONE, 30), (SalesChannel.ONLINE_SHOP, 20)),
    SourceChannel.PHONE: ((SalesChannel.PHONE, 60), (SalesChannel.STORE, 40)),
    SourceChannel.TRADE_FAIR: ((SalesChannel.STORE, 60), (SalesChannel.ONLINE_SHOP, 40)),
}  # fmt: skip
_COMPANY_SALES_CHANNELS = _Weighted(
    ((SalesChannel.WHOLESALE, 60), (SalesChannel.PHONE, 25), (SalesChannel.ONLINE_SHOP, 15))
)
_ORDER_PREFIX = {
    SalesChannel.STORE: "ST",
    SalesChannel.POS: "POS",
    SalesChannel.ONLINE_SHOP: "SH",
    SalesChannel.MARKETPLACE: "TM",
    SalesChannel.PHONE: "TEL",
    SalesChannel.WHOLESALE: "SO",
    SalesChannel.OTHER: "OT",
}
# The system each kind of sale is recorded in: order numbers are unique per system.
_ORDER_SYSTEM = {
    SalesChannel.STORE: "store",
    SalesChannel.POS: "pos",
    SalesChannel.ONLINE_SHOP: "shopify",
    SalesChannel.MARKETPLACE: "tmall",
    SalesChannel.PHONE: "phone",
    SalesChannel.WHOLESALE: "erp",
    SalesChannel.OTHER: "other",
}
_ONLINE = frozenset({SalesChannel.ONLINE_SHOP, SalesChannel.MARKETPLACE})

_STATUS = _Weighted(
    (
        (TransactionStatus.PAID, 92),
        (TransactionStatus.REFUNDED, 5),
        (TransactionStatus.CANCELLED, 3),
    )
)


# --- Products ----------------------------------------------------------------------------------


def products(currency: str = "CNY") -> list[ProductRow]:
    """The 80-product catalogue (10 categories) with bilingual names and prices.

    Deterministic; ``name`` and ``category`` read "中文 / English". ``name_zh``/``name_en``
    are not model fields: writers pass them to :func:`catalog_item`.
    """
    rows = []
    for prefix, category_zh, category_en, items in _CATALOG:
        for number, (name_zh, name_en, price) in enumerate(items, start=1):
            sku = f"{prefix}-{number:03d}"
            rows.append(
                ProductRow(
                    sku=sku,
                    name=f"{name_zh} / {name_en}",
                    category=f"{category_zh} / {category_en}",
                    price=Decimal(price),
                    currency=currency,
                    is_active=sku not in _DISCONTINUED,
                    name_zh=name_zh,
                    name_en=name_en,
                )
            )
    return rows


def catalog_item(product_id: int, row: ProductRow) -> CatalogItem:
    """The purchase generator's view of a product row once it has a database id."""
    return CatalogItem(
        id=product_id,
        sku=row.sku,
        name_zh=row.name_zh,
        name_en=row.name_en,
        price_cents=int(row.price * 100),
        is_active=row.is_active,
    )


# --- Purchases and what follows from them ------------------------------------------------------


class _Purchase(NamedTuple):
    ts: float
    channel: str
    status: str
    lines: tuple[tuple[CatalogItem, int, int], ...]  # (product, quantity, unit price in cents)
    amount_cents: int
    ref: str
    recorded_by: int | None


_DISCOUNT = _Weighted(((100, 60), (95, 10), (90, 12), (85, 8), (80, 10)))
_COMPANY_QUANTITIES = (5, 10, 10, 20, 20, 30, 50, 100)


@lru_cache(maxsize=8)
def _catalog_index(catalog: tuple[CatalogItem, ...]):
    """Products sorted by log price (all, and those companies buy), for picking the item
    nearest a drawn price, which makes order amounts log-normal around the customer's taste."""

    def by_price(items):
        items = sorted(items, key=lambda item: item.price_cents)
        return items, [math.log(max(item.price_cents, 1)) for item in items]

    b2b = [item for item in catalog if item.sku[:3] in _B2B_CATEGORIES] or list(catalog)
    return by_price(catalog), by_price(b2b)


# Recently derived purchases by customer: the customer, transaction and interaction passes
# over one chunk of customers need the same purchases, and deriving them is the costliest part
# of a customer. Bounded (FIFO) so memory does not grow with the data set.
_PURCHASE_MEMO: dict[tuple[int, int], tuple[Scenario, tuple[_Purchase, ...]]] = {}
_PURCHASE_MEMO_SIZE = 10_000


def _purchases(scenario: Scenario, plan: CustomerPlan) -> tuple[_Purchase, ...]:
    """The customer's purchases, oldest first; identical on every call (own random stream)."""
    if not plan.n_purchases:
        return ()
    key = (id(scenario), plan.index)
    hit = _PURCHASE_MEMO.get(key)
    # The entry keeps its scenario alive, so an id() cannot be reused while it is cached.
    if hit is not None and hit[0] is scenario:
        return hit[1]
    purchases = _derive_purchases(scenario, plan)
    if len(_PURCHASE_MEMO) >= _PURCHASE_MEMO_SIZE:
        del _PURCHASE_MEMO[next(iter(_PURCHASE_MEMO))]
    _PURCHASE_MEMO[key] = (scenario, purchases)
    return purchases


def _derive_purchases(scenario: Scenario, plan: CustomerPlan) -> tuple[_Purchase, ...]:
    rng = random.Random(_seed_of(scenario.seed, plan.index, _HISTORY))  # noqa: S311  (synthetic data)
    company = plan.kind == CustomerKind.COMPANY
    (items, log_prices) = _catalog_index(scenario.catalog)[1 if company else 0]
    offset = _offset(scenario)
    created, last = plan.created_ts, plan.last_ts
    recent = scenario.now.timestamp() - 365 * DAY

    free = plan.n_purchases - 1 if plan.last_is_purchase else plan.n_purchases
    times = sorted(
        _clamp(
            _at_realistic_hour(rng, created + (last - created) * rng.random(), offset),
            created,
            last,
        )
        for _ in range(free)
    )
    if plan.last_is_purchase:
        times.append(last)

    channels = (
        _COMPANY_SALES_CHANNELS
        if company
        else _weighted_cached(
            ("sales", plan.source_channel),
            _SALES_CHANNELS.get(plan.source_channel, ((SalesChannel.STORE, 1),)),
        )
    )
    result = []
    for number, ts in enumerate(times):
        channel = channels(rng)
        # The purchase that is the customer's last activity must be a paid one (refunds and
        # cancellations do not count as activity).
        forced_paid = plan.last_is_purchase and number == len(times) - 1
        status = TransactionStatus.PAID if forced_paid else _STATUS(rng)
        lines = []
        amount = 0
        for _ in range(1 + min(int(rng.expovariate(1.3)), 5)):
            position = bisect.bisect_left(log_prices, rng.gauss(plan.basket_mu, 0.8))
            # A neighbour of the nearest price, so that equal budgets buy different things.
            position = min(max(position + int(rng.random() * 4) - 2, 0), len(items) - 1)
            item = items[position]
            if not item.is_active and ts > recent:
                # Discontinued a year ago: recent orders take the next product instead.
                item = items[(position + 1) % len(items)]
            if company:
                quantity = rng.choice(_COMPANY_QUANTITIES)
                discount = rng.randint(75, 90)
            else:
                roll = rng.random()
                quantity = 1 if roll < 0.8 else 2 if roll < 0.94 else rng.randint(3, 4)
                discount = _DISCOUNT(rng)
            unit = item.price_cents * discount // 1000 * 10  # whole ten fen, as shops price
            lines.append((item, quantity, unit))
            amount += quantity * unit
        recorded_by = None
        if channel not in _ONLINE and scenario.sales_staff:
            recorded_by = (
                plan.owner_id
                if plan.owner_id in scenario.sales_staff
                else rng.choice(scenario.sales_staff)
            )
        result.append(
            _Purchase(
                ts=ts,
                channel=channel,
                status=status,
                lines=tuple(lines),
                amount_cents=amount,
                # Unique per customer and purchase number, hence per (channel, ref).
                ref=f"{_ORDER_PREFIX[channel]}{plan.id:08d}{number:03d}",
                recorded_by=recorded_by,
            )
        )
    return tuple(result)


def _summarise(purchases: Sequence[_Purchase]) -> HistorySummary:
    paid = [p for p in purchases if p.status == TransactionStatus.PAID]
    return HistorySummary(
        paid_count=len(paid),
        spend_cents=sum(p.amount_cents for p in paid),
        first_paid_ts=paid[0].ts if paid else None,
        second_paid_ts=paid[1].ts if len(paid) > 1 else None,
        last_paid_ts=max(p.ts for p in paid) if paid else None,
    )


def value_grade(spend_cents: int) -> str:
    """A/B/C/D from the paid spend over the history (GRADE_THRESHOLDS); "" without any."""
    if spend_cents <= 0:
        return ValueGrade.UNGRADED
    for threshold, grade in GRADE_THRESHOLDS:
        if spend_cents >= threshold * 100:
            return grade
    return ValueGrade.D


def lifecycle_stage(
    *, paid_count: int, last_paid_ts: float | None, interactions: int, now_ts: float
) -> str:
    """The stage the history implies: no purchase -> lead (prospect once in conversation),
    one -> customer, more -> repeat; no paid purchase for AT_RISK_AFTER_DAYS -> at_risk,
    for CHURNED_AFTER_DAYS -> churned."""
    if not paid_count or last_paid_ts is None:
        return LifecycleStage.PROSPECT if interactions >= 2 else LifecycleStage.LEAD
    idle_days = (now_ts - last_paid_ts) / DAY
    if idle_days > CHURNED_AFTER_DAYS:
        return LifecycleStage.CHURNED
    if idle_days > AT_RISK_AFTER_DAYS:
        return LifecycleStage.AT_RISK
    return LifecycleStage.REPEAT if paid_count > 1 else LifecycleStage.CUSTOMER


def _stage_path(
    plan: CustomerPlan, summary: HistorySummary, now_ts: float
) -> list[tuple[str, float]]:
    """Every stage the customer went through, with when; the last one is the current stage."""
    path = [(LifecycleStage.LEAD, plan.created_ts)]
    if not summary.paid_count:
        if plan.n_interactions >= 2 and plan.last_ts is not None:
            path.append((LifecycleStage.PROSPECT, (plan.created_ts + plan.last_ts) / 2))
        return path
    path.append((LifecycleStage.CUSTOMER, summary.first_paid_ts))
    if summary.second_paid_ts is not None:
        path.append((LifecycleStage.REPEAT, summary.second_paid_ts))
    idle_since = summary.last_paid_ts
    if now_ts - idle_since > AT_RISK_AFTER_DAYS * DAY:
        path.append((LifecycleStage.AT_RISK, idle_since + AT_RISK_AFTER_DAYS * DAY))
    if now_ts - idle_since > CHURNED_AFTER_DAYS * DAY:
        path.append((LifecycleStage.CHURNED, idle_since + CHURNED_AFTER_DAYS * DAY))
    return path


def transactions(
    scenario: Scenario, plans: Iterable[CustomerPlan], *, start_id: int, line_start_id: int
) -> Iterator[tuple[TransactionRow, list[LineRow]]]:
    """Each customer's purchases as (transaction, its lines), ids consecutive from the
    start ids in plan order. Paid ~92%, refunded ~5%, cancelled ~3%; the amount is the sum
    of the lines. These are the purchases :func:`customers` summarised."""
    tz = scenario.now.tzinfo
    fromts = datetime.datetime.fromtimestamp
    currency = scenario.currency
    next_id, next_line = start_id, line_start_id
    for plan in plans:
        for purchase in _purchases(scenario, plan):
            occurred_at = fromts(purchase.ts, tz)
            lines = []
            for item, quantity, unit in purchase.lines:
                lines.append(
                    LineRow(
                        next_line,
                        next_id,
                        item.id,
                        "",
                        quantity,
                        _cents(unit),
                        _cents(quantity * unit),
                    )
                )
                next_line += 1
            yield (
                TransactionRow(
                    id=next_id,
                    customer_id=plan.id,
                    source_system=_ORDER_SYSTEM[purchase.channel],
                    external_ref=purchase.ref,
                    occurred_at=occurred_at,
                    channel=purchase.channel,
                    status=purchase.status,
                    amount=_cents(purchase.amount_cents),
                    currency=currency,
                    recorded_by_id=purchase.recorded_by,
                    created_at=occurred_at,
                ),
                lines,
            )
            next_id += 1
