"""Who the customers are: names (Chinese by generation, English from Faker pools), cities
and addresses, mobile and landline numbers and email addresses as people type them, resident
identity numbers, company names; `_person_identity` and `_company_identity` draw one customer's
identity from its plan."""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from faker import Faker
from faker.providers.person.zh_CN import Provider as ZhPersonProvider

from customers.models import CompanySize, DecisionRole, Gender, IdDocumentKind
from customers.services import ID_NUMBER_CONTEXT
from demo.data.draws import _clamp, _Weighted, _weighted_cached
from demo.data.scenario import CustomerPlan
from privacy import crypto
from privacy.masking import mask_id_number

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
# fmt: on


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
