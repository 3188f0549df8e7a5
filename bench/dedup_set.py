"""A labelled set of customers for measuring duplicate detection: who is really whom is known.

Each generated person (an "entity") gets one to four records, written the ways the same person
arrives from a shop, a store and a trade fair: homophone or mistyped characters, the name in
pinyin or in the other order, phone numbers in other formats, missing fields, a new address
after a move, another email. Hard cases that are *not* duplicates are mixed in on purpose:
family members sharing a phone, an address and a family name, and different people with the
same common name. Values are raw, as a form or an import would receive them.

`labelled_latin_people` does the same for Latin-alphabet records without phones or emails
(typos in either part of the name, swapped parts, house numbers, postcodes, birth-date slips,
national numbers without a check character; family members at one address, namesakes).

Used by tests (small sets) and by bench/dedup.py (large ones); deterministic for a seed.
"""

from __future__ import annotations

import datetime
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from faker import Faker

from demo.data.people import cn_id_check_character

# Characters read the same (or nearly) in pinyin: the usual way a Chinese name gets retyped.
HOMOPHONES = (
    "张章", "伟玮炜威", "丽莉利", "静婧", "军君", "明铭", "华桦", "杰洁", "芳方", "敏民",
    "磊蕾", "强蔷", "燕艳", "玲琳林", "刚钢", "平萍", "辉晖", "娟鹃", "勇涌", "峰锋",
    "霞侠", "鹏朋", "超潮", "秀绣", "英瑛", "宇雨", "涛滔", "浩昊", "斌彬", "红宏洪",
    "建健", "文雯", "欣鑫", "波博", "丹单", "佳嘉", "雪薛", "冬东", "梅玫", "凤奉",
)  # fmt: skip
_SAME_SOUND = {char: group for group in HOMOPHONES for char in group}
_EMAIL_DOMAINS = ("163.com", "qq.com", "126.com", "sina.com", "gmail.com", "outlook.com")
_MOBILE_PREFIXES = (
    "130", "131", "132", "135", "136", "138", "139", "150", "151", "158",
    "159", "176", "177", "180", "181", "186", "187", "188", "189", "199",
)  # fmt: skip


@dataclass
class LabelledRecord:
    entity: int
    values: dict[str, Any]
    external_ids: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class _Person:
    chinese: bool
    name: str
    family: str
    given: str
    latin_family: str
    latin_given: str
    birth_date: datetime.date
    phone: str
    email: str
    province: str
    city: str
    street: str
    postcode: str
    company: str
    id_number: str


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.zh = Faker("zh_CN")
        self.zh.seed_instance(seed)
        self.en = Faker("en_US")
        self.en.seed_instance(seed + 1)
        self.pinyin_of: dict[str, str] = {}

    def mobile(self) -> str:
        return self.rng.choice(_MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"

    def person(self) -> _Person:
        rng = self.rng
        chinese = rng.random() < 0.7
        birth = datetime.date(1950, 1, 1) + datetime.timedelta(days=rng.randrange(20_000))
        if chinese:
            name = self.zh.name()
            family, given = name[0], name[1:]
            latin_family, latin_given = _pinyin(family).title(), _pinyin(given).title()
            email_user = f"{_pinyin(name).replace(' ', '')}{rng.randrange(1, 999)}"
            address = self.zh
        else:
            latin_given, latin_family = self.en.first_name(), self.en.last_name()
            name, family, given = f"{latin_given} {latin_family}", latin_family, latin_given
            email_user = f"{latin_given}.{latin_family}{rng.randrange(1, 99)}".lower()
            address = self.zh if rng.random() < 0.5 else self.en
        id_number = ""
        if chinese and rng.random() < 0.3:
            first = f"{rng.randrange(110000, 659999)}{birth:%Y%m%d}{rng.randrange(1000):03d}"
            id_number = first + cn_id_check_character(first)
        return _Person(
            chinese=chinese,
            name=name,
            family=family,
            given=given,
            latin_family=latin_family,
            latin_given=latin_given,
            birth_date=birth,
            phone=self.mobile(),
            email=f"{email_user}@{rng.choice(_EMAIL_DOMAINS)}",
            province=self.zh.province() if address is self.zh else "",
            city=address.city_name() if address is self.zh else self.en.city(),
            street=address.street_address(),
            postcode=self.zh.postcode() if address is self.zh else "",
            company=self.zh.company() if rng.random() < 0.3 else "",
            id_number=id_number,
        )

    def record(self, person: _Person) -> dict[str, Any]:
        values: dict[str, Any] = {
            "name": person.name,
            "birth_date": person.birth_date.isoformat(),
            "phone": person.phone,
            "email": person.email,
            "province": person.province,
            "city": person.city,
            "street": person.street,
            "postcode": person.postcode,
            "company_name": person.company,
        }
        if person.id_number:
            values.update(id_document_kind="cn_resident", id_number=person.id_number)
        return values

    def variant(self, person: _Person) -> dict[str, Any]:
        """Another record of the same person: one to three changes, never so many that
        nothing identifying is left."""
        rng = self.rng
        values = self.record(person)
        changes = rng.sample(
            ["name", "phone_format", "missing", "moved", "email", "birth_format", "new_phone"],
            rng.randint(1, 3),
        )
        if "new_phone" in changes and ("email" in changes or "missing" in changes):
            changes.remove("new_phone")
        for change in changes:
            if change == "name":
                values["name"] = self._name_variant(person)
            elif change == "phone_format":
                values["phone"] = self._phone_format(person.phone)
            elif change == "missing":
                for key in rng.sample(["email", "birth_date", "street", "company_name"], 2):
                    values[key] = ""
            elif change == "moved":
                other = self.person()
                values.update(
                    province=other.province,
                    city=other.city,
                    street=other.street,
                    postcode=other.postcode,
                )
            elif change == "email":
                values["email"] = (
                    person.email.upper()
                    if rng.random() < 0.5
                    else person.email.split("@")[0] + "@" + rng.choice(_EMAIL_DOMAINS)
                )
            elif change == "birth_format":
                values["birth_date"] = f"{person.birth_date:%Y年%m月%d日}"
            elif change == "new_phone":
                values["phone"] = self.mobile()
        if values.get("id_number") and rng.random() < 0.5:
            values.pop("id_number")
            values.pop("id_document_kind")
        return values

    def _name_variant(self, person: _Person) -> str:
        rng = self.rng
        if person.chinese:
            choice = rng.random()
            if choice < 0.5:
                positions = [i for i, char in enumerate(person.name) if char in _SAME_SOUND]
                if positions:
                    i = rng.choice(positions)
                    others = _SAME_SOUND[person.name[i]].replace(person.name[i], "")
                    return person.name[:i] + rng.choice(others) + person.name[i + 1 :]
            if choice < 0.8:
                return f"{person.latin_family} {person.latin_given}"
            return f"{person.latin_given} {person.latin_family}"
        choice = rng.random()
        if choice < 0.4:
            return f"{person.latin_family}, {person.latin_given}"
        if choice < 0.7:
            return f"{_typo(rng, person.latin_given)} {person.latin_family}"
        return f"{person.latin_given} {_typo(rng, person.latin_family)}"

    def _phone_format(self, phone: str) -> str:
        return self.rng.choice(
            (
                f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}",
                f"{phone[:3]}-{phone[3:7]}-{phone[7:]}",
                f"0086{phone}",
                f"({phone[:3]}) {phone[3:]}",
            )
        )

    def family_member(self, person: _Person) -> _Person:
        """Someone else in the same household: same phone and address, usually the same
        family name, another given name, birth date and email."""
        other = self.person()
        if person.chinese and other.chinese:
            name = person.family + other.given
            given = other.given
        else:
            name, given = other.name, other.given
        return _Person(
            chinese=other.chinese,
            name=name,
            family=person.family,
            given=given,
            latin_family=other.latin_family,
            latin_given=other.latin_given,
            birth_date=other.birth_date,
            phone=person.phone,
            # Households often share one mailbox too.
            email=self.rng.choice((other.email, "", person.email)),
            province=person.province,
            city=person.city,
            street=person.street,
            postcode=person.postcode,
            company="",
            id_number=other.id_number,
        )


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word + word[-1]
    i = rng.randrange(1, len(word) - 2)
    if rng.random() < 0.5:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + word[i + 1 :]


def _pinyin(text: str) -> str:
    from pypinyin import lazy_pinyin

    return " ".join(lazy_pinyin(text))


# How many records one person has: most one, some two to four.
_RECORDS_PER_PERSON = ((1, 0.55), (2, 0.3), (3, 0.1), (4, 0.05))


def labelled_people(people: int, *, seed: int = 1) -> Iterator[LabelledRecord]:
    """Records for `people` persons (plus their households), entity numbers as labels.
    Records come out shuffled within windows of 1,000, as they would arrive."""
    generator = _Generator(seed)
    rng = generator.rng
    counts, weights = zip(*_RECORDS_PER_PERSON, strict=True)
    entity = itertools.count()
    window: list[LabelledRecord] = []
    for _ in range(people):
        person = generator.person()
        label = next(entity)
        copies = rng.choices(counts, weights)[0]
        window.append(LabelledRecord(label, generator.record(person)))
        window.extend(LabelledRecord(label, generator.variant(person)) for _ in range(copies - 1))
        if rng.random() < 0.1:
            member = generator.family_member(person)
            window.append(LabelledRecord(next(entity), generator.record(member)))
        if len(window) >= 1_000:
            rng.shuffle(window)
            yield from window
            window = []
    rng.shuffle(window)
    yield from window


# --- Latin-alphabet records without phone or email ------------------------------------------

_LATIN_LOCALES = ("en_GB", "en_US", "en_AU", "de_DE", "fr_FR", "nl_NL")
_COUNTRIES = {"en_GB": "GB", "en_US": "US", "en_AU": "AU", "de_DE": "DE", "fr_FR": "FR",
              "nl_NL": "NL"}  # fmt: skip


@dataclass
class _LatinPerson:
    given: str
    family: str
    birth_date: datetime.date
    locale: str
    house: str
    street: str
    postcode: str
    city: str
    id_number: str


class _LatinGenerator:
    """People of several Western countries as a shop without phones or emails knows them:
    name in parts, street address with a house number, postcode, town, birth date, and for
    some a national number without a check character."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fakers = {locale: Faker(locale) for locale in _LATIN_LOCALES}
        for offset, faker in enumerate(self.fakers.values()):
            faker.seed_instance(seed + offset)

    def person(self, locale: str | None = None) -> _LatinPerson:
        rng = self.rng
        locale = locale or rng.choice(_LATIN_LOCALES)
        faker = self.fakers[locale]
        return _LatinPerson(
            given=faker.first_name(),
            family=faker.last_name(),
            birth_date=datetime.date(1930, 1, 1) + datetime.timedelta(days=rng.randrange(27_000)),
            locale=locale,
            house=str(rng.randint(1, 250)),
            street=faker.street_name(),
            postcode=f"{rng.randrange(1000, 99999):05d}",
            city=faker.city(),
            id_number=f"{rng.randrange(10**8, 10**9)}" if rng.random() < 0.5 else "",
        )

    def record(self, person: _LatinPerson) -> dict[str, Any]:
        values: dict[str, Any] = {
            "given_name": person.given,
            "family_name": person.family,
            "name": f"{person.given} {person.family}",
            "birth_date": person.birth_date.isoformat(),
            "street": f"{person.house} {person.street}",
            "postcode": person.postcode,
            "city": person.city,
            "country": _COUNTRIES[person.locale],
        }
        if person.id_number:
            values.update(id_document_kind="other", id_number=person.id_number)
        return values

    def variant(self, person: _LatinPerson) -> dict[str, Any]:
        """Another record of the same person: one to three slips or changes."""
        rng = self.rng
        values = self.record(person)
        changes = rng.sample(
            ["given", "family", "swapped", "birth", "house", "street", "postcode", "missing",
             "moved", "id"],
            rng.randint(1, 3),
        )  # fmt: skip
        if "moved" in changes:
            changes = [change for change in changes if change not in ("given", "family")]
        for change in changes:
            if change == "given":
                values["given_name"] = _typo(rng, values["given_name"])
            elif change == "family":
                values["family_name"] = _typo(rng, values["family_name"])
            elif change == "swapped":
                values["given_name"], values["family_name"] = (
                    values["family_name"],
                    values["given_name"],
                )
            elif change == "birth":
                values["birth_date"] = _birth_slip(rng, person.birth_date).isoformat()
            elif change == "house":
                values["street"] = f"{int(person.house) + rng.choice((1, 10, -1))} {person.street}"
            elif change == "street":
                values["street"] = f"{person.house} {_typo(rng, person.street)}"
            elif change == "postcode":
                i = rng.randrange(len(person.postcode))
                values["postcode"] = (
                    person.postcode[:i] + str(rng.randrange(10)) + (person.postcode[i + 1 :])
                )
            elif change == "missing":
                values[rng.choice(["birth_date", "street", "postcode"])] = ""
            elif change == "moved":
                other = self.person(person.locale)
                values.update(
                    street=f"{other.house} {other.street}",
                    postcode=other.postcode,
                    city=other.city,
                )
            elif change == "id" and values.get("id_number"):
                if rng.random() < 0.5:
                    values["id_number"] = _typo(rng, person.id_number)
                else:
                    values.pop("id_number"), values.pop("id_document_kind")
        values["name"] = f"{values['given_name']} {values['family_name']}"
        return values

    def family_member(self, person: _LatinPerson) -> _LatinPerson:
        """Someone else at the same address with the same family name: a spouse or a child."""
        other = self.person(person.locale)
        return _LatinPerson(
            given=other.given,
            family=person.family,
            birth_date=other.birth_date,
            locale=person.locale,
            house=person.house,
            street=person.street,
            postcode=person.postcode,
            city=person.city,
            id_number=other.id_number,
        )

    def namesake(self, person: _LatinPerson) -> _LatinPerson:
        """Another person of the same name in the same town."""
        other = self.person(person.locale)
        other.given, other.family, other.city = person.given, person.family, person.city
        return other


def _birth_slip(rng: random.Random, date: datetime.date) -> datetime.date:
    """The birth date with a typing slip: day and month swapped, or one digit off."""
    if date.day <= 12 and date.day != date.month and rng.random() < 0.5:
        return date.replace(month=date.day, day=date.month)
    for _ in range(10):
        text = date.strftime("%Y%m%d")
        i = rng.choice((3, 6, 7))
        try:
            return datetime.datetime.strptime(
                text[:i] + str(rng.randrange(10)) + text[i + 1 :], "%Y%m%d"
            ).date()
        except ValueError:
            continue
    return date


def labelled_latin_people(people: int, *, seed: int = 1) -> Iterator[LabelledRecord]:
    """Like `labelled_people`, for Latin-alphabet records without phones or emails; hard
    negatives: family members at one address (10%) and namesakes in one town (5%)."""
    generator = _LatinGenerator(seed)
    rng = generator.rng
    counts, weights = zip(*_RECORDS_PER_PERSON, strict=True)
    entity = itertools.count()
    window: list[LabelledRecord] = []
    for _ in range(people):
        person = generator.person()
        label = next(entity)
        window.append(LabelledRecord(label, generator.record(person)))
        for _ in range(rng.choices(counts, weights)[0] - 1):
            window.append(LabelledRecord(label, generator.variant(person)))
        if rng.random() < 0.1:
            member = generator.family_member(person)
            window.append(LabelledRecord(next(entity), generator.record(member)))
        if rng.random() < 0.05:
            namesake = generator.namesake(person)
            window.append(LabelledRecord(next(entity), generator.record(namesake)))
        if len(window) >= 1_000:
            rng.shuffle(window)
            yield from window
            window = []
    rng.shuffle(window)
    yield from window


def true_pairs(labels: dict[int, int]) -> set[tuple[int, int]]:
    """Pairs of customer ids (smaller first) that are the same entity; `labels` maps customer
    id to entity."""
    by_entity: dict[int, list[int]] = {}
    for customer_id, entity in labels.items():
        by_entity.setdefault(entity, []).append(customer_id)
    return {(a, b) for ids in by_entity.values() for a, b in itertools.combinations(sorted(ids), 2)}


def quality(found: set[tuple[int, int]], truth: set[tuple[int, int]]) -> dict[str, float]:
    hits = len(found & truth)
    precision = hits / len(found) if found else 1.0
    recall = hits / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "pairs_found": len(found),
        "true_pairs": len(truth),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
    }
