"""Realistic synthetic CRM data as pure generator functions (no database access).

Used by ``manage.py seed_demo`` (a few thousand customers through the ORM) and by
``bench/generate.py`` (millions of rows through COPY); both write exactly what these functions
yield, so the demo and the benchmark look alike.

How it stays reproducible, fast and small in memory at ten million rows:

- Everything about customer number ``index`` is drawn from random generators seeded with
  ``(scenario.seed, index, stream)``, never from a shared one. Any pass over the customers
  can therefore re-derive a customer's plan, purchases or interactions without the others:
  the transactions pass regenerates exactly the purchases the customers pass summed up for
  ``value_grade`` and ``last_activity_at``, and nothing has to be kept between passes.
- Faker is called only to fill small pools once per process (:func:`pools`); rows combine
  pool entries with ``random.Random`` draws (Faker per row would be ~50x slower).
- Primary keys are assigned here from caller-given start ids with the same arithmetic in
  every pass, so the writers can COPY children (lines, contacts, interactions) without
  reading ids back.

Rows are NamedTuples whose field names are the model's column attnames (``customer_id``, not
``customer``) and whose order is the column order a COPY needs; ``row._asdict()`` gives the
keyword arguments for the model. Values are already normalised the way customers.normalize
would store them (phone in E.164, lower-case email, canonical ID numbers); the ``*_raw``
columns hold the "as entered" variants. Timestamps are timezone-aware in the zone of
``Scenario.now``.

Only :func:`id_number_columns` reads settings (the encryption keys); nothing here touches
the database.
"""

from __future__ import annotations

import bisect
import datetime
import itertools
import math
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

from faker import Faker
from faker.providers.person.zh_CN import Provider as ZhPersonProvider

from customers.models import (
    CompanySize,
    CustomerKind,
    DecisionRole,
    Gender,
    IdDocumentKind,
    LifecycleStage,
    SourceChannel,
    ValueGrade,
)
from customers.normalize import name_sound, place_pinyin
from customers.services import ID_NUMBER_CONTEXT
from interactions.models import (
    InteractionChannel,
    InteractionKind,
    SalesChannel,
    TransactionStatus,
)
from privacy import crypto
from privacy.masking import mask_id_number

DAY = 86_400.0
HISTORY_YEARS = 3
# Stage rules shared with the writers' summaries: recency of the last paid purchase.
AT_RISK_AFTER_DAYS = 180
CHURNED_AFTER_DAYS = 365
# Spend (in yuan, paid transactions over the history) that earns each value grade.
GRADE_THRESHOLDS = ((20_000, ValueGrade.A), (5_000, ValueGrade.B), (1_000, ValueGrade.C))

# Independent random streams per customer (see the module docstring).
_PROFILE, _HISTORY, _INTERACTIONS, _CONTACTS, _TAGS = range(5)


# --- Weighted choice ---------------------------------------------------------------------------


class _Weighted:
    """Weighted choice by bisection on cumulative weights: one ``random()`` per draw, about
    four times faster than ``rng.choices`` for the thousands of draws per second we need."""

    __slots__ = ("_cum", "_total", "values")

    def __init__(self, pairs: Iterable[tuple[object, float]]) -> None:
        pairs = list(pairs)
        self.values = [value for value, _weight in pairs]
        self._cum = list(itertools.accumulate(weight for _value, weight in pairs))
        self._total = self._cum[-1]

    def __call__(self, rng: random.Random):
        return self.values[bisect.bisect_right(self._cum, rng.random() * self._total)]


# --- Reference tables --------------------------------------------------------------------------

# Family names with their share of the population in percent (2020 census order; Faker's own
# table has slips such as 萧 for 肖 and 于 at 0.007%), and the pinyin used for email addresses.
# fmt: off
_SURNAMES = (
    ("王", 7.12, "wang"), ("李", 7.00, "li"), ("张", 6.74, "zhang"), ("刘", 5.38, "liu"),
    ("陈", 4.53, "chen"), ("杨", 3.08, "yang"), ("黄", 2.50, "huang"), ("赵", 2.29, "zhao"),
    ("吴", 2.05, "wu"), ("周", 1.93, "zhou"), ("徐", 1.45, "xu"), ("孙", 1.38, "sun"),
    ("马", 1.29, "ma"), ("朱", 1.28, "zhu"), ("胡", 1.16, "hu"), ("郭", 1.13, "guo"),
    ("何", 1.06, "he"), ("林", 1.04, "lin"), ("高", 1.00, "gao"), ("罗", 0.95, "luo"),
    ("郑", 0.93, "zheng"), ("梁", 0.85, "liang"), ("谢", 0.76, "xie"), ("宋", 0.70, "song"),
    ("唐", 0.69, "tang"), ("许", 0.66, "xu"), ("韩", 0.61, "han"), ("邓", 0.62, "deng"),
    ("冯", 0.62, "feng"), ("曹", 0.60, "cao"), ("彭", 0.58, "peng"), ("曾", 0.58, "zeng"),
    ("肖", 0.56, "xiao"), ("田", 0.52, "tian"), ("董", 0.51, "dong"), ("潘", 0.52, "pan"),
    ("袁", 0.50, "yuan"), ("蔡", 0.53, "cai"), ("蒋", 0.48, "jiang"), ("余", 0.48, "yu"),
    ("于", 0.48, "yu"), ("杜", 0.47, "du"), ("叶", 0.48, "ye"), ("程", 0.45, "cheng"),
    ("魏", 0.45, "wei"), ("苏", 0.46, "su"), ("吕", 0.45, "lv"), ("丁", 0.43, "ding"),
    ("任", 0.41, "ren"), ("卢", 0.40, "lu"), ("姚", 0.40, "yao"), ("沈", 0.41, "shen"),
    ("钟", 0.40, "zhong"), ("姜", 0.39, "jiang"), ("崔", 0.38, "cui"), ("谭", 0.38, "tan"),
    ("陆", 0.36, "lu"), ("范", 0.36, "fan"), ("汪", 0.36, "wang"), ("廖", 0.37, "liao"),
    ("石", 0.34, "shi"), ("金", 0.35, "jin"), ("韦", 0.32, "wei"), ("贾", 0.33, "jia"),
    ("夏", 0.32, "xia"), ("付", 0.30, "fu"), ("傅", 0.25, "fu"), ("方", 0.31, "fang"),
    ("邹", 0.30, "zou"), ("熊", 0.29, "xiong"), ("白", 0.28, "bai"), ("孟", 0.29, "meng"),
    ("秦", 0.29, "qin"), ("邱", 0.32, "qiu"), ("侯", 0.30, "hou"), ("江", 0.28, "jiang"),
    ("尹", 0.26, "yin"), ("薛", 0.26, "xue"), ("闫", 0.27, "yan"), ("段", 0.24, "duan"),
    ("雷", 0.24, "lei"), ("龙", 0.21, "long"), ("黎", 0.22, "li"), ("史", 0.21, "shi"),
    ("陶", 0.21, "tao"), ("贺", 0.21, "he"), ("毛", 0.20, "mao"), ("郝", 0.20, "hao"),
    ("顾", 0.20, "gu"), ("龚", 0.20, "gong"), ("邵", 0.20, "shao"), ("万", 0.19, "wan"),
    ("覃", 0.18, "qin"), ("武", 0.18, "wu"), ("钱", 0.19, "qian"), ("戴", 0.34, "dai"),
    ("严", 0.19, "yan"), ("莫", 0.18, "mo"), ("孔", 0.17, "kong"), ("向", 0.17, "xiang"),
    ("常", 0.16, "chang"), ("汤", 0.17, "tang"), ("康", 0.16, "kang"), ("易", 0.13, "yi"),
    ("乔", 0.13, "qiao"), ("赖", 0.18, "lai"), ("文", 0.15, "wen"), ("施", 0.15, "shi"),
    ("洪", 0.18, "hong"),
    # Compound surnames are rare but must appear: search and name splitting treat them apart.
    ("欧阳", 0.05, "ouyang"), ("司马", 0.012, "sima"), ("上官", 0.006, "shangguan"),
    ("诸葛", 0.005, "zhuge"), ("东方", 0.004, "dongfang"),
)

# Given names by generation: parents of the 1950s-70s named differently from those of the 2000s.
_MODERN_GIVEN_MALE = (
    "子轩", "浩然", "宇航", "梓睿", "俊杰", "浩宇", "一鸣", "天佑", "皓轩", "泽宇", "睿", "昊",
    "逸辰", "博文", "嘉豪", "铭", "晨阳", "家乐", "子墨", "宇",
)
_MODERN_GIVEN_FEMALE = (
    "子涵", "欣怡", "梓涵", "一诺", "思雨", "雨桐", "可馨", "诗涵", "梦瑶", "佳怡", "雅琪", "若曦",
    "欣妍", "晴", "悦", "雨萱", "婉清", "紫涵", "静怡", "彤",
)
# Generation characters that combine with a single-character name: 晓 + 明 -> 晓明.
_GIVEN_PREFIX_MALE = ("志", "国", "建", "海", "振", "文", "俊", "晓", "家", "子")
_GIVEN_PREFIX_FEMALE = ("丽", "秀", "晓", "雅", "静", "佳", "欣", "思", "雨", "玉")

_PINYIN = {
    char: syllable
    for syllable, chars in (
        ("wei", "伟"), ("qiang", "强"), ("lei", "磊雷"), ("yang", "洋阳杨"), ("yong", "勇"),
        ("jun", "军俊"), ("jie", "杰洁"), ("tao", "涛"), ("chao", "超"), ("ming", "明鸣铭"),
        ("gang", "刚"), ("ping", "平萍"), ("hui", "辉慧"), ("peng", "鹏"), ("hua", "华花"),
        ("fei", "飞"), ("xin", "鑫欣馨"), ("bo", "波博"), ("bin", "斌彬"), ("yu", "宇玉瑜雨语"),
        ("hao", "浩皓昊豪"), ("kai", "凯"), ("jian", "健建"), ("fan", "帆"), ("shuai", "帅"),
        ("xu", "旭"), ("ning", "宁"), ("long", "龙"), ("lin", "林琳"), ("huan", "欢"),
        ("jia", "佳嘉家"), ("liang", "亮"), ("cheng", "成"), ("feng", "峰凤"), ("guo", "国"),
        ("chen", "晨辰"), ("rui", "瑞睿"), ("zhi", "志芝"), ("bing", "兵"), ("dong", "东冬"),
        ("kun", "坤"), ("xiang", "想香"), ("yan", "岩艳燕妍"), ("wen", "文"), ("li", "利丽莉"),
        ("nan", "楠"), ("hong", "红"), ("xia", "霞"), ("fang", "芳"), ("na", "娜"),
        ("min", "敏"), ("jing", "静晶"), ("xiu", "秀"), ("ying", "英颖莹"), ("juan", "娟"),
        ("lan", "兰"), ("ling", "玲"), ("gui", "桂"), ("dan", "丹"), ("mei", "梅"),
        ("zhen", "珍振"), ("ting", "婷"), ("xue", "雪"), ("qian", "倩"), ("qin", "琴"),
        ("chang", "畅"), ("yun", "云"), ("liu", "柳"), ("shu", "淑"), ("chun", "春"),
        ("hai", "海"), ("rong", "荣"), ("xiao", "小晓"), ("jin", "金"), ("lu", "璐"),
        ("zi", "子梓紫"), ("xuan", "轩萱"), ("ran", "然"), ("hang", "航"), ("yi", "一逸怡"),
        ("tian", "天"), ("you", "佑"), ("ze", "泽"), ("le", "乐"), ("mo", "墨"), ("han", "涵"),
        ("nuo", "诺"), ("si", "思"), ("tong", "桐彤"), ("ke", "可"), ("shi", "诗"),
        ("meng", "梦"), ("yao", "瑶"), ("ya", "雅"), ("qi", "琪"), ("ruo", "若"), ("xi", "曦"),
        ("qing", "晴清"), ("yue", "悦"), ("wan", "婉"),
    )
    for char in chars
}

# (province, weight, cities); city = (name, short name, English name, phone area code,
# landline digits, districts); district = (name, GB/T 2260 division code, postcode).
# Weights lean towards the coastal provinces where most retail customers of a CRM live.
_PROVINCES = (
    ("广东省", 14, (
        ("广州市", "广州", "Guangzhou", "20", 8, (
            ("天河区", "440106", "510630"), ("越秀区", "440104", "510030"),
            ("海珠区", "440105", "510220"), ("番禺区", "440113", "511400"),
            ("白云区", "440111", "510405"))),
        ("深圳市", "深圳", "Shenzhen", "755", 8, (
            ("福田区", "440304", "518048"), ("南山区", "440305", "518052"),
            ("宝安区", "440306", "518101"), ("龙岗区", "440307", "518116"))),
        ("佛山市", "佛山", "Foshan", "757", 8, (
            ("禅城区", "440604", "528000"), ("南海区", "440605", "528200"),
            ("顺德区", "440606", "528300"))),
        ("珠海市", "珠海", "Zhuhai", "756", 7, (("香洲区", "440402", "519000"),)),
    )),
    ("上海市", 9, (
        ("上海市", "上海", "Shanghai", "21", 8, (
            ("浦东新区", "310115", "200120"), ("黄浦区", "310101", "200001"),
            ("徐汇区", "310104", "200030"), ("静安区", "310106", "200040"),
            ("闵行区", "310112", "201100"), ("长宁区", "310105", "200050"))),
    )),
    ("北京市", 8, (
        ("北京市", "北京", "Beijing", "10", 8, (
            ("朝阳区", "110105", "100020"), ("海淀区", "110108", "100080"),
            ("东城区", "110101", "100010"), ("西城区", "110102", "100032"),
            ("丰台区", "110106", "100071"), ("通州区", "110112", "101100"))),
    )),
    ("浙江省", 9, (
        ("杭州市", "杭州", "Hangzhou", "571", 8, (
            ("西湖区", "330106", "310013"), ("上城区", "330102", "310002"),
            ("滨江区", "330108", "310051"), ("余杭区", "330110", "311100"),
            ("拱墅区", "330105", "310011"))),
        ("宁波市", "宁波", "Ningbo", "574", 8, (
            ("海曙区", "330203", "315000"), ("鄞州区", "330212", "315100"))),
        ("温州市", "温州", "Wenzhou", "577", 8, (("鹿城区", "330302", "325000"),)),
    )),
    ("江苏省", 9, (
        ("南京市", "南京", "Nanjing", "25", 8, (
            ("玄武区", "320102", "210018"), ("鼓楼区", "320106", "210009"),
            ("江宁区", "320115", "211100"))),
        ("苏州市", "苏州", "Suzhou", "512", 8, (
            ("姑苏区", "320508", "215000"), ("吴中区", "320506", "215100"),
            ("吴江区", "320509", "215200"))),
        ("无锡市", "无锡", "Wuxi", "510", 8, (
            ("梁溪区", "320213", "214000"), ("滨湖区", "320211", "214100"))),
    )),
    ("四川省", 6, (
        ("成都市", "成都", "Chengdu", "28", 8, (
            ("锦江区", "510104", "610021"), ("青羊区", "510105", "610031"),
            ("武侯区", "510107", "610041"), ("成华区", "510108", "610051"))),
        ("绵阳市", "绵阳", "Mianyang", "816", 7, (("涪城区", "510703", "621000"),)),
    )),
    ("湖北省", 5, (
        ("武汉市", "武汉", "Wuhan", "27", 8, (
            ("江岸区", "420102", "430010"), ("武昌区", "420106", "430060"),
            ("洪山区", "420111", "430070"))),
        ("宜昌市", "宜昌", "Yichang", "717", 7, (("西陵区", "420502", "443000"),)),
    )),
    ("山东省", 6, (
        ("济南市", "济南", "Jinan", "531", 8, (
            ("历下区", "370102", "250011"), ("市中区", "370103", "250001"))),
        ("青岛市", "青岛", "Qingdao", "532", 8, (
            ("市南区", "370202", "266001"), ("崂山区", "370212", "266100"),
            ("黄岛区", "370211", "266400"))),
    )),
    ("湖南省", 4, (
        ("长沙市", "长沙", "Changsha", "731", 8, (
            ("芙蓉区", "430102", "410011"), ("天心区", "430103", "410004"),
            ("岳麓区", "430104", "410006"))),
    )),
    ("河南省", 5, (
        ("郑州市", "郑州", "Zhengzhou", "371", 8, (
            ("金水区", "410105", "450000"), ("中原区", "410102", "450007"),
            ("二七区", "410103", "450052"))),
        ("洛阳市", "洛阳", "Luoyang", "379", 8, (("涧西区", "410305", "471000"),)),
    )),
    ("福建省", 4, (
        ("福州市", "福州", "Fuzhou", "591", 8, (
            ("鼓楼区", "350102", "350001"), ("台江区", "350103", "350004"))),
        ("厦门市", "厦门", "Xiamen", "592", 7, (
            ("思明区", "350203", "361001"), ("湖里区", "350206", "361006"))),
    )),
    ("重庆市", 3, (
        ("重庆市", "重庆", "Chongqing", "23", 8, (
            ("渝中区", "500103", "400010"), ("江北区", "500105", "400020"),
            ("渝北区", "500112", "401120"), ("沙坪坝区", "500106", "400030"))),
    )),
    ("天津市", 2, (
        ("天津市", "天津", "Tianjin", "22", 8, (
            ("和平区", "120101", "300041"), ("南开区", "120104", "300100"),
            ("滨海新区", "120116", "300450"))),
    )),
    ("陕西省", 3, (
        ("西安市", "西安", "Xi'an", "29", 8, (
            ("雁塔区", "610113", "710061"), ("碑林区", "610103", "710001"),
            ("未央区", "610112", "710016"))),
    )),
    ("辽宁省", 3, (
        ("沈阳市", "沈阳", "Shenyang", "24", 8, (
            ("和平区", "210102", "110001"), ("沈河区", "210103", "110011"))),
        ("大连市", "大连", "Dalian", "411", 8, (
            ("中山区", "210202", "116001"), ("沙河口区", "210204", "116021"))),
    )),
    ("安徽省", 3, (
        ("合肥市", "合肥", "Hefei", "551", 8, (
            ("蜀山区", "340104", "230031"), ("包河区", "340111", "230041"))),
    )),
    ("河北省", 3, (
        ("石家庄市", "石家庄", "Shijiazhuang", "311", 8, (
            ("长安区", "130102", "050011"), ("桥西区", "130104", "050051"))),
    )),
    ("云南省", 2, (
        ("昆明市", "昆明", "Kunming", "871", 8, (
            ("五华区", "530102", "650021"), ("盘龙区", "530103", "650051"))),
    )),
)

# Foreign customers living abroad: (state, city, ZIP prefix, area codes).
_US_CITIES = (
    ("New York", "New York", "100", ("212", "646", "917")),
    ("California", "San Francisco", "941", ("415", "628")),
    ("California", "Los Angeles", "900", ("213", "310", "323")),
    ("Washington", "Seattle", "981", ("206",)),
    ("Illinois", "Chicago", "606", ("312", "773")),
    ("Massachusetts", "Boston", "021", ("617",)),
    ("Texas", "Austin", "787", ("512",)),
)

# Mobile prefixes of China Mobile, Unicom, Telecom and Broadnet with a rough market share.
_CN_MOBILE_PREFIXES = (
    ("139", 6), ("138", 7), ("137", 5), ("136", 5), ("135", 5), ("134", 3), ("150", 4),
    ("151", 4), ("152", 3), ("157", 2), ("158", 4), ("159", 4), ("182", 3), ("183", 2),
    ("187", 3), ("188", 3), ("198", 2), ("130", 3), ("131", 3), ("132", 3), ("155", 2),
    ("156", 3), ("185", 3), ("186", 4), ("166", 2), ("176", 3), ("133", 2), ("153", 2),
    ("180", 2), ("181", 2), ("189", 3), ("177", 2), ("173", 1), ("199", 2), ("191", 1),
    ("192", 1),
)

_ZH_EMAIL_DOMAINS = (
    ("qq.com", 38), ("163.com", 22), ("126.com", 10), ("sina.com", 5), ("foxmail.com", 5),
    ("gmail.com", 6), ("outlook.com", 5), ("hotmail.com", 3), ("139.com", 3), ("yeah.net", 3),
)
_EN_EMAIL_DOMAINS = (
    ("gmail.com", 45), ("outlook.com", 20), ("icloud.com", 12), ("yahoo.com", 10),
    ("hotmail.com", 8), ("qq.com", 5),
)

# Chinese company names: brand words with their pinyin (for domains) and a line of business.
_ZH_BRAND_WORDS = (
    ("华兴", "huaxing"), ("恒通", "hengtong"), ("宏达", "hongda"), ("鼎盛", "dingsheng"),
    ("金辉", "jinhui"), ("瑞祥", "ruixiang"), ("博远", "boyuan"), ("天成", "tiancheng"),
    ("新锐", "xinrui"), ("卓越", "zhuoyue"), ("众诚", "zhongcheng"), ("远航", "yuanhang"),
    ("盛世", "shengshi"), ("嘉禾", "jiahe"), ("永信", "yongxin"), ("明德", "mingde"),
    ("蓝海", "lanhai"), ("云帆", "yunfan"), ("启明", "qiming"), ("锦程", "jincheng"),
    ("安泰", "antai"), ("和信", "hexin"), ("德润", "derun"), ("百川", "baichuan"),
    ("泰和", "taihe"), ("鑫源", "xinyuan"), ("恒信", "hengxin"), ("嘉诚", "jiacheng"),
    ("联创", "lianchuang"), ("智远", "zhiyuan"), ("海纳", "haina"), ("聚力", "juli"),
    ("润和", "runhe"), ("凯旋", "kaixuan"), ("星辰", "xingchen"), ("天润", "tianrun"),
    ("弘毅", "hongyi"), ("正和", "zhenghe"), ("博雅", "boya"), ("优品", "youpin"),
)
_ZH_BUSINESS_LINES = (
    ("科技", "Technology"), ("贸易", "Wholesale & trade"), ("餐饮管理", "Food & beverage"),
    ("电子", "Manufacturing"), ("物流", "Logistics"), ("建材", "Construction"),
    ("医疗器械", "Healthcare"), ("教育咨询", "Education"), ("文化传媒", "Media"),
    ("酒店管理", "Hospitality"), ("服饰", "Retail"), ("食品", "Food & beverage"),
    ("信息技术", "Technology"), ("机械设备", "Manufacturing"), ("商贸", "Retail"),
)
_EN_INDUSTRIES = (
    "Technology", "Wholesale & trade", "Hospitality", "Manufacturing", "Retail",
    "Professional services", "Education", "Healthcare", "Logistics", "Food & beverage",
)
_COMPANY_SIZES = (
    (CompanySize.MICRO, 30), (CompanySize.SMALL, 35), (CompanySize.MEDIUM, 20),
    (CompanySize.LARGE, 10), (CompanySize.ENTERPRISE, 5),
)
_CONTACT_TITLES = {
    "zh": (
        ("总经理", DecisionRole.DECISION_MAKER), ("采购经理", DecisionRole.BUYER),
        ("采购专员", DecisionRole.BUYER), ("行政主管", DecisionRole.GATEKEEPER),
        ("财务经理", DecisionRole.INFLUENCER), ("办公室主任", DecisionRole.GATEKEEPER),
        ("IT经理", DecisionRole.USER), ("运营总监", DecisionRole.INFLUENCER),
        ("店长", DecisionRole.USER), ("", DecisionRole.UNKNOWN),
    ),
    "en": (
        ("Managing Director", DecisionRole.DECISION_MAKER),
        ("Purchasing Manager", DecisionRole.BUYER), ("Buyer", DecisionRole.BUYER),
        ("Office Manager", DecisionRole.GATEKEEPER), ("Finance Manager", DecisionRole.INFLUENCER),
        ("Operations Director", DecisionRole.INFLUENCER), ("IT Manager", DecisionRole.USER),
        ("Executive Assistant", DecisionRole.GATEKEEPER), ("", DecisionRole.UNKNOWN),
    ),
}

# Products: (SKU prefix, category zh, category en, items of (zh, en, price in yuan)).
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

TAGS = (
    # (name, colour, group)
    ("VIP", "#d4a017", "Value"),
    ("Wholesale", "#6f42c1", "Value"),
    ("Newsletter", "#0d6efd", "Marketing"),
    ("WeChat follower", "#198754", "Marketing"),
    ("Price sensitive", "#fd7e14", "Behaviour"),
    ("Early adopter", "#20c997", "Behaviour"),
    ("Complaint history", "#dc3545", "Service"),
    ("Do not call", "#6c757d", "Service"),
)

_SOURCE_CHANNELS = {
    "person_zh": (
        (SourceChannel.STORE, 22),
        (SourceChannel.ONLINE_SHOP, 16),
        (SourceChannel.MARKETPLACE, 20),
        (SourceChannel.WECHAT, 17),
        (SourceChannel.POS, 8),
        (SourceChannel.WEB_FORM, 5),
        (SourceChannel.REFERRAL, 6),
        (SourceChannel.TRADE_FAIR, 1),
        (SourceChannel.PHONE, 5),
    ),
    "person_en": (
        (SourceChannel.STORE, 20),
        (SourceChannel.ONLINE_SHOP, 30),
        (SourceChannel.MARKETPLACE, 10),
        (SourceChannel.WECHAT, 8),
        (SourceChannel.POS, 7),
        (SourceChannel.WEB_FORM, 12),
        (SourceChannel.REFERRAL, 8),
        (SourceChannel.TRADE_FAIR, 2),
        (SourceChannel.PHONE, 3),
    ),
    "company": (
        (SourceChannel.TRADE_FAIR, 20),
        (SourceChannel.REFERRAL, 20),
        (SourceChannel.WEB_FORM, 18),
        (SourceChannel.PHONE, 15),
        (SourceChannel.STORE, 10),
        (SourceChannel.ONLINE_SHOP, 10),
        (SourceChannel.WECHAT, 7),
    ),
}
_SOURCE_DETAILS = {
    SourceChannel.MARKETPLACE: {
        "zh": ("天猫旗舰店", "京东自营店", "拼多多官方店"),
        "en": ("Tmall flagship store", "JD.com store"),
    },
    SourceChannel.ONLINE_SHOP: {"zh": ("官网商城", "小程序商城"), "en": ("Shopify store",)},
    SourceChannel.WECHAT: {"zh": ("公众号", "企业微信", "视频号直播"), "en": ("WeChat Work",)},
    SourceChannel.TRADE_FAIR: {
        "zh": ("广交会", "上海国际家居展"),
        "en": ("Canton Fair", "China Import Expo"),
    },
    SourceChannel.REFERRAL: {"zh": ("老客户推荐", "合作伙伴推荐"), "en": ("Referred by a member",)},
    SourceChannel.WEB_FORM: {"zh": ("官网咨询表单", "活动报名"), "en": ("Newsletter sign-up",)},
}
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

# Local hour of day at which things happen (shops open 10-22, phones ring in office hours).
_HOUR_OF_DAY = _Weighted(
    zip(
        range(24),
        (1, 0.5, 0.3, 0.2, 0.2, 0.3, 1, 2, 4, 6, 8, 9, 9, 8, 8, 8, 8, 8, 9, 10, 10, 8, 5, 2),
        strict=True,
    )
)  # fmt: skip

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
_CUSTOMER_NOTES = {
    "zh": ("老客户，介绍过朋友购买。", "喜欢简约风格的产品。", "需要开增值税专用发票。",
           "只在工作日晚上接电话。", "对售后服务要求较高。"),
    "en": ("Long-standing customer; has referred friends.", "Prefers email over phone.",
           "Needs VAT invoices.", "Only reachable on weekday evenings.",
           "High expectations of after-sales service."),
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
_STATUS = _Weighted(
    (
        (TransactionStatus.PAID, 92),
        (TransactionStatus.REFUNDED, 5),
        (TransactionStatus.CANCELLED, 3),
    )
)


# --- Faker pools -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pools:
    """Names, streets and companies drawn from Faker once; rows pick from these."""

    zh_streets: tuple[str, ...]
    en_first_male: tuple[str, ...]
    en_first_female: tuple[str, ...]
    en_last: tuple[str, ...]
    en_streets: tuple[str, ...]
    en_companies: tuple[str, ...]


def _brand(company: str) -> str:
    """ "Smith, Jones and Brown" -> "Smith"; "Goodwin Inc" -> "Goodwin": the brand part, since
    customers get a "(City) Co., Ltd." suffix."""
    brand = company.split(",")[0]
    for suffix in (" Inc", " LLC", " Ltd", " PLC", " Group", " and Sons"):
        brand = brand.removesuffix(suffix)
    return brand.replace(" and ", " & ")


@lru_cache(maxsize=4)
def pools(seed: int) -> Pools:
    """Build the Faker pools for ``seed`` (cached: ~0.5 s the first time, free afterwards)."""
    zh, en = Faker("zh_CN"), Faker("en_US")
    zh.seed_instance(seed)
    en.seed_instance(seed)

    def unique(make, size: int) -> tuple[str, ...]:
        return tuple(dict.fromkeys(make() for _ in range(size * 2)))[:size]

    return Pools(
        zh_streets=unique(zh.street_name, 400),
        en_first_male=unique(en.first_name_male, 400),
        en_first_female=unique(en.first_name_female, 400),
        en_last=unique(en.last_name, 800),
        en_streets=unique(en.street_address, 500),
        en_companies=unique(lambda: _brand(en.company()), 400),
    )


# --- Scenario and row types --------------------------------------------------------------------


class CatalogItem(NamedTuple):
    """A product as the purchase generator needs it (``id`` is the database id)."""

    id: int
    sku: str
    name_zh: str
    name_en: str
    price_cents: int
    is_active: bool


@dataclass(frozen=True)
class Scenario:
    """Everything that determines the generated data: same scenario, same rows.

    ``now`` must be timezone-aware; times of day are drawn in its zone, so pass
    ``timezone.localtime()``. ``owner_weights`` spreads customers over owners (``None`` =
    unassigned). ``sales_staff`` and ``service_staff`` are user ids that log interactions and
    record store sales (empty: those columns stay NULL). ``mean_purchases`` and
    ``mean_interactions`` are per-customer means of long-tailed distributions.
    """

    seed: int
    now: datetime.datetime
    catalog: tuple[CatalogItem, ...]
    customer_start_id: int = 1
    mean_purchases: float = 2.7
    mean_interactions: float = 5.0
    owner_weights: tuple[tuple[int | None, float], ...] = ((None, 1.0),)
    sales_staff: tuple[int, ...] = ()
    service_staff: tuple[int, ...] = ()
    currency: str = "CNY"

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError("Scenario.now must be timezone-aware")
        if not self.catalog:
            raise ValueError("Scenario.catalog must not be empty")


class ProductRow(NamedTuple):
    sku: str
    name: str
    category: str
    price: Decimal
    currency: str
    is_active: bool
    name_zh: str
    name_en: str


class CustomerPlan(NamedTuple):
    """What every pass needs to know about a customer, re-derivable from (seed, index)."""

    index: int
    id: int
    kind: str
    lang: str  # "zh" or "en": names, addresses and texts
    abroad: bool
    source_channel: str
    created_ts: float
    last_ts: float | None  # last activity: the latest paid purchase or interaction
    last_is_purchase: bool
    n_purchases: int
    n_interactions: int
    n_contacts: int
    city_key: int  # index into the city table; -1 for customers living abroad
    owner_id: int | None
    basket_mu: float  # log of the typical line price this customer buys
    duplicate_of: int  # index of the customer this one re-registers, or -1


class CustomerRow(NamedTuple):
    id: int
    kind: str
    name: str
    family_name: str
    given_name: str
    name_pinyin: str
    name_key: str
    gender: str
    birth_date: datetime.date | None
    phone: str
    phone_raw: str
    email: str
    email_raw: str
    phone_verified: bool
    email_verified: bool
    id_document_kind: str
    id_number_encrypted: str
    id_number_blind_index: str
    id_number_masked: str
    country: str
    province: str
    city: str
    city_pinyin: str
    district: str
    street: str
    postcode: str
    company_name: str
    industry: str
    company_size: str
    website: str
    lifecycle_stage: str
    value_grade: str
    source_channel: str
    source_detail: str
    owner_id: int | None
    notes: str
    consent_email: bool
    consent_sms: bool
    consent_phone: bool
    created_at: datetime.datetime
    updated_at: datetime.datetime
    last_activity_at: datetime.datetime | None
    archived_at: datetime.datetime | None
    merged_into_id: int | None


class HistorySummary(NamedTuple):
    paid_count: int
    spend_cents: int
    first_paid_ts: float | None
    second_paid_ts: float | None
    last_paid_ts: float | None


class GeneratedCustomer(NamedTuple):
    """One customer: the row to write, its plan and the facts derived from its history."""

    row: CustomerRow
    plan: CustomerPlan
    summary: HistorySummary
    stage_path: tuple[tuple[str, datetime.datetime], ...]  # (stage, reached at), oldest first


class ContactRow(NamedTuple):
    id: int
    customer_id: int
    name: str
    title: str
    decision_role: str
    phone: str
    phone_raw: str
    email: str
    email_raw: str
    is_primary: bool
    created_at: datetime.datetime
    updated_at: datetime.datetime


class ExternalIdRow(NamedTuple):
    id: int
    customer_id: int
    system: str
    external_id: str
    created_at: datetime.datetime


class TransactionRow(NamedTuple):
    id: int
    customer_id: int
    source_system: str
    external_ref: str
    occurred_at: datetime.datetime
    channel: str
    status: str
    amount: Decimal
    currency: str
    recorded_by_id: int | None
    created_at: datetime.datetime


class LineRow(NamedTuple):
    id: int
    transaction_id: int
    product_id: int
    description: str
    quantity: int
    unit_price: Decimal
    line_total: Decimal


class InteractionRow(NamedTuple):
    id: int
    customer_id: int
    contact_id: int | None
    kind: str
    channel: str
    occurred_at: datetime.datetime
    subject: str
    body: str
    satisfaction: int | None
    staff_id: int | None
    source_system: str
    external_ref: str
    created_at: datetime.datetime


class StageChangeRow(NamedTuple):
    customer_id: int
    from_stage: str
    to_stage: str
    changed_at: datetime.datetime
    changed_by_id: int | None


class FollowUpRow(NamedTuple):
    customer_id: int
    title: str
    notes: str
    due_at: datetime.datetime
    assignee_id: int
    done_at: datetime.datetime | None
    created_by_id: int | None
    created_at: datetime.datetime


# --- Small helpers -----------------------------------------------------------------------------


def _seed_of(seed: int, index: int, stream: int) -> int:
    # Distinct (seed, index, stream) give distinct integers, hence independent MT19937 states.
    return ((seed * 0x1_0000_0000) + index) * 8 + stream


def _cents(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _poisson(rng: random.Random, lam: float) -> int:
    """Poisson draw: inversion for the small means we mostly see, normal beyond 30."""
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    threshold, count, product = math.exp(-lam), 0, rng.random()
    while product > threshold:
        count += 1
        product *= rng.random()
    return count


def _at_realistic_hour(rng: random.Random, ts: float, offset: float) -> float:
    """Keep the local day of ``ts`` but move it to a plausible hour of that day."""
    day_start = ts - (ts + offset) % DAY
    return day_start + _HOUR_OF_DAY(rng) * 3600 + rng.random() * 3600


def _clamp(ts: float, low: float, high: float) -> float:
    return low if ts < low else high if ts > high else ts


def cn_id_check_character(first_17: str) -> str:
    """The GB 11643 (ISO 7064 MOD 11-2) check character for the first 17 digits."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(digit) * weight for digit, weight in zip(first_17, weights, strict=True))
    return "10X98765432"[total % 11]


def id_number_columns(number: str) -> tuple[str, str, str]:
    """(encrypted, blind index, masked) for a normalised identity number, exactly as
    customers.services.apply_id_number stores them; ("", "", "") for "". Reads the
    encryption keys from settings (CryptoConfigurationError when they are missing)."""
    if not number:
        return "", "", ""
    return (
        crypto.encrypt(number, context=ID_NUMBER_CONTEXT),
        crypto.blind_index(number, context=ID_NUMBER_CONTEXT),
        mask_id_number(number),
    )


class _City(NamedTuple):
    province: str
    name: str
    short: str
    name_en: str
    area_code: str
    landline_digits: int
    districts: tuple[tuple[str, str, str], ...]  # (name, division code, postcode)
    store: str  # the flagship store customers of this city visit: "广州天河店"


class _CityTable(NamedTuple):
    cities: tuple[_City, ...]
    resident_choice: _Weighted  # -> index into cities
    expat_choice: _Weighted
    surnames: _Weighted  # -> (surname, pinyin)
    division_codes: tuple[str, ...]


@lru_cache(maxsize=1)
def _cities() -> _CityTable:
    """The reference tables as weighted choosers (built once per process)."""
    cities = []
    resident_weights = []
    for province, weight, province_cities in _PROVINCES:
        for position, (name, short, name_en, area, digits, districts) in enumerate(province_cities):
            store = f"{short}{districts[0][0].removesuffix('区').removesuffix('新')}店"
            cities.append(_City(province, name, short, name_en, area, digits, districts, store))
            # The capital (listed first) holds most of a province's customers.
            share = 0.6 if position == 0 else 0.4 / max(len(province_cities) - 1, 1)
            resident_weights.append(weight * (1.0 if len(province_cities) == 1 else share))
    # Foreigners living in China concentrate in the tier-1 cities.
    expat_weights = {"上海": 30, "北京": 25, "深圳": 15, "广州": 15}
    return _CityTable(
        cities=tuple(cities),
        resident_choice=_Weighted(enumerate(resident_weights)),
        expat_choice=_Weighted(
            (key, expat_weights.get(city.short, 1)) for key, city in enumerate(cities)
        ),
        surnames=_Weighted(((name, py), weight) for name, weight, py in _SURNAMES),
        division_codes=tuple(d[1] for city in cities for d in city.districts),
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


# --- Plans -------------------------------------------------------------------------------------


def _draw_plan(scenario: Scenario, index: int, rng: random.Random) -> CustomerPlan:
    """The first draws of a customer's profile stream; the profile continues from here."""
    now_ts = scenario.now.timestamp()
    roll = rng.random()
    if roll < 0.70:
        kind, lang, segment = CustomerKind.PERSON, "zh", "person_zh"
    elif roll < 0.90:
        kind, lang, segment = CustomerKind.PERSON, "en", "person_en"
    else:
        kind, segment = CustomerKind.COMPANY, "company"
        lang = "zh" if rng.random() < 0.7 else "en"
    abroad = lang == "en" and kind == CustomerKind.PERSON and rng.random() < 0.35
    cities = _cities()
    if abroad:
        city_key = -1
    elif lang == "en" and kind == CustomerKind.PERSON:
        city_key = cities.expat_choice(rng)
    else:
        city_key = cities.resident_choice(rng)
    source_channel = _weighted_cached(segment, _SOURCE_CHANNELS[segment])(rng)

    # More customers joined recently than three years ago (the business grew).
    age_days = HISTORY_YEARS * 365 * rng.random() ** 1.4
    created_ts = _at_realistic_hour(rng, now_ts - age_days * DAY, _offset(scenario))
    if created_ts > now_ts - 60:
        created_ts = now_ts - rng.uniform(60, 6 * 3600)  # earlier today, not in the future

    # A shared "engagement" (gamma, mean 1) makes purchases and interactions long-tailed
    # and correlated: many customers buy 0-2 times, a few 20+ times.
    engagement = rng.gammavariate(0.5, 2.0)
    # Companies buy 2.5 times as often; dividing by the mix's average (0.9 + 0.1 * 2.5) keeps
    # the overall mean at scenario.mean_purchases.
    company_factor = (2.5 if kind == CustomerKind.COMPANY else 1.0) / 1.15
    # Scale by how long the customer has been around relative to an average customer
    # (E[u ** 1.4] = 1 / 2.4 of the history).
    tenure = max(age_days, 1.0) / (HISTORY_YEARS * 365 / 2.4)
    n_purchases = _poisson(rng, scenario.mean_purchases * engagement * tenure * company_factor)
    n_purchases = min(n_purchases, 600)
    n_interactions = _poisson(
        rng, scenario.mean_interactions * (0.3 + 0.7 * engagement) * min(tenure, 3.0)
    )
    n_interactions = min(n_interactions, 400)

    # Some customers drift away: their activity stops well before today.
    end_ts = now_ts
    if age_days > 200 and rng.random() < 0.3:
        end_ts = created_ts + (now_ts - 60 * DAY - created_ts) * rng.uniform(0.05, 0.9)
    events = n_purchases + n_interactions
    last_ts = None
    last_is_purchase = False
    if events:
        # The latest of `events` uniform times: u ** (1 / n) is the maximum of n uniforms.
        last_ts = created_ts + (end_ts - created_ts) * rng.random() ** (1 / events)
        last_ts = _at_realistic_hour(rng, last_ts, _offset(scenario))
        if last_ts > now_ts - 60:
            # Later today than now: it happened earlier today instead.
            last_ts = now_ts - rng.uniform(60, 6 * 3600)
        last_ts = max(last_ts, created_ts)
        last_is_purchase = rng.random() < n_purchases / events

    owner_id = _owner_chooser(scenario.owner_weights)(rng)
    n_contacts = 1 + min(int(rng.expovariate(0.8)), 4) if kind == CustomerKind.COMPANY else 0
    basket_mu = rng.gauss(math.log(220_00), 0.55) + (0.4 if kind == CustomerKind.COMPANY else 0)

    duplicate_of = -1
    # ~1.5% of persons registered twice (another channel, another spelling): the duplicate
    # review queue needs real work. Only copies an earlier person of the same language.
    if kind == CustomerKind.PERSON and index > 0 and rng.random() < 0.015:
        candidate = index - 1 - min(int(rng.expovariate(1 / 300)), index - 1)
        other = customer_plan(scenario, candidate)
        if other.kind == CustomerKind.PERSON and other.lang == lang and other.abroad == abroad:
            duplicate_of = candidate

    return CustomerPlan(
        index=index,
        id=scenario.customer_start_id + index,
        kind=kind,
        lang=lang,
        abroad=abroad,
        source_channel=source_channel,
        created_ts=created_ts,
        last_ts=last_ts,
        last_is_purchase=last_is_purchase,
        n_purchases=n_purchases,
        n_interactions=n_interactions,
        n_contacts=n_contacts,
        city_key=city_key,
        owner_id=owner_id,
        basket_mu=basket_mu,
        duplicate_of=duplicate_of,
    )


_WEIGHTED_CACHE: dict[object, _Weighted] = {}


def _weighted_cached(key: object, pairs: Iterable[tuple[object, float]]) -> _Weighted:
    chooser = _WEIGHTED_CACHE.get(key)
    if chooser is None:
        chooser = _WEIGHTED_CACHE[key] = _Weighted(pairs)
    return chooser


def _owner_chooser(weights: tuple[tuple[int | None, float], ...]) -> _Weighted:
    return _weighted_cached(("owners", weights), weights)


def _offset(scenario: Scenario) -> float:
    offset = scenario.now.utcoffset()
    return offset.total_seconds() if offset else 0.0


def customer_plan(scenario: Scenario, index: int) -> CustomerPlan:
    """The plan of customer number ``index`` (0-based), derived from the seed alone."""
    return _draw_plan(scenario, index, random.Random(_seed_of(scenario.seed, index, _PROFILE)))  # noqa: S311  (synthetic data, not security)


def customer_plans(scenario: Scenario, count: int) -> Iterator[CustomerPlan]:
    """Plans of customers 0..count-1 in order: cheap (~15 µs each), so every pass over the
    customers (transactions, interactions, contacts) re-derives them instead of storing them.
    """
    rng = random.Random()  # noqa: S311  (synthetic data, not security)
    for index in range(count):
        rng.seed(_seed_of(scenario.seed, index, _PROFILE))
        yield _draw_plan(scenario, index, rng)


# --- Identities ----------------------------------------------------------------------------------


class _Identity(NamedTuple):
    name: str
    family_name: str
    given_name: str
    gender: str
    birth_date: datetime.date | None
    phone: str
    phone_raw: str
    email: str
    email_raw: str
    id_document_kind: str
    id_number: str
    country: str
    province: str
    city: str
    district: str
    street: str
    postcode: str
    company_name: str
    industry: str
    company_size: str
    website: str
    city_en: str


def _cn_mobile(rng: random.Random) -> str:
    prefix = _weighted_cached("mobile", _CN_MOBILE_PREFIXES)(rng)
    return f"{prefix}{rng.randrange(100_000_000):08d}"


def _raw_cn_mobile(rng: random.Random, national: str) -> str:
    """The number the way a person or a shop system typed it."""
    a, b, c = national[:3], national[3:7], national[7:]
    roll = rng.random()
    if roll < 0.45:
        return national
    if roll < 0.60:
        return f"{a} {b} {c}"
    if roll < 0.70:
        return f"{a}-{b}-{c}"
    if roll < 0.80:
        return f"+86 {a} {b} {c}"
    if roll < 0.88:
        return f"+86{national}"
    if roll < 0.92:
        return f"86-{national}"
    if roll < 0.95:
        return f"0086 {national}"
    if roll < 0.98:
        return f"(+86) {a}-{b}-{c}"
    # Full-width digits from a Chinese input method.
    return national.translate(str.maketrans("0123456789", "０１２３４５６７８９"))


def _cn_landline(rng: random.Random, area_code: str, digits: int) -> tuple[str, str]:
    subscriber = f"{rng.randint(2, 7)}{rng.randrange(10 ** (digits - 1)):0{digits - 1}d}"
    raw = rng.choice(
        (
            f"0{area_code}-{subscriber}",
            f"(0{area_code}) {subscriber[:4]} {subscriber[4:]}",
            f"+86 {area_code} {subscriber}",
        )
    )
    return f"+86{area_code}{subscriber}", raw


def _us_phone(rng: random.Random, area_codes: tuple[str, ...]) -> tuple[str, str]:
    area = rng.choice(area_codes)
    exchange = rng.randint(200, 999)
    if exchange % 100 == 11 or exchange == 555:  # N11 service codes and the fictional 555
        exchange += 1
    line = f"{rng.randrange(10_000):04d}"
    # Always with the country code: without it the CRM reads the number as Chinese (its
    # default region), and so would any import of these rows.
    raw = rng.choice(
        (
            f"+1 ({area}) {exchange}-{line}",
            f"+1 {area}-{exchange}-{line}",
            f"+1 {area} {exchange} {line}",
            f"001 {area} {exchange} {line}",
        )
    )
    return f"+1{area}{exchange}{line}", raw


def _raw_email(rng: random.Random, email: str) -> str:
    roll = rng.random()
    if roll < 0.80:
        return email
    if roll < 0.95:
        local, _at, domain = email.partition("@")
        return f"{local[:1].upper()}{local[1:]}@{domain.upper() if roll > 0.9 else domain}"
    return f" {email} "


def _pinyin(text: str) -> str | None:
    syllables = [_PINYIN.get(char) for char in text]
    return None if None in syllables else "".join(syllables)


# Every person's mailbox carries a number no other customer's does, so namesakes (two 杨欢)
# never share an address by accident: in the demo and in bench/, a shared email means the
# same person registered twice (CustomerPlan.duplicate_of), as it would in a real database.
_MAILBOX_NUMBERS = 10**8  # above any number of customers a scenario draws


def _mailbox_number(index: int) -> int:
    """Customer ``index``'s own mailbox number: an affine bijection of [0, 10^8) (the
    multiplier is prime to 10), so neighbours' numbers look unrelated."""
    return (index * 48_271 + 1_234_567) % _MAILBOX_NUMBERS


def _zh_email(rng: random.Random, surname_py: str, given: str, number: int) -> str:
    """An address in the shapes Chinese customers use, ending in their own mailbox number (a
    local part's trailing digits are exactly that number, so no two customers share one)."""
    domain = _weighted_cached("zh_email", _ZH_EMAIL_DOMAINS)(rng)
    given_py = _pinyin(given)
    if (domain == "qq.com" and rng.random() < 0.75) or given_py is None:
        # Most QQ mailboxes are the QQ number itself.
        return f"{10_000 + number}@qq.com"
    roll = rng.random()
    if roll < 0.4:
        local = f"{surname_py}{given_py}{number}"
    elif roll < 0.6:
        local = f"{given_py}.{surname_py}{number}"
    elif roll < 0.8:
        initials = "".join(_PINYIN[char][0] for char in given)
        local = f"{surname_py}{initials}{number}"
    else:
        local = f"{surname_py}_{given_py}{number}"
    return f"{local}@{domain}"


def _en_email(rng: random.Random, first: str, last: str, number: int) -> str:
    """An address in the usual Western shapes, ending in the person's own mailbox number."""
    domain = _weighted_cached("en_email", _EN_EMAIL_DOMAINS)(rng)
    first, last = first.lower(), last.lower().replace("'", "")
    roll = rng.random()
    if roll < 0.4:
        local = f"{first}.{last}{number}"
    elif roll < 0.6:
        local = f"{first[0]}{last}{number}"
    elif roll < 0.8:
        local = f"{first}{last}{number}"
    else:
        local = f"{first}_{last[:3]}{number}"
    return f"{local}@{domain}"


def _zh_given_name(rng: random.Random, gender: str, birth_year: int) -> str:
    female = gender == Gender.FEMALE
    classic = ZhPersonProvider.first_names_female if female else ZhPersonProvider.first_names_male
    modern = _MODERN_GIVEN_FEMALE if female else _MODERN_GIVEN_MALE
    prefixes = _GIVEN_PREFIX_FEMALE if female else _GIVEN_PREFIX_MALE
    p_classic, p_combo = (0.85, 0.15) if birth_year < 1975 else (0.5, 0.35)
    if birth_year >= 1990:
        p_classic, p_combo = 0.15, 0.30
    roll = rng.random()
    if roll < p_classic:
        return rng.choice(classic)
    if roll < p_classic + p_combo:
        single = rng.choice(classic)[-1]
        prefix = rng.choice(prefixes)
        return prefix + single if prefix != single else single
    return rng.choice(modern)


def _birth_date(rng: random.Random, today: datetime.date) -> datetime.date:
    # Ages 18-75, most customers between their late twenties and fifties.
    age = _clamp(rng.gauss(39, 12), 18.05, 75.9)
    return today - datetime.timedelta(days=int(age * 365.25))


def _cn_address(rng: random.Random, pool: Pools, city: _City) -> tuple[str, str, str, str]:
    """(district, division code, postcode, street) somewhere in ``city``."""
    district, division_code, postcode = rng.choice(city.districts)
    if rng.random() < 0.4:
        postcode = f"{postcode[:4]}{rng.randrange(100):02d}"
    street = f"{rng.choice(pool.zh_streets)}{rng.randint(1, 999)}号"
    if rng.random() < 0.5:
        building, unit = rng.randint(1, 30), rng.randint(1, 6)
        street += f"{building}栋{unit}单元{rng.randint(1, 33)}{rng.randint(1, 8):02d}室"
    return district, division_code, postcode, street


def _cn_id_number(rng: random.Random, division: str, birth: datetime.date, gender: str) -> str:
    # Three in ten people registered their household (hukou) somewhere other than where
    # they live now.
    region = division if rng.random() < 0.7 else rng.choice(_cities().division_codes)
    sequence = rng.randrange(500) * 2 + (1 if gender == Gender.MALE else 0)
    first_17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first_17 + cn_id_check_character(first_17)


def _person_identity(
    rng: random.Random, plan: CustomerPlan, pool: Pools, today: datetime.date
) -> _Identity:
    table = _cities()
    gender = Gender.FEMALE if rng.random() < 0.53 else Gender.MALE
    birth = _birth_date(rng, today)
    id_kind, id_number = "", ""
    if plan.abroad:
        state, city_name, zip3, area_codes = rng.choice(_US_CITIES)
        country, province, city_en, district = "US", state, city_name, ""
        postcode = f"{zip3}{rng.randrange(100):02d}"
        street = rng.choice(pool.en_streets)
        division = ""
    else:
        city = table.cities[plan.city_key]
        country, province, city_name, city_en = "CN", city.province, city.name, city.name_en
        district, division, postcode, street = _cn_address(rng, pool, city)
    if plan.lang == "zh":
        family, family_py = table.surnames(rng)
        given = _zh_given_name(rng, gender, birth.year)
        name = family + given
        # ~36% of Chinese persons (a quarter of all customers) gave their resident ID.
        if rng.random() < 0.36:
            id_kind = IdDocumentKind.CN_RESIDENT
            id_number = _cn_id_number(rng, division, birth, gender)
        email = (
            _zh_email(rng, family_py, given, _mailbox_number(plan.index))
            if rng.random() < 0.6
            else ""
        )
    else:
        first_pool = pool.en_first_female if gender == Gender.FEMALE else pool.en_first_male
        given, family = rng.choice(first_pool), rng.choice(pool.en_last)
        name = f"{given} {family}"
        if rng.random() < 0.12:
            id_kind = IdDocumentKind.PASSPORT
            id_number = f"{rng.choice('CEFGHP')}{rng.randrange(10**8):08d}"
        email = (
            _en_email(rng, given, family, _mailbox_number(plan.index)) if rng.random() < 0.6 else ""
        )

    if rng.random() < 0.85:
        if plan.abroad:
            phone, phone_raw = _us_phone(rng, area_codes)
        else:
            national = _cn_mobile(rng)
            phone, phone_raw = f"+86{national}", _raw_cn_mobile(rng, national)
    else:
        phone = phone_raw = ""
    # The ID card states the birth date, so those are always known; otherwise ~half are.
    birth_date = birth if id_kind == IdDocumentKind.CN_RESIDENT or rng.random() < 0.5 else None
    if not id_kind and rng.random() < 0.04:
        gender = Gender.UNKNOWN
    return _Identity(
        name=name,
        family_name=family,
        given_name=given,
        gender=gender,
        birth_date=birth_date,
        phone=phone,
        phone_raw=phone_raw,
        email=email,
        email_raw=_raw_email(rng, email) if email else "",
        id_document_kind=id_kind,
        id_number=id_number,
        country=country,
        province=province,
        city=city_name,
        district=district,
        street=street,
        postcode=postcode,
        company_name="",
        industry="",
        company_size="",
        website="",
        city_en=city_en,
    )


def _company_identity(rng: random.Random, plan: CustomerPlan, pool: Pools) -> _Identity:
    city = _cities().cities[plan.city_key]
    district, _division, postcode, street = _cn_address(rng, pool, city)
    short, city_en = city.short, city.name_en
    street = street[: street.index("号") + 1]  # offices have floors, not flat numbers
    if plan.lang == "zh":
        (brand_a, py_a), (brand_b, py_b) = rng.sample(_ZH_BRAND_WORDS, 2)
        line, industry = rng.choice(_ZH_BUSINESS_LINES)
        place = short + ("市" if rng.random() < 0.4 else "")
        name = f"{place}{brand_a}{brand_b}{line}有限公司"
        domain = f"{py_a}{py_b}.{rng.choice(('com', 'com.cn', 'cn'))}"
        street += f"{rng.choice(_ZH_BRAND_WORDS)[0]}大厦{rng.randint(2, 38)}楼"
    else:
        brand = rng.choice(pool.en_companies)
        name = f"{brand} ({city_en}) Co., Ltd."
        industry = rng.choice(_EN_INDUSTRIES)
        domain = "".join(ch for ch in brand.lower() if ch.isalnum() or ch == "-") + ".com"
        street += f"{rng.randint(3, 40)}层"
    roll = rng.random()
    if roll < 0.55:
        phone, phone_raw = _cn_landline(rng, city.area_code, city.landline_digits)
    elif roll < 0.75:
        national = _cn_mobile(rng)
        phone, phone_raw = f"+86{national}", _raw_cn_mobile(rng, national)
    else:
        phone = phone_raw = ""
    email = ""
    if rng.random() < 0.7:
        email = f"{rng.choice(('info', 'sales', 'service', 'contact', 'purchasing'))}@{domain}"
    return _Identity(
        name=name,
        family_name="",
        given_name="",
        gender="",
        birth_date=None,
        phone=phone,
        phone_raw=phone_raw,
        email=email,
        email_raw=_raw_email(rng, email) if email else "",
        id_document_kind="",
        id_number="",
        country="CN",
        province=city.province,
        city=city.name,
        district=district,
        street=street,
        postcode=postcode,
        company_name=name,
        industry=industry,
        company_size=_weighted_cached("sizes", _COMPANY_SIZES)(rng),
        website=f"https://www.{domain}" if rng.random() < 0.8 else "",
        city_en=city_en,
    )


def _identity(scenario: Scenario, plan: CustomerPlan, rng: random.Random) -> _Identity:
    pool = pools(scenario.seed)
    today = scenario.now.date()
    if plan.kind == CustomerKind.COMPANY:
        return _company_identity(rng, plan, pool)
    if plan.duplicate_of < 0:
        return _person_identity(rng, plan, pool, today)
    original = _identity_of(scenario, plan.duplicate_of)
    # A second registration of the same person through another channel: same phone typed
    # differently, often with less data. Names are stored normalised, so they match exactly.
    phone_raw = original.phone_raw
    if original.phone.startswith("+86"):
        phone_raw = _raw_cn_mobile(rng, original.phone[3:])
    email = original.email if rng.random() < 0.6 else ""
    keep_id = rng.random() < 0.5
    keep_address = rng.random() < 0.5
    return original._replace(
        phone_raw=phone_raw,
        email=email,
        email_raw=_raw_email(rng, email) if email else "",
        id_document_kind=original.id_document_kind if keep_id else "",
        id_number=original.id_number if keep_id else "",
        # A resident ID states the birth date, so a kept ID keeps it too.
        birth_date=original.birth_date if keep_id or rng.random() < 0.5 else None,
        street=original.street if keep_address else "",
        postcode=original.postcode if keep_address else "",
    )


def _identity_of(scenario: Scenario, index: int) -> _Identity:
    """Re-derive the identity of customer ``index`` (for its duplicate registrations)."""
    rng = random.Random(_seed_of(scenario.seed, index, _PROFILE))  # noqa: S311  (synthetic data)
    plan = _draw_plan(scenario, index, rng)
    return _identity(scenario, plan, rng)


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


# --- Public generators -------------------------------------------------------------------------


def customers(scenario: Scenario, count: int) -> Iterator[GeneratedCustomer]:
    """Customers 0..count-1 with ids from ``scenario.customer_start_id``, streamed.

    ``row`` has the stage, value grade and last activity that the customer's purchases (see
    :func:`transactions`) and interactions imply; identity numbers are encrypted with
    :func:`id_number_columns`. ~70% Chinese persons, ~20% Latin-script persons (a third of
    them living in the US), ~10% companies; ~1.5% of persons are second registrations of an
    earlier person (same phone or ID, other channel), as every real customer base has.
    """
    rng = random.Random()  # noqa: S311  (synthetic data, not security)
    tz = scenario.now.tzinfo
    now_ts = scenario.now.timestamp()
    fromts = datetime.datetime.fromtimestamp
    table = _cities()
    for index in range(count):
        rng.seed(_seed_of(scenario.seed, index, _PROFILE))
        plan = _draw_plan(scenario, index, rng)
        ident = _identity(scenario, plan, rng)
        summary = _summarise(_purchases(scenario, plan))
        path = _stage_path(plan, summary, now_ts)
        encrypted, blind, masked = id_number_columns(ident.id_number)

        details = _SOURCE_DETAILS.get(plan.source_channel)
        source_detail = ""
        if plan.source_channel in (SourceChannel.STORE, SourceChannel.POS) and plan.city_key >= 0:
            store = table.cities[plan.city_key].store
            source_detail = store if plan.lang == "zh" else f"{ident.city_en} store"
        elif details and rng.random() < 0.7:
            source_detail = rng.choice(details[plan.lang])
        notes = ""
        if rng.random() < 0.05:
            notes = rng.choice(_CUSTOMER_NOTES[plan.lang])

        created_at = fromts(plan.created_ts, tz)
        last_activity_at = fromts(plan.last_ts, tz) if plan.last_ts is not None else None
        updated_ts = max(path[-1][1], plan.last_ts or plan.created_ts)
        sound = name_sound(ident.name)
        yield GeneratedCustomer(
            row=CustomerRow(
                id=plan.id,
                kind=plan.kind,
                name=ident.name,
                family_name=ident.family_name,
                given_name=ident.given_name,
                name_pinyin=sound[0],
                name_key=sound[1],
                gender=ident.gender,
                birth_date=ident.birth_date,
                phone=ident.phone,
                phone_raw=ident.phone_raw,
                email=ident.email,
                email_raw=ident.email_raw,
                phone_verified=False,
                email_verified=False,
                id_document_kind=ident.id_document_kind if ident.id_number else "",
                id_number_encrypted=encrypted,
                id_number_blind_index=blind,
                id_number_masked=masked,
                country=ident.country,
                province=ident.province,
                city=ident.city,
                city_pinyin=place_pinyin(ident.city),
                district=ident.district,
                street=ident.street,
                postcode=ident.postcode,
                company_name=ident.company_name,
                industry=ident.industry,
                company_size=ident.company_size,
                website=ident.website,
                lifecycle_stage=path[-1][0],
                value_grade=value_grade(summary.spend_cents),
                source_channel=plan.source_channel,
                source_detail=source_detail,
                owner_id=plan.owner_id,
                notes=notes,
                consent_email=bool(ident.email) and rng.random() < 0.45,
                consent_sms=bool(ident.phone) and rng.random() < 0.35,
                consent_phone=bool(ident.phone) and rng.random() < 0.2,
                created_at=created_at,
                updated_at=fromts(min(updated_ts, now_ts), tz),
                last_activity_at=last_activity_at,
                archived_at=None,
                merged_into_id=None,
            ),
            plan=plan,
            summary=summary,
            stage_path=tuple((stage, fromts(ts, tz)) for stage, ts in path),
        )


def contacts(
    scenario: Scenario, plans: Iterable[CustomerPlan], *, start_id: int
) -> Iterator[ContactRow]:
    """People at the company customers among ``plans``: ``plan.n_contacts`` each, ids
    consecutive from ``start_id`` in plan order, the first of each company primary."""
    rng = random.Random()  # noqa: S311  (synthetic data, not security)
    tz = scenario.now.tzinfo
    now_ts = scenario.now.timestamp()
    pool = pools(scenario.seed)
    table = _cities()
    next_id = start_id
    for plan in plans:
        if not plan.n_contacts:
            continue
        rng.seed(_seed_of(scenario.seed, plan.index, _CONTACTS))
        company = _identity_of(scenario, plan.index)
        domain = company.email.partition("@")[2] or company.website.removeprefix("https://www.")
        for number in range(plan.n_contacts):
            chinese = plan.lang == "zh" or rng.random() < 0.5
            gender = Gender.FEMALE if rng.random() < 0.5 else Gender.MALE
            if chinese:
                family, family_py = table.surnames(rng)
                given = _zh_given_name(rng, gender, rng.randint(1965, 2000))
                name = family + given
                given_py = _pinyin(given)
                local = (
                    f"{given_py}.{family_py}" if given_py else f"{family_py}{rng.randint(1, 99)}"
                )
            else:
                first_pool = pool.en_first_female if gender == Gender.FEMALE else pool.en_first_male
                given, family = rng.choice(first_pool), rng.choice(pool.en_last)
                name = f"{given} {family}"
                local = f"{given}.{family}".lower().replace("'", "")
            title, role = rng.choice(_CONTACT_TITLES["zh" if chinese else "en"])
            national = _cn_mobile(rng) if rng.random() < 0.9 else ""
            email = f"{local}@{domain}" if domain and rng.random() < 0.75 else ""
            created_ts = min(plan.created_ts + number * rng.uniform(0, 200) * DAY, now_ts)
            yield ContactRow(
                id=next_id,
                customer_id=plan.id,
                name=name,
                title=title,
                decision_role=role,
                phone=f"+86{national}" if national else "",
                phone_raw=_raw_cn_mobile(rng, national) if national else "",
                email=email,
                email_raw=_raw_email(rng, email) if email else "",
                is_primary=number == 0,
                created_at=datetime.datetime.fromtimestamp(created_ts, tz),
                updated_at=datetime.datetime.fromtimestamp(created_ts, tz),
            )
            next_id += 1


def external_ids(
    scenario: Scenario, plans: Iterable[CustomerPlan], *, start_id: int
) -> Iterator[ExternalIdRow]:
    """The shop's id for customers who came from the online shop ("shopify") or the
    marketplace ("tmall"); derived from the customer id, so unique per system."""
    tz = scenario.now.tzinfo
    next_id = start_id
    for plan in plans:
        if plan.source_channel == SourceChannel.ONLINE_SHOP:
            system, value = "shopify", str(6_100_000_000_000 + plan.id * 7919)
        elif plan.source_channel == SourceChannel.MARKETPLACE:
            system, value = "tmall", f"tb{1_000_000_000 + plan.id * 7919}"
        else:
            continue
        yield ExternalIdRow(
            id=next_id,
            customer_id=plan.id,
            system=system,
            external_id=value,
            created_at=datetime.datetime.fromtimestamp(plan.created_ts, tz),
        )
        next_id += 1


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


def stage_changes(customer: GeneratedCustomer) -> Iterator[StageChangeRow]:
    """Every step of the customer's stage history, oldest first, by the system (no user);
    the last step's to_stage is the customer's current stage."""
    previous = ""
    for stage, reached_at in customer.stage_path:
        yield StageChangeRow(customer.row.id, previous, stage, reached_at, None)
        previous = stage


def customer_tags(
    scenario: Scenario, customer: GeneratedCustomer, *, complained: bool
) -> list[str]:
    """Names from :data:`TAGS` that fit the customer (VIP for grades A/B, Wholesale for
    companies, Complaint history when ``complained``, marketing tags from consents...)."""
    rng = random.Random(_seed_of(scenario.seed, customer.plan.index, _TAGS))  # noqa: S311  (synthetic data)
    row = customer.row
    names = []
    if row.value_grade in (ValueGrade.A, ValueGrade.B) and rng.random() < 0.9:
        names.append("VIP")
    if row.kind == CustomerKind.COMPANY:
        names.append("Wholesale")
    if row.consent_email and rng.random() < 0.7:
        names.append("Newsletter")
    if rng.random() < (0.9 if row.source_channel == SourceChannel.WECHAT else 0.15):
        names.append("WeChat follower")
    if row.kind == CustomerKind.PERSON and rng.random() < 0.12:
        names.append("Price sensitive")
    if rng.random() < 0.06:
        names.append("Early adopter")
    if complained:
        names.append("Complaint history")
    if row.phone and not row.consent_phone and rng.random() < 0.05:
        names.append("Do not call")
    return names


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
