"""The one set of masking functions used by templates, exports and the admin.

Every masker takes the stored (normalised) value and returns a display string; ``""`` maps to
``""``. Common rule: a mask never reveals more than about half of a short value, so a value too
short for its usual pattern is masked harder rather than shown almost whole. Where the length
of the value is not itself useful (free text, street, e-mail local part) a fixed ``"***"`` is
used so that the length is not leaked either.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

import phonenumbers

__all__ = [
    "MASK",
    "MASKERS",
    "mask",
    "mask_email",
    "mask_id_number",
    "mask_phone",
    "mask_postcode",
    "mask_street",
    "mask_text",
]

MASK = "*"
_FIXED_MASK = MASK * 3

# Mainland China numbers are shown without "+86", as Chinese users expect ("138****8000").
_DOMESTIC_COUNTRY_CODE = 86
# First 3 + last 4 leaves at least 4 digits hidden from 11 digits on (the length of a Chinese
# mobile number); shorter numbers fall back to the half rule.
_PHONE_HEAD, _PHONE_TAIL, _PHONE_FULL_PATTERN_MIN = 3, 4, 11
# First 3 + last 4 reveals at most half from 14 characters on (CN identity cards have 15 or 18).
_ID_HEAD, _ID_TAIL, _ID_FULL_PATTERN_MIN = 3, 4, 14


def _keep_ends(value: str, head: int, tail: int) -> str:
    """Keep ``head`` leading and ``tail`` trailing characters, mask the rest (same length)."""
    hidden = len(value) - head - tail
    return value[:head] + MASK * hidden + value[len(value) - tail :]


def _mask_digits(digits: str) -> str:
    """Mask a national phone number: first 3 and last 4 when long enough, else the half rule.

    Short numbers reveal ``len // 2`` digits at most, split between the end (rounded up, since
    the last digits are what people recognise) and the start: "12345678" -> "12****78",
    "12345" -> "1***5", "12" -> "*2", "1" -> "*".
    """
    if len(digits) >= _PHONE_FULL_PATTERN_MIN:
        return _keep_ends(digits, _PHONE_HEAD, _PHONE_TAIL)
    shown = len(digits) // 2
    tail = (shown + 1) // 2
    return _keep_ends(digits, shown - tail, tail)


def mask_phone(e164: str) -> str:
    """Mask a phone number, normally stored in E.164 form.

    ``+86`` numbers show the national number only: "+8613800138000" -> "138****8000". Other
    countries keep the country code: "+447700900123" -> "+44 77*****123" (10 national digits, so
    the half rule applies: see :func:`_mask_digits`). A value that ``phonenumbers`` cannot parse
    is masked as a bare digit string, without any country code; formatting characters are
    dropped in every case. ``""`` -> ``""``.
    """
    if not e164:
        return ""
    split = _split_e164(e164)
    if split is not None:
        country_code, national_digits = split
        national = _mask_digits(national_digits)
        return national if country_code == _DOMESTIC_COUNTRY_CODE else f"+{country_code} {national}"
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        # Legacy or hand-typed data; still mask rather than fail a whole page or export.
        return _mask_digits("".join(ch for ch in e164 if ch.isdigit()))
    national = _mask_digits(phonenumbers.national_significant_number(number))
    if number.country_code == _DOMESTIC_COUNTRY_CODE:
        return national
    return f"+{number.country_code} {national}"


_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def _split_e164(e164: str) -> tuple[int, str] | None:
    """Country code and national digits of a well-formed E.164 string, as phonenumbers.parse
    would give them: country codes are prefix-free, so the first 1-3 digits that form one are
    it. None for anything else, and for national digits starting with 0, whose zeros the
    parse treats by country rules (the full parse handles those)."""
    if not _E164.fullmatch(e164):
        return None
    for size in (1, 2, 3):
        code = int(e164[1 : 1 + size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            national = e164[1 + size :]
            if national.startswith("0") or len(national) not in _national_lengths(code):
                return None
            return code, national
    return None


@functools.cache
def _national_lengths(country_code: int) -> frozenset[int]:
    region = phonenumbers.region_code_for_country_code(country_code)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    return frozenset(metadata.general_desc.possible_length) if metadata else frozenset()


def _mask_local_part(local: str) -> str:
    return MASK if len(local) <= 1 else local[0] + _FIXED_MASK


def mask_email(email: str) -> str:
    """Mask the local part of an address, keeping its first character and the domain.

    "zhangwei@qq.com" -> "z***@qq.com"; "a@qq.com" -> "*@qq.com". The split is at the last
    "@" (a quoted local part may contain one). Without "@" everything but the first character
    is masked: "zhangwei" -> "z***", "z" -> "*". ``""`` -> ``""``.
    """
    if not email:
        return ""
    local, at, domain = email.rpartition("@")
    if not at:
        return _mask_local_part(email)
    return f"{_mask_local_part(local)}@{domain}"


def mask_id_number(number: str) -> str:
    """Mask an identity document number, preserving its length.

    - 14 characters or more: first 3 and last 4 shown,
      "110101199003071234" -> "110***********1234".
    - 8 to 13 characters (passports, HK/TW/foreign ids): last 4 shown, "E12345678" ->
      "*****5678"; first 3 + last 4 would reveal most of such a number.
    - under 8: last 2 shown, but never more than half: "1234567" -> "*****67", "123" -> "**3",
      "1" -> "*".

    ``""`` -> ``""``.
    """
    if not number:
        return ""
    if len(number) >= _ID_FULL_PATTERN_MIN:
        return _keep_ends(number, _ID_HEAD, _ID_TAIL)
    if len(number) >= 8:
        return _keep_ends(number, 0, 4)
    return _keep_ends(number, 0, min(2, len(number) // 2))


def mask_text(value: str, keep: int = 1) -> str:
    """Keep the first ``keep`` characters, then a fixed "***" (the length is not leaked).

    At most half of the value is kept, so a short value is never shown whole: "张伟" -> "张***",
    "张" -> "***". ``""`` -> ``""``. ``keep`` must be >= 0.
    """
    if keep < 0:
        raise ValueError("keep must be >= 0")
    if not value:
        return ""
    return value[: min(keep, len(value) // 2)] + _FIXED_MASK


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return (
        0x3040 <= code <= 0x30FF  # Hiragana, Katakana
        or 0x3400 <= code <= 0x4DBF  # CJK Extension A
        or 0x4E00 <= code <= 0x9FFF  # CJK Unified Ideographs
        or 0xAC00 <= code <= 0xD7AF  # Hangul syllables
        or 0xF900 <= code <= 0xFAFF  # CJK Compatibility Ideographs
        or 0x20000 <= code <= 0x3FFFF  # CJK Extensions B and later
    )


def mask_street(street: str) -> str:
    """Mask a street address, keeping only a coarse prefix.

    - Containing CJK characters: the first 2 characters, then "***":
      "北京市朝阳区建国路88号" -> "北京***" (:func:`mask_text` with ``keep=2``, so a 3-character
      value keeps only 1: "建国路" -> "建***").
    - Otherwise the first word, then " ***": "221B Baker Street" -> "221B ***". A single word
      would be shown whole, so it falls back to ``mask_text(keep=2)``: "Broadway" -> "Br***".

    Leading/trailing whitespace is ignored. ``""`` -> ``""``.
    """
    street = street.strip()
    if not street:
        return ""
    if any(_is_cjk(ch) for ch in street):
        return mask_text(street, keep=2)
    words = street.split(maxsplit=1)
    if len(words) < 2:
        return mask_text(street, keep=2)
    return f"{words[0]} {_FIXED_MASK}"


def mask_postcode(postcode: str) -> str:
    """Keep the first 2 characters and mask the rest, preserving the length.

    "100020" -> "10****", "SW1A 1AA" -> "SW******". Values of 3 characters or fewer keep at
    most half: "123" -> "1**". ``""`` -> ``""``.
    """
    if not postcode:
        return ""
    return _keep_ends(postcode, min(2, len(postcode) // 2), 0)


MASKERS: dict[str, Callable[[str], str]] = {
    "phone": mask_phone,
    "email": mask_email,
    "id_number": mask_id_number,
    "street": mask_street,
    "postcode": mask_postcode,
    "text": mask_text,
}


def mask(kind: str, value: str | None) -> str:
    """Mask ``value`` with the masker registered under ``kind`` in :data:`MASKERS`.

    ``None`` -> ``""``. An unknown ``kind`` raises ``KeyError`` even for ``None``, so a typo in
    a template or export definition fails at once instead of hiding behind empty values.
    """
    masker = MASKERS[kind]
    if value is None:
        return ""
    return masker(value)
