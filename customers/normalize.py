"""Turn the way people and spreadsheets write contact data into one canonical form.

Every function here is pure (no database, no network; only settings are read, for the
translated messages and today's date) so that forms, the admin, imports, searches and background
tasks store and look up exactly the same values.

Values that cannot be normalised raise NormalizationError with a translated message for the user
and a stable `code` for programs. Messages never repeat the raw value: it is personal data, and
messages end up in logs, import reports and audit trails.
"""

from __future__ import annotations

import datetime
import functools
import gettext as gettext_module
import math
import re
import unicodedata
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urlsplit, urlunsplit

import phonenumbers
import pycountry
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from pypinyin import lazy_pinyin

from customers.places import CITY, PROVINCE, gazetteer, latin_keys
from kernel.free_text import UNREADABLE_TEXT, has_unreadable_characters
from kernel.person_names import HAN, HAN_CHARACTER, is_han

if TYPE_CHECKING:
    # What gettext_lazy gives in django-stubs (a Promise at run time), and what
    # ValidationError accepts as a message.
    from django.utils.functional import _StrPromise

# Spreadsheet readers (openpyxl, pandas) hand over numbers and NaN, not only text.
RawValue = str | int | float | None


class NormalizationError(ValueError):
    """A raw value that cannot be normalised.

    `message` is a lazily translated string safe to show to the user (it never contains the raw
    value); `code` is a stable slug such as "phone_invalid" for programs and tests.
    """

    def __init__(self, message: str | _StrPromise, code: str) -> None:
        super().__init__(message, code)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return str(self.message)


class IdDocumentKind:
    """The kinds of identity document; the model layer wraps these values in TextChoices."""

    CN_RESIDENT = "cn_resident"
    PASSPORT = "passport"
    OTHER = "other"


# --- Text ----------------------------------------------------------------------------------

# Invisible characters left behind by copy-paste from web pages and by CSV byte-order marks;
# they would otherwise make two identical-looking values differ.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def fold_width(text: str) -> str:
    """Return `text` with full-width forms folded to their ordinary equivalents.

    Uses Unicode NFKC, so full-width digits, letters and signs (U+FF01..U+FF5E, as typed with a
    Chinese input method) and the ideographic space U+3000 become ASCII "0-9", "A-Z", "+",
    "-", "@" and " ". CJK ideographs are left as they are. Zero-width
    spaces, joiners and byte-order marks are removed.
    """
    return unicodedata.normalize("NFKC", text).translate(_INVISIBLE)


def _clean_text(raw: RawValue) -> str:
    """Raw input as folded, stripped text; "" for None and NaN (an empty pandas cell)."""
    if raw is None:
        return ""
    if isinstance(raw, float):
        if math.isnan(raw):
            return ""
        # Excel keeps every number as a float; 13800138000.0 means the whole number.
        if raw.is_integer():
            return str(int(raw))
    return fold_width(str(raw)).strip()


# The separators of transliterated foreign and minority names: 约翰·史密斯, 阿沛·阿旺晋美.
_NAME_DOTS = "·・•‧"
_SPACE_INSIDE_HAN = re.compile(f"(?<=[{HAN}{_NAME_DOTS}]) (?=[{HAN}{_NAME_DOTS}])")


def normalize_name(raw: RawValue) -> str:
    """A person or company name with consistent spacing; "" for None or blank.

    Folds full-width characters, strips, collapses runs of whitespace to one space and removes
    the spaces people type between Chinese characters ("张 伟" -> "张伟", "约翰 · 史密斯" ->
    "约翰·史密斯"). Spaces between Latin words are kept.

    Raises NormalizationError "unreadable_text" for a name holding characters nobody typed
    (kernel.free_text: U+FFFD from undecodable bytes, control characters...). They are refused,
    not dropped: what is left may not be the name, and whitespace splitting would hide some.
    """
    if isinstance(raw, str) and has_unreadable_characters(raw):
        raise NormalizationError(UNREADABLE_TEXT, code="unreadable_text")
    text = " ".join(_clean_text(raw).split())
    return _SPACE_INSIDE_HAN.sub("", text)


# Latin letters and digits of a name once accents are gone ("José" -> "jose").
_SOUND_TOKEN = re.compile(r"[a-z0-9]+")


@functools.lru_cache(maxsize=65_536)
def name_sound(name: str) -> tuple[str, str]:
    """How a normalised name sounds, for finding the same person written another way.

    Returns (pinyin, key). `pinyin` spells Chinese characters in toneless pinyin and Latin
    letters without accents, lower case, one space between syllables or words: "张伟",
    "章伟" and "Zhang Wei" all give "zhang wei". `key` is the sorted letters of that spelling,
    so that it also ignores word order and spacing: "Wei Zhang", "王小明" and "Xiaoming Wang"
    share theirs. Both are "" for a name without letters. Cached: names repeat a lot.
    """
    spelled = " ".join(lazy_pinyin(name, errors="default"))
    plain = unicodedata.normalize("NFKD", spelled.lower())
    tokens = _SOUND_TOKEN.findall(plain.encode("ascii", "ignore").decode())
    return " ".join(tokens), "".join(sorted("".join(tokens)))


# Two-character Chinese surnames, simplified and traditional. Without this list 欧阳修 would be
# filed under 欧 with the given name 阳修.
# fmt: off
_COMPOUND_SURNAMES = frozenset({
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
    "夏侯", "轩辕", "令狐", "钟离", "端木", "申屠", "独孤", "南宫", "西门", "百里", "呼延", "万俟",
    "闻人", "澹台", "公冶", "太史", "赫连", "单于", "司空", "濮阳", "淳于", "太叔", "公羊", "宗政",
    "东郭", "拓跋", "左丘", "鲜于", "仲孙", "颛孙", "第五", "梁丘", "漆雕", "巫马", "乐正",
    # Traditional characters, as written in Hong Kong, Macao and Taiwan.
    "歐陽", "司馬", "諸葛", "東方", "尉遲", "公孫", "長孫", "軒轅", "鍾離", "獨孤", "南宮", "西門",
    "萬俟", "聞人", "澹臺", "赫連", "單于", "濮陽", "東郭", "顓孫", "樂正",
})
# fmt: on

# Lower-case particles that belong to the family name: "Ludwig van Beethoven" -> "van Beethoven".
_SURNAME_PARTICLES = frozenset(
    {"van", "von", "der", "den", "de", "del", "della", "di", "da", "du", "dos", "das", "do"}
    | {"la", "le", "ter", "ten"}
)
# Generational suffixes stay with the family name: "Martin Luther King Jr." -> "King Jr.".
_NAME_SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"})


def split_person_name(name: str) -> tuple[str, str]:
    """Split an already normalised person name into (family_name, given_name).

    Chinese names: the family name is the first character, or the first two when they form a
    known compound surname and a given name follows ("司马光" -> ("司马", "光"), but "单于" ->
    ("单", "于")). Dotted transliterated names put the family name last ("约翰·史密斯" ->
    ("史密斯", "约翰")).

    Latin names: "Smith, John" -> ("Smith", "John"); "John Ronald Smith" -> ("Smith",
    "John Ronald"); lower-case particles and Jr./Sr./II... stay with the family name. A single
    word could be either part, so it is returned as the given name: ("", word).
    Empty input -> ("", "").
    """
    name = name.strip()
    if not name:
        return "", ""
    if is_han(name[0]):
        return _split_chinese_name(name)
    return _split_latin_name(name)


def _split_chinese_name(name: str) -> tuple[str, str]:
    parts = [part for part in re.split(f"[{_NAME_DOTS}]", name) if part.strip()]
    if len(parts) > 1:
        return parts[-1].strip(), "·".join(part.strip() for part in parts[:-1])
    if len(name) > 2 and name[:2] in _COMPOUND_SURNAMES:
        return name[:2], name[2:].strip()
    return name[0], name[1:].strip()


def _split_latin_name(name: str) -> tuple[str, str]:
    parts = [part.strip() for part in name.split(",")]
    suffix = ""
    # In "John Smith, Jr." the comma only sets off the suffix; the name is not family-first.
    if len(parts) > 1 and parts[-1].lower() in _NAME_SUFFIXES:
        suffix = parts.pop()
    if len(parts) > 1:
        family = parts[0]
        given = " ".join(part for part in parts[1:] if part)
    else:
        words = parts[0].split()
        if not suffix and len(words) > 1 and words[-1].lower() in _NAME_SUFFIXES:
            suffix = words.pop()
        if len(words) == 1:
            return "", " ".join(filter(None, (words[0], suffix)))
        family_start = len(words) - 1
        while family_start > 0 and words[family_start - 1] in _SURNAME_PARTICLES:
            family_start -= 1
        family, given = " ".join(words[family_start:]), " ".join(words[:family_start])
    return " ".join(filter(None, (family, suffix))), given


# --- Phone numbers -----------------------------------------------------------------------------

_PHONE_INVALID = _("Enter a valid mobile or landline number.")
_PHONE_TRUNCATED = _(
    "Excel shortened this number to scientific notation and lost digits. "
    "Format the column as text, export again and re-import."
)
# What people put between the digits; anything else (letters, "#", "ext") is not a phone number.
_PHONE_CHARACTERS = re.compile(r"^[\d\s+()\-./\u2010-\u2015\u2212\u30fc]+$")
_EXCEL_FLOAT = re.compile(r"^(\d+)\.0+$")
_SCIENTIFIC = re.compile(r"^(\d)(?:\.(\d+))?[eE]\+?(\d{1,2})$")
# Excel's General format shows at most 6 significant digits in scientific notation
# ("1.38001E+10"), so such a mantissa may have been rounded. Writers that print the shortest
# exact form (Java, many exporters) keep every digit and only drop trailing zeros.
_EXCEL_DISPLAY_DIGITS = 6


def _expand_scientific(text: str) -> str | None:
    """The digits of a number in scientific notation, None if `text` is not one.

    Raises NormalizationError "phone_truncated" when the mantissa may have been rounded (see
    _EXCEL_DISPLAY_DIGITS).
    """
    match = _SCIENTIFIC.match(text)
    if not match:
        return None
    lead, fraction, exponent = match.group(1), match.group(2) or "", int(match.group(3))
    significant = (lead + fraction).rstrip("0") or "0"
    if len(fraction) > exponent:
        # Not a whole number, so not something that was ever a phone or ID number.
        return ""
    digits = lead + fraction + "0" * (exponent - len(fraction))
    if len(significant) <= _EXCEL_DISPLAY_DIGITS and len(significant) < len(digits):
        raise NormalizationError(_PHONE_TRUNCATED, code="phone_truncated")
    return digits


def normalize_phone(raw: RawValue, *, region: str) -> str:
    """A phone number in E.164 form ("+8613800138000"); "" for None or blank.

    `region` is the ISO 3166 country ("CN") assumed for numbers written without a country
    code. Accepts spaces, dashes, dots, brackets, full-width digits, "+86"/"0086"/"86"
    prefixes, Excel floats ("13800138000.0") and Excel scientific notation that kept every digit
    ("1.3800138E+10"). Numbers with "+" and a country code work with any region.

    Raises NormalizationError "phone_truncated" for scientific notation that may have lost
    digits ("1.38001E+10"), "phone_invalid" for anything that libphonenumber does not consider
    a valid number (letters, too short or long, unassigned ranges). Raises ValueError for an
    unknown `region`, which is a configuration mistake, not bad data.
    """
    region = region.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"Unknown phone region: {region!r}")
    text = _clean_text(raw)
    if not text:
        return ""
    excel_float = _EXCEL_FLOAT.match(text)
    if excel_float:
        text = excel_float.group(1)
    else:
        expanded = _expand_scientific(text)
        if expanded is not None:
            text = expanded
    if not _PHONE_CHARACTERS.match(text):
        raise NormalizationError(_PHONE_INVALID, code="phone_invalid")
    plain = _plain_mobile_number(text, region)
    if plain is not None:
        return plain
    for candidate in _phone_candidates(text, region):
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise NormalizationError(_PHONE_INVALID, code="phone_invalid")


_PHONE_SEPARATORS = re.compile(r"[\s()\-./\u2010-\u2015\u2212\u30fc]")
_ASCII_DIGITS = re.compile(r"[0-9]+")


class PlainMobileRules(NamedTuple):
    """What libphonenumber's metadata says of a region's mobile numbers written plainly."""

    # How the country is dialled from abroad ("+86", and "0086" where "00" dials abroad).
    international_prefixes: tuple[str, ...]
    country_code: str
    # National numbers that are mobile numbers, and numbers of the region at all (fullmatch).
    mobile: re.Pattern[str]
    general: re.Pattern[str]
    # The national prefix and carrier codes libphonenumber strips first (match at the start).
    national_prefix: re.Pattern[str] | None


@functools.cache
def plain_mobile_rules(region: str) -> PlainMobileRules | None:
    """The rules of _plain_mobile_number for `region`, None where its metadata has no mobile
    pattern; customers/normalize_batch.py applies the same rules to whole columns."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.mobile is None or not metadata.mobile.national_number_pattern:
        return None
    # "00" + country code means the same as "+" only where "00" dials abroad.
    dials_abroad_with_00 = bool(
        metadata.international_prefix and re.fullmatch(metadata.international_prefix, "00")
    )
    prefixes = ("+", "00") if dials_abroad_with_00 else ("+",)
    return PlainMobileRules(
        tuple(prefix + str(metadata.country_code) for prefix in prefixes),
        str(metadata.country_code),
        re.compile(metadata.mobile.national_number_pattern),
        re.compile(metadata.general_desc.national_number_pattern),
        re.compile(metadata.national_prefix_for_parsing)
        if metadata.national_prefix_for_parsing
        else None,
    )


def _plain_mobile_number(text: str, region: str) -> str | None:
    """The E.164 form of a mobile number written plainly ("139 1234 5678", "+86-13912345678",
    "0086 13912345678") in the given region, decided from libphonenumber's own metadata
    without a full parse; None when the number is written any other way (the full parse then
    decides). It answers only where libphonenumber would: national digits that its
    national-prefix rules leave alone and that match the region's mobile and general
    patterns are a valid mobile number, whose E.164 form is "+", country code, digits."""
    rules = plain_mobile_rules(region)
    if rules is None:
        return None
    international, country_code, mobile, general, national_prefix = rules
    digits = _PHONE_SEPARATORS.sub("", text)
    for prefix in international:
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
            break
    if not _ASCII_DIGITS.fullmatch(digits):
        return None
    if national_prefix is not None and national_prefix.match(digits):
        return None
    if mobile.fullmatch(digits) and general.fullmatch(digits):
        return f"+{country_code}{digits}"
    return None


def _phone_candidates(text: str, region: str) -> list[str]:
    """Readings of `text` to try in order; the first valid one wins."""
    candidates = [text]
    digits = re.sub(r"\D", "", text)
    if "+" in text or not digits:
        return candidates
    if digits.startswith("00"):
        # "00" is the international prefix from China and most of the world; a region with
        # another prefix (the US uses 011) has no valid national number starting with 00.
        candidates.append("+" + digits[2:])
    country_code = str(phonenumbers.country_code_for_region(region))
    if digits.startswith(country_code):
        # "86 13800138000": the country code without "+". Only the region's own code, and
        # only as a fallback, so that a valid national reading always wins.
        candidates.append("+" + digits)
    return candidates


# --- Email and website -------------------------------------------------------------------------

_EMAIL_INVALID = _("Enter a valid email address.")
_WEBSITE_INVALID = _("Enter a valid website address.")
# Chinese input methods type the ideographic full stop for "."; IDNA treats it as a dot too.
_IDEOGRAPHIC_FULL_STOP = str.maketrans({"。": "."})


def normalize_email(raw: RawValue) -> str:
    """A lower-case email address; "" for None or blank.

    Folds full-width characters (a full-width "@"), strips whitespace, a surrounding "<...>" and a
    "mailto:" prefix, and lowercases the whole address (mailbox names are case-insensitive at
    every provider our customers use, and one spelling makes duplicates findable).
    Raises NormalizationError "email_invalid" when Django's validate_email rejects it.
    """
    text = _clean_text(raw).translate(_IDEOGRAPHIC_FULL_STOP)
    if not text:
        return ""
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1].strip()
    if text.lower().startswith("mailto:"):
        text = text[len("mailto:") :].strip()
    address = text.lower()
    try:
        validate_email(address)
    except ValidationError as error:
        raise NormalizationError(_EMAIL_INVALID, code="email_invalid") from error
    return address


_HAS_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://")
_validate_website = URLValidator(schemes=["http", "https"])


def normalize_website(raw: RawValue) -> str:
    """A website URL with a scheme ("example.com" -> "https://example.com"); "" for blank.

    Only http and https are accepted. The scheme and host are lowercased; the path is kept as
    typed. Raises NormalizationError "website_invalid" when Django's URLValidator rejects it.
    """
    text = _clean_text(raw).translate(_IDEOGRAPHIC_FULL_STOP)
    if not text:
        return ""
    if not _HAS_SCHEME.match(text):
        text = "https://" + text
    try:
        parts = urlsplit(text)
    except ValueError as error:  # e.g. an unclosed IPv6 bracket
        raise NormalizationError(_WEBSITE_INVALID, code="website_invalid") from error
    url = urlunsplit(parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower()))
    try:
        _validate_website(url)
    except ValidationError as error:
        raise NormalizationError(_WEBSITE_INVALID, code="website_invalid") from error
    return url


# --- Dates -----------------------------------------------------------------------------------

_DATE_INVALID = _("This is not a real calendar date.")
_DATE_OUT_OF_RANGE = _("Enter a date between the years 1900 and 2100.")
_DATE_AMBIGUOUS = _("This date could be read as day/month or month/day. Write it as YYYY-MM-DD.")
_DATE_UNRECOGNISED = _("Enter a date such as 2024-01-05.")
_DATE_YEAR_ONLY = _("Enter the full date, not only the year.")

_MIN_YEAR, _MAX_YEAR = 1900, 2100
# Excel's day 0; it also absorbs Excel's fictitious 29 February 1900 for every later serial.
_EXCEL_EPOCH = datetime.date(1899, 12, 30)
_MAX_EXCEL_SERIAL = 2958465  # 9999-12-31
_TIME = r"(?:[T\s]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2})?)?"
_YEAR_FIRST = re.compile(
    rf"^(?P<y>\d{{4}})(?P<sep>[-/.])(?P<m>\d{{1,2}})(?P=sep)(?P<d>\d{{1,2}}){_TIME}$"
)
_CHINESE = re.compile(
    rf"^(?P<y>\d{{4}})\s*年\s*(?P<m>\d{{1,2}})\s*月\s*(?P<d>\d{{1,2}})\s*[日号]?{_TIME}$"
)
_YEAR_LAST = re.compile(
    rf"^(?P<a>\d{{1,2}})(?P<sep>[-/.])(?P<b>\d{{1,2}})(?P=sep)(?P<y>\d{{4}}){_TIME}$"
)
_COMPACT = re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$")
_SERIAL = re.compile(r"^(?P<serial>\d{1,5})(?:\.0+)?$")


def parse_date(raw: object, *, day_first: bool | None = None) -> datetime.date | None:
    """A calendar date from what people, spreadsheets and exports write; None for blank.

    Accepts date and datetime objects (the time is dropped); "2024-01-05", "2024/1/5",
    "2024.1.5", "20240105", "2024年1月5日"/"号", full-width digits, a trailing time of day;
    Excel serial numbers as int, float or a string of up to 5 digits ("45296" -> 2024-01-05);
    "05/01/2024" day-first or month-first when one part is over 12 or both are equal, else as
    `day_first` says (True: 5 January; False: May 1).

    Raises NormalizationError with code "date_order_ambiguous" for "05/01/2024" when
    `day_first` is None; "date_ambiguous" for a bare year such as "1990" (a year, not the
    Excel serial for 1905-06-12); "date_invalid" for dates that do not exist ("1990-02-30") or
    fall outside the years 1900..2100; "date_unrecognised" for anything else.
    """
    if isinstance(raw, datetime.datetime):
        return _in_range(raw.date())
    if isinstance(raw, datetime.date):
        return _in_range(raw)
    if isinstance(raw, bool):
        raise NormalizationError(_DATE_UNRECOGNISED, code="date_unrecognised")
    if isinstance(raw, float) and not math.isnan(raw):
        if not math.isfinite(raw):
            raise NormalizationError(_DATE_UNRECOGNISED, code="date_unrecognised")
        # The fraction is the time of day.
        raw = math.floor(raw)
    if isinstance(raw, int):
        # Excel keeps a typed 20240105 as a number.
        if 10_000_000 <= raw <= 99_999_999:
            return _parse_date_text(str(raw), day_first=day_first)
        return _from_excel_serial(raw)
    if raw is None or isinstance(raw, float | str):
        text = _clean_text(raw)
        return _parse_date_text(text, day_first=day_first) if text else None
    raise NormalizationError(_DATE_UNRECOGNISED, code="date_unrecognised")


def _parse_date_text(text: str, *, day_first: bool | None) -> datetime.date:
    match = _YEAR_FIRST.match(text) or _CHINESE.match(text) or _COMPACT.match(text)
    if match:
        return _make_date(match["y"], match["m"], match["d"])
    match = _YEAR_LAST.match(text)
    if match:
        first, second = int(match["a"]), int(match["b"])
        if first > 12 and second <= 12:
            return _make_date(match["y"], second, first)
        if second > 12 and first <= 12:
            return _make_date(match["y"], first, second)
        if first == second:
            return _make_date(match["y"], first, second)
        if first <= 12 and second <= 12:
            if day_first is None:
                raise NormalizationError(_DATE_AMBIGUOUS, code="date_order_ambiguous")
            day, month = (first, second) if day_first else (second, first)
            return _make_date(match["y"], month, day)
        raise NormalizationError(_DATE_INVALID, code="date_invalid")
    match = _SERIAL.match(text)
    if match:
        return _from_excel_serial(int(match["serial"]))
    raise NormalizationError(_DATE_UNRECOGNISED, code="date_unrecognised")


def _from_excel_serial(serial: int) -> datetime.date:
    if _MIN_YEAR <= serial <= _MAX_YEAR:
        # Far more likely a year of birth than a day in 1905.
        raise NormalizationError(_DATE_YEAR_ONLY, code="date_ambiguous")
    if not 1 <= serial <= _MAX_EXCEL_SERIAL:
        raise NormalizationError(_DATE_UNRECOGNISED, code="date_unrecognised")
    return _in_range(_EXCEL_EPOCH + datetime.timedelta(days=serial))


def _make_date(year: str | int, month: str | int, day: str | int) -> datetime.date:
    if not _MIN_YEAR <= int(year) <= _MAX_YEAR:
        raise NormalizationError(_DATE_OUT_OF_RANGE, code="date_invalid")
    try:
        return datetime.date(int(year), int(month), int(day))
    except ValueError as error:
        raise NormalizationError(_DATE_INVALID, code="date_invalid") from error


def _in_range(value: datetime.date) -> datetime.date:
    if not _MIN_YEAR <= value.year <= _MAX_YEAR:
        raise NormalizationError(_DATE_OUT_OF_RANGE, code="date_invalid")
    return value


# --- Identity documents ------------------------------------------------------------------------

_ID_KIND_INVALID = _("Choose a valid type of identity document.")
_ID_TRUNCATED = _(
    "Excel shortened this ID number and lost digits. "
    "Format the column as text, export again and re-import."
)
_CN_ID_LENGTH = _("A resident ID number has 18 characters (15 digits on old cards).")
_CN_ID_CHARACTERS = _("A resident ID number has only digits, and possibly X as the last character.")
_CN_ID_CHECKSUM = _("This resident ID number is mistyped: its check digit does not match.")
_CN_ID_BIRTH_DATE = _("The birth date inside this resident ID number is not possible.")
_PASSPORT_INVALID = _("A passport number has 5 to 20 letters and digits.")
_OTHER_ID_INVALID = _("An ID number has 1 to 64 characters.")

# GB 11643-1999: ISO 7064 MOD 11-2 over the first 17 digits.
_CN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CN_ID_CHECK_CHARACTERS = "10X98765432"
_CN_ID = re.compile(r"^\d{17}[\dX]$")
_CN_LEGACY_ID = re.compile(r"^\d{15}$")
_PASSPORT = re.compile(r"^[A-Z0-9]{5,20}$")
_OTHER_ID_MAX_LENGTH = 64
_CN_ID_MIN_BIRTH_YEAR = 1800
_ID_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212]+")
# Excel keeps 15 significant digits, so a longer number that arrives as a number lost its tail.
_EXCEL_PRECISION = 15


def _cn_id_check_character(first_17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first_17, _CN_ID_WEIGHTS, strict=True))
    return _CN_ID_CHECK_CHARACTERS[total % 11]


def normalize_id_number(kind: str, raw: RawValue) -> str:
    """An identity document number in canonical form; "" for None or blank.

    `kind` is an IdDocumentKind value. Folds full-width characters, removes spaces and dashes
    and uppercases. For "cn_resident" the number must have 18 characters with a valid
    ISO 7064 MOD 11-2 check character and a real birth date that is not in the future; legacy
    15-digit numbers are converted to 18. "passport": 5 to 20 letters and digits. "other": 1 to
    64 characters.

    Raises NormalizationError with code "id_length", "id_checksum", "id_birth_date" (resident
    IDs), "id_truncated" (Excel turned the number into a float or scientific notation),
    "id_kind_invalid" (unknown kind) or "id_invalid" (anything else).
    """
    text = _clean_text(raw)
    if not text:
        return ""
    arrived_as_number = isinstance(raw, int | float) and not isinstance(raw, bool)
    if _SCIENTIFIC.match(text) or (arrived_as_number and len(text) > _EXCEL_PRECISION):
        raise NormalizationError(_ID_TRUNCATED, code="id_truncated")
    number = _ID_SEPARATORS.sub("", text).upper()

    if kind == IdDocumentKind.CN_RESIDENT:
        return _normalize_cn_resident_id(number)
    if kind == IdDocumentKind.PASSPORT:
        if not _PASSPORT.match(number):
            raise NormalizationError(_PASSPORT_INVALID, code="id_invalid")
        return number
    if kind == IdDocumentKind.OTHER:
        if not 1 <= len(number) <= _OTHER_ID_MAX_LENGTH:
            raise NormalizationError(_OTHER_ID_INVALID, code="id_invalid")
        return number
    raise NormalizationError(_ID_KIND_INVALID, code="id_kind_invalid")


def _normalize_cn_resident_id(number: str) -> str:
    if _CN_LEGACY_ID.match(number):
        # First-generation cards (before 1999) have a 2-digit year and no check character.
        first_17 = number[:6] + "19" + number[6:]
        number = first_17 + _cn_id_check_character(first_17)
    elif len(number) != 18:
        raise NormalizationError(_CN_ID_LENGTH, code="id_length")
    if not _CN_ID.match(number):
        raise NormalizationError(_CN_ID_CHARACTERS, code="id_invalid")
    if _cn_id_check_character(number[:17]) != number[17]:
        raise NormalizationError(_CN_ID_CHECKSUM, code="id_checksum")
    birth_date = _cn_id_birth_date(number)
    if birth_date is None or birth_date > _today():
        raise NormalizationError(_CN_ID_BIRTH_DATE, code="id_birth_date")
    return number


def _cn_id_birth_date(number: str) -> datetime.date | None:
    """The date in characters 7-14 of an 18-character ID; None if it is not a real date."""
    year, month, day = int(number[6:10]), int(number[10:12]), int(number[12:14])
    # Cards were first issued in 1984; no holder was born before 1800 (the standard's own
    # sample 440524188001010014 was born in 1880).
    if year < _CN_ID_MIN_BIRTH_YEAR:
        return None
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


def _today() -> datetime.date:
    """Today in the configured time zone (works whether or not USE_TZ is on)."""
    return datetime.datetime.now(tz=timezone.get_current_timezone()).date()


def _require_cn_id(number: str) -> None:
    if not _CN_ID.match(number):
        raise ValueError("Not a normalised 18-character resident ID number")


def birth_date_from_cn_id(number: str) -> datetime.date:
    """The birth date stated in a resident ID number already passed through normalize_id_number.

    Raises ValueError if `number` is not such a number (a programming error, not bad data).
    """
    _require_cn_id(number)
    birth_date = _cn_id_birth_date(number)
    if birth_date is None:
        raise ValueError("The resident ID number does not contain a real birth date")
    return birth_date


def gender_from_cn_id(number: str) -> str:
    """ "male" or "female" as stated by the 17th digit (odd for men) of a normalised resident ID.

    Raises ValueError if `number` is not a normalised 18-character resident ID number.
    """
    _require_cn_id(number)
    return "male" if int(number[16]) % 2 else "female"


# --- Postcodes -------------------------------------------------------------------------------

_CN_POSTCODE_INVALID = _("A Chinese postcode has 6 digits.")
_POSTCODE_INVALID = _("Enter a valid postcode.")
_CN_POSTCODE = re.compile(r"^\d{6}$")
# Covers every national format (UK "SW1A 1AA", NL "1234 AB", US "94105-1234") loosely.
_POSTCODE = re.compile(r"^[A-Z0-9][A-Z0-9 \-]{0,8}[A-Z0-9]$")


def normalize_postcode(raw: RawValue, *, country: str) -> str:
    """A postcode in upper case with single spaces; "" for None or blank.

    `country` is the ISO 3166 code of the address. China ("CN") requires exactly 6 digits;
    elsewhere 2 to 10 letters, digits, spaces and dashes, starting and ending with a letter
    or digit. Raises NormalizationError "postcode_invalid".
    """
    text = " ".join(_clean_text(raw).upper().split())
    if not text:
        return ""
    if country.upper() == "CN":
        if not _CN_POSTCODE.match(text):
            raise NormalizationError(_CN_POSTCODE_INVALID, code="postcode_invalid")
        return text
    if not _POSTCODE.match(text):
        raise NormalizationError(_POSTCODE_INVALID, code="postcode_invalid")
    return text


# --- Country -----------------------------------------------------------------------------------

_COUNTRY_INVALID = _("Enter a country as a two-letter code (CN, US...) or its name.")
# Names Chinese spreadsheets use that the ISO list words differently.
_EXTRA_COUNTRY_NAMES = {
    "中國": "CN",
    "中国大陆": "CN",
    "大陆": "CN",
    "內地": "CN",
    "内地": "CN",
    "台湾": "TW",
    "臺灣": "TW",
    "澳门": "MO",
    "澳門": "MO",
    "英國": "GB",
    "美國": "US",
    "uk": "GB",
    "usa": "US",
}


@functools.cache
def _country_names() -> dict[str, str]:
    """Every ISO 3166 country by code, English names and Chinese name, case-folded."""
    chinese = gettext_module.translation(
        "iso3166-1", pycountry.LOCALES_DIR, languages=["zh_CN"], fallback=True
    )
    names: dict[str, str] = {}
    for country in pycountry.countries:
        code = country.alpha_2
        for name in (
            code,
            country.alpha_3,
            country.name,
            getattr(country, "common_name", ""),
            getattr(country, "official_name", ""),
            chinese.gettext(country.name),
        ):
            if name:
                names.setdefault(name.casefold(), code)
    names.update(_EXTRA_COUNTRY_NAMES)
    return names


def normalize_country(raw: RawValue) -> str:
    """An ISO 3166 two-letter code from a code ("cn", "CHN") or a name in English or Chinese
    ("China", "中国"); "" for None or blank. Raises NormalizationError "country_invalid"."""
    text = " ".join(_clean_text(raw).split())
    if not text:
        return ""
    code = _country_names().get(text.casefold())
    if code is None:
        raise NormalizationError(_COUNTRY_INVALID, code="country_invalid")
    return code


# --- Places ----------------------------------------------------------------------------------

# Countries whose addresses use China's divisions: Latin spellings are read through the
# gazetteer (customers/places.py) only there, so that "Dali" elsewhere stays as typed.
CHINESE_DIVISION_COUNTRIES = frozenset({"CN", "HK", "MO", "TW"})
# The division words that end the Chinese name of a city the gazetteer does not know (昆山市).
_PLACE_SUFFIX = re.compile("(地区|自治州|自治县|市|县|区|盟)$")
_WORD_START = re.compile(r"(^|[\s-])(\w)")


# A state or province code as shop exports write them (ON, NSW, NY): one word this short.
_PLACE_CODE = re.compile("[A-Za-z]{2,3}")


def _tidy_place(raw: RawValue) -> str:
    """A place name as typed, tidied: folded, spaces collapsed (none between Chinese
    characters), and a Latin name typed all in lower or upper case capitalised by word
    ("new york", "NEW YORK" -> "New York"); mixed case (McAllen) and an upper-case code
    (NYC, ON) are kept."""
    text = normalize_name(raw)
    if text.islower() or (text.isupper() and not _PLACE_CODE.fullmatch(text)):
        text = _WORD_START.sub(lambda word: word[1] + word[2].upper(), text.lower())
    return text


def _uses_chinese_divisions(country: str, text: str) -> bool:
    return not country or country in CHINESE_DIVISION_COUNTRIES or bool(HAN_CHARACTER.search(text))


def normalize_province(raw: RawValue, *, country: str = "") -> str:
    """A province as stored: the official name of a Chinese provincial-level division from
    any common spelling ("广东", "Guangdong", "guangdong sheng" -> "广东省"; "上海", "Shanghai"
    -> "上海市"; "Hong Kong" -> "香港特别行政区"); anything else tidied (_tidy_place) and kept.
    Latin spellings are read as Chinese only for addresses in `country` CN, HK, MO or TW, or
    of unknown country (""). "" for None or blank.

    The official name is what Chinese address forms, ID cards and the demo data write, and it
    tells 吉林省 from 吉林市. Raises NormalizationError "unreadable_text" (normalize_name)."""
    text = _tidy_place(raw)
    if text and _uses_chinese_divisions(country, text):
        place = gazetteer().find(PROVINCE, text)
        if place is not None:
            return place.name
    # Shop exports give a state as its code, in either case ("on", "nsw"): a code, not a name.
    return text.upper() if _PLACE_CODE.fullmatch(text) else text


def normalize_city(raw: RawValue, *, country: str = "", province: str = "") -> str:
    """A city as stored: the official name of a Chinese prefecture-level city (or municipality,
    or Hong Kong / Macao) from any common spelling ("上海", "上海 市", "Shanghai Shi",
    "SHANGHAI" -> "上海市"; "Shenzhen" -> "深圳市"; "Peking" -> "北京市"); anything else tidied
    and kept ("new york" -> "New York", 昆山市 as written). A Latin spelling shared by two cities
    ("Suzhou": 苏州市 and 宿州市) is told apart by `province` (an official name, as
    normalize_province returns) or else kept as typed. Countries as for normalize_province."""
    text = _tidy_place(raw)
    if text and _uses_chinese_divisions(country, text):
        place = gazetteer().find(CITY, text, province=province)
        if place is not None:
            return place.name
    return text


def city_province(city: str) -> str:
    """The province of a city as normalize_city stores it ("深圳市" -> "广东省"); "" for a city
    the gazetteer does not know. A prefecture-level city lies in exactly one province, so this
    may fill an empty province."""
    place = gazetteer().find(CITY, city) if HAN_CHARACTER.search(city) else None
    return place.province if place is not None else ""


def place_pinyin(name: str) -> str:
    """How a stored Chinese place name is spelt in Latin letters, as latin_keys spells a query:
    "shanghai" for 上海市, "yanbian" for 延边朝鲜族自治州, "kunshan" for 昆山市 (unknown to the
    gazetteer, the division word dropped). "" for a name without Chinese characters: its
    Latin spelling is the name itself."""
    if not HAN_CHARACTER.search(name):
        return ""
    place = gazetteer().find(CITY, name)
    if place is not None:
        return place.pinyin
    return latin_keys("".join(lazy_pinyin(_PLACE_SUFFIX.sub("", name))))[0]


@functools.lru_cache(maxsize=4096)
def normalize_places(*, country: str, province: RawValue, city: RawValue) -> tuple[str, str, str]:
    """(province, city, city_pinyin) of an address as stored: both names normalised (the
    province helps tell apart cities spelt alike), the city's pinyin, and an empty province
    filled from a city the gazetteer knows (深圳 -> 广东省): a prefecture-level city lies in
    one province only, so this guesses nothing. A province given with the city is kept even
    when it disagrees: which of the two is wrong is for staff to say. Cached: a file names
    the same few places again and again."""
    province = normalize_province(province, country=country)
    city = normalize_city(city, country=country, province=province)
    if not province and _uses_chinese_divisions(country, city):
        province = city_province(city)
    return province, city, place_pinyin(city)
