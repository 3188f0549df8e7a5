"""China's provinces and prefecture-level cities, and every common way of writing them.

The gazetteer (customers/places_cn.csv) knows each division by its official name (上海市,
广东省, 延边朝鲜族自治州), its short form (上海, 广东, 延边), its pinyin in any spacing and case
with or without a suffix word ("Shanghai", "shang hai", "Shanghai Shi", "Guangdong Province")
and the English names that are not pinyin (Peking, Hong Kong). customers/normalize.py turns a
typed place into the official name with it; nothing here reads the database.
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

DATA_FILE = Path(__file__).with_name("places_cn.csv")

PROVINCE = "province"
CITY = "city"

# Words that follow a place's name in Latin script and say only what kind of place it is.
_SUFFIX_WORDS = (
    "specialadministrativeregion",
    "autonomousprefecture",
    "autonomousregion",
    "municipality",
    "prefecture",
    "tebiexingzhengqu",
    "zizhizhou",
    "zizhiqu",
    "province",
    "sheng",
    "city",
    "diqu",
    "meng",
    "shi",
    "sar",
)
_LETTERS = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class Place:
    level: str  # PROVINCE or CITY
    name: str  # the official name, which is what gets stored: 上海市, 广东省
    province: str  # a city's province (official name); "" for a province
    pinyin: str  # the short form in toneless pinyin, no spaces: "shanghai"


def latin_keys(text: str) -> tuple[str, ...]:
    """The ways a Latin spelling can name a place: its letters, lower case, without accents,
    spaces or punctuation, and the same without a suffix word ("Shanghai Shi" -> "shanghai";
    黄石 is "huangshi" itself). ü (typed "v" in pinyin) counts as u: "lvliang" and "Lü Liang"
    give "luliang". Empty for text without Latin letters."""
    folded = unicodedata.normalize("NFKD", text.casefold()).encode("ascii", "ignore").decode()
    letters = "".join(_LETTERS.findall(folded))
    for word in _SUFFIX_WORDS:
        if letters.endswith(word) and len(letters) > len(word) + 1:
            stripped = letters[: -len(word)].replace("v", "u")
            return (letters.replace("v", "u"), stripped)
    return (letters.replace("v", "u"),) if letters else ()


class Gazetteer:
    def __init__(self, places: list[tuple[Place, str, tuple[str, ...]]]) -> None:
        self._by_han: dict[tuple[str, str], Place] = {}
        self._by_letters: dict[tuple[str, str], list[Place]] = {}
        province_shorts = {
            short: place.name for place, short, _others in places if place.level == PROVINCE
        }
        for place, short, others in places:
            han_names = [place.name, *(name for name in others if not latin_keys(name))]
            # 海南 is the province; 海南藏族自治州 in 青海 is known by its full name only.
            if place.level == PROVINCE or province_shorts.get(short, place.province) == (
                place.province
            ):
                han_names.append(short)
            for han in han_names:
                self._by_han.setdefault((place.level, han), place)
            keys = {place.pinyin, *(key for name in others for key in latin_keys(name))}
            for key in keys:
                self._by_letters.setdefault((place.level, key), []).append(place)

    def find(self, level: str, text: str, *, province: str = "") -> Place | None:
        """The place of `level` written as `text` (tidied: folded, no spaces between Chinese
        characters), or None when it is unknown or its Latin spelling means several places
        that `province` (an official name) does not tell apart: "Suzhou" is 苏州 in 江苏 and
        宿州 in 安徽."""
        place = self._by_han.get((level, text))
        if place is not None:
            return place
        if any(char >= "\u2e80" for char in text):
            return None
        candidates: list[Place] = []
        for key in latin_keys(text):
            candidates = self._by_letters.get((level, key), [])
            if candidates:
                break
        if len(candidates) > 1 and province:
            candidates = [place for place in candidates if place.province == province]
        return candidates[0] if len(candidates) == 1 else None


@functools.cache
def gazetteer() -> Gazetteer:
    places = []
    with DATA_FILE.open(encoding="utf-8", newline="") as data:
        rows = csv.reader(line for line in data if not line.startswith("#"))
        for level, name, province, short, pinyin, others in rows:
            place = Place(level, name, province, latin_keys(pinyin)[0])
            places.append((place, short, tuple(filter(None, others.split("|")))))
    return Gazetteer(places)
