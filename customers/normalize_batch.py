"""The batch speed of customers/normalize.py: a whole column of a file at once.

An import spends most of its Python time cleaning values one by one, though nearly all of them
come in a few shapes: a mobile number with spaces or a "+86", a plain ASCII email address, a
date as 1990-01-05, 1990/1/5 or 19900105. Each function here takes a batch's texts and answers,
with Apache Arrow's compute kernels over the whole batch (RE2 regular expressions, one pass per
rule), for the texts of those shapes only: a dict from text to the value the per-value function
of customers/normalize.py gives for it. Every other text, and every text the per-value function
would refuse, is left out: the caller cleans it one by one, so every error and its message still
come from one place. Repeated texts are answered once.

The rules are not copied: phones come from the same libphonenumber metadata
(normalize.plain_mobile_rules), and the shapes accepted here are narrower than the per-value
rules, never wider. tests/customers/test_normalize_batch.py holds the two speeds to the same
answer for every generated input, in several phone regions.
"""

from __future__ import annotations

import array
import datetime
import functools
import itertools
import re
from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc

from customers.normalize import plain_mobile_rules

# A batch's columns are small and short-lived: the C library's allocator gives their memory
# back, where Arrow's default (mimalloc) keeps it for reuse, 7 MB more at the peak of an import.
pa.set_memory_pool(pa.system_memory_pool())

# The separators a plainly written number may have here (the per-value rules take more).
_PLAIN_PHONE = r"^\+?[0-9][0-9 \-]*$"
_PLAIN_SEPARATORS = r"[ \-]"

# The addresses Django's validate_email accepts at its first try, ASCII and lower case: a
# dot-atom local part, host labels of letters, digits and inner hyphens, a top-level domain of
# 2 to 63 letters and inner hyphens (no punycode: that is left to validate_email).
_EMAIL_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{}|~\-]+"
_EMAIL_LABEL = r"[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?"
_PLAIN_EMAIL = (
    rf"^{_EMAIL_ATOM}(?:\.{_EMAIL_ATOM})*@{_EMAIL_LABEL}(?:\.{_EMAIL_LABEL})*"
    r"\.[a-z][a-z\-]{0,61}[a-z]$"
)
# At most 320 characters (RFC 3696, as validate_email); ASCII, so as many bytes.
_EMAIL_LENGTH = r"^.{1,320}$"

# Year first with one separator throughout, or eight digits.
_PLAIN_DATE = (
    r"^[0-9]{4}(?:-[0-9]{1,2}-[0-9]{1,2}|/[0-9]{1,2}/[0-9]{1,2}|\.[0-9]{1,2}\.[0-9]{1,2})$"
    r"|^[0-9]{8}$"
)
_DATE_PARTS = r"^([0-9]{4})[-/.]?([0-9]{1,2})[-/.]?([0-9]{1,2})$"
_COMPACT_DATE = r"^([0-9]{4})([0-9]{2})([0-9]{2})$"
_IN_YEARS = r"^(?:19[0-9]{2}|20[0-9]{2}|2100)-"  # 1900..2100, as parse_date


def _distinct(texts: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(text for text in texts if text))


def _column(texts: list[str]) -> pa.StringArray:
    """An Arrow string column of `texts`, built from its buffers: pa.array() would import
    pandas to look for its types, 45 MB of the import worker's memory for nothing."""
    encoded = [text.encode() for text in texts]
    offsets = array.array("i", itertools.accumulate(map(len, encoded), initial=0))
    return pa.StringArray.from_buffers(
        len(texts), pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))
    )


def _matches(column: pa.Array, pattern: str) -> pa.BooleanArray:
    """Where `column` matches `pattern` (RE2), false where it is null. (Python scalars are
    kept out of the compute calls: pa.scalar() imports pandas just as pa.array() does.)"""
    found = pc.match_substring_regex(column, pattern)
    return pc.and_kleene(found, pc.is_valid(found))


def _all(*masks: pa.BooleanArray) -> pa.BooleanArray:
    return functools.reduce(pc.and_, masks)


def _answers(column: pa.StringArray, sure: pa.Array, values: pa.Array) -> dict:
    chosen = pc.filter(column, sure).to_pylist()
    return dict(zip(chosen, pc.filter(values, sure).to_pylist(), strict=True))


def _anchored(metadata_pattern: str) -> str:
    """A pattern of libphonenumber's metadata as its fullmatch()."""
    return f"^(?:{metadata_pattern})$"


def phones(texts: Iterable[str], *, region: str) -> dict[str, str]:
    """The E.164 form of each text that is a mobile number of `region` written plainly (digits,
    spaces and dashes, with or without the country's "+86" or "0086"), as normalize_phone
    gives it."""
    distinct = _distinct(texts)
    rules = plain_mobile_rules(region.upper())
    if not distinct or rules is None:
        return {}
    column = _column(distinct)
    digits = pc.replace_substring_regex(column, _PLAIN_SEPARATORS, "")
    abroad = "|".join(re.escape(prefix) for prefix in rules.international_prefixes)
    national = pc.replace_substring_regex(digits, f"^(?:{abroad})", "", max_replacements=1)
    sure = _all(
        _matches(column, _PLAIN_PHONE),
        _matches(national, "^[0-9]+$"),
        _matches(national, _anchored(rules.mobile.pattern)),
        _matches(national, _anchored(rules.general.pattern)),
    )
    if rules.national_prefix is not None:
        prefixed = _matches(national, f"^(?:{rules.national_prefix.pattern})")
        sure = pc.and_(sure, pc.invert(prefixed))
    e164 = pc.replace_substring_regex(national, "^", f"+{rules.country_code}", max_replacements=1)
    return _answers(column, sure, e164)


def emails(texts: Iterable[str]) -> dict[str, str]:
    """The lower-case form of each text that is a plain ASCII email address, as
    normalize_email gives it."""
    distinct = _distinct(texts)
    if not distinct:
        return {}
    column = _column(distinct)
    lower = pc.ascii_lower(column)
    sure = pc.and_(_matches(lower, _PLAIN_EMAIL), _matches(lower, _EMAIL_LENGTH))
    return _answers(column, sure, lower)


def dates(texts: Iterable[str]) -> dict[str, datetime.date]:
    """The date of each text written year first (1990-01-05, 1990/1/5, 1990.1.5, 19900105)
    that is a real calendar date between the years 1900 and 2100, as parse_date gives it."""
    distinct = _distinct(texts)
    if not distinct:
        return {}
    column = _column(distinct)
    spaced = pc.replace_substring_regex(column, _COMPACT_DATE, r"\1-\2-\3")
    # Year, month and day, zero-padded: "1990-01-05" (null where the shape is another).
    iso = pc.replace_substring_regex(spaced, _DATE_PARTS, r"\1-0\2-0\3")
    iso = pc.replace_substring_regex(iso, r"-0([0-9]{2})", r"-\1")
    # strptime rolls 1990-02-30 over to 2 March: a date that does not print back as it was
    # read does not exist, and is left to parse_date to refuse.
    read = pc.strptime(iso, format="%Y-%m-%d", unit="s", error_is_null=True)
    real = pc.equal(pc.strftime(read, format="%Y-%m-%d"), iso)
    sure = _all(
        _matches(column, _PLAIN_DATE),
        pc.and_kleene(real, pc.is_valid(real)),
        _matches(iso, _IN_YEARS),
    )
    return _answers(column, sure, pc.cast(read, pa.date32()))
