"""The two speeds of normalisation give one answer: for every generated messy value, a batch
cleaned by customers/normalize_batch.py, with what it is not sure of cleaned one by one,
gives the value, error code and message that customers/normalize.py gives value by value;
and the batch path does answer the shapes files are made of."""

import datetime

import phonenumbers
import pytest
from django.utils import translation
from hypothesis import example, given, settings
from hypothesis import strategies as st

from customers import normalize_batch
from customers.normalize import NormalizationError, normalize_email, normalize_phone, parse_date

REGIONS = ["CN", "US", "GB", "DE", "HK", "SG", "JP", "AR", "MX", "IN"]
BATCH = st.lists
EXAMPLES = settings(max_examples=100, deadline=None)
FULL_WIDTH = str.maketrans(
    "0123456789+-@.ABCabc ", "０１２３４５６７８９＋－＠．ＡＢＣａｂｃ\u3000"
)


def _outcome(clean, text):
    """What the per-value function says of `text`, in both languages."""
    try:
        return ("value", clean(text))
    except NormalizationError as error:
        messages = []
        for language in ("en", "zh-hans"):
            with translation.override(language):
                messages.append(str(error.message))
        return ("error", error.code, *messages)


def _assert_one_answer(texts, batch, clean):
    answered = batch(texts)
    for text in texts:
        one_by_one = _outcome(clean, text)
        both_speeds = ("value", answered[text]) if text in answered else one_by_one
        assert both_speeds == one_by_one, text
    assert set(answered) <= set(texts)


def _separated(pieces: list[str], separators: list[str]) -> str:
    return "".join(piece + separator for piece, separator in zip(pieces, separators, strict=False))


def _example_numbers(region: str) -> list[str]:
    """The national digits of libphonenumber's example numbers of each type for `region`."""
    numbers = []
    for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
        example = phonenumbers.example_number_for_type(region, kind)
        if example is not None:
            numbers.append(phonenumbers.national_significant_number(example))
    return numbers


@st.composite
def messy_phones(draw, region: str) -> str:
    """Numbers near the region's real mobile and landline numbers (an example number with its
    last digits changed, a digit more or less, its national prefix), or any digits, written
    with the prefixes, separators, full-width digits and leftovers files have."""
    country_code = str(phonenumbers.country_code_for_region(region))
    examples = _example_numbers(region)
    if examples and draw(st.integers(0, 3)):
        example = draw(st.sampled_from(examples))
        kept = draw(st.integers(1, len(example)))
        body = example[:kept] + draw(
            st.text("0123456789", min_size=len(example) - kept, max_size=len(example) - kept + 1)
        )
        body = draw(st.sampled_from([body, body, body[:-1], "0" + body, "15" + body]))
    else:
        head = draw(st.sampled_from(["13", "15", "18", "19", "2", "5", "7", "9", "1", "0"]))
        body = head + draw(st.text("0123456789", min_size=4, max_size=11))
    prefix = draw(
        st.sampled_from(
            [
                "",
                "",
                "",
                "+",
                f"+{country_code}",
                f"00{country_code}",
                country_code,
                "00",
                "0",
                "+1",
                f"+{country_code} 0",
                "0086",
                "+86",
                "011",
            ]
        )
    )
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=4)))
    pieces = [body[start:end] for start, end in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    separators = draw(
        st.lists(
            st.sampled_from(
                [" ", "-", " ", "-", ".", "/", "(", ")", "\u3000", "－", " - ", "\u200b"]
            ),
            min_size=len(pieces),
            max_size=len(pieces),
        )
    )
    text = prefix + draw(st.sampled_from(["", " ", "-"])) + _separated(pieces, separators[:-1])
    text += draw(st.sampled_from(["", "", "", ".0", "E+10", "x", " ext 12", " ", "#"]))
    if draw(st.integers(0, 9)) == 0:
        text = text.translate(FULL_WIDTH)
    return text


@pytest.mark.parametrize("region", REGIONS)
@EXAMPLES
@given(data=st.data())
def test_phones_read_alike_at_both_speeds(region, data):
    texts = data.draw(BATCH(messy_phones(region), min_size=10, max_size=60))
    _assert_one_answer(
        texts,
        lambda batch: normalize_batch.phones(batch, region=region),
        lambda text: normalize_phone(text, region=region),
    )


_ATOM = st.text("abcxyzABZ0189_+-!#'%&*/=?^`{|}~", min_size=1, max_size=6)
_LABEL = st.text("abcxyzAZ09-", min_size=1, max_size=6)


@st.composite
def messy_emails(draw) -> str:
    """Mostly addresses of the plain shape, with a near miss in one part: a top-level domain
    of one character, with a digit or a hyphen at an end, an empty or hyphenated label, a
    doubled dot, a quote or an accent, the wrapping and folding the per-value rules undo."""
    local = ".".join(draw(st.lists(_ATOM, min_size=1, max_size=3)))
    local = draw(
        st.sampled_from(
            [local, local, local, f".{local}", f"{local}..x", f'"{local}"', f"{local}é"]
        )
    )
    labels = draw(st.lists(_LABEL, min_size=1, max_size=3))
    tld = draw(
        st.one_of(
            st.text("comcnCNde", min_size=1, max_size=4),
            st.text("cn-1", min_size=1, max_size=3),
            st.just("xn--p1ai"),
        )
    )
    domain = ".".join([*labels, tld])
    domain = draw(
        st.sampled_from(
            [
                domain,
                domain,
                domain,
                f"{domain}.",
                f"{domain}。com",
                f"-{domain}",
                "localhost",
                "[127.0.0.1]",
            ]
        )
    )
    at = draw(st.sampled_from(["@", "@", "@", "@", "", "@@", "＠", " @"]))
    text = local + at + domain
    text = draw(st.sampled_from(["", "", "", " ", "<", "mailto:", "MAILTO:"])) + text
    text += ">" if text.startswith("<") else ""
    if draw(st.integers(0, 9)) == 0:
        text = text.translate(FULL_WIDTH)
    if draw(st.integers(0, 19)) == 0:
        text = "a" * draw(st.integers(280, 330)) + text  # about the 320 characters allowed
    return text


@EXAMPLES
@given(texts=BATCH(messy_emails(), min_size=10, max_size=60))
@example(texts=["a@b.c", "a@b.c1", "a@-b.cn", "a@b-.cn", "a..b@c.cn", "a@xn--p1ai", "A@B.CN"])
def test_emails_read_alike_at_both_speeds(texts):
    _assert_one_answer(texts, normalize_batch.emails, normalize_email)


@st.composite
def messy_dates(draw) -> str:
    """Dates in every shape parse_date reads, most of them year first, and near misses: days
    past the month's end, month 0 or 13, years either side of 1900..2100, mixed separators,
    times, serials, full-width digits."""
    year = str(draw(st.sampled_from([1899, 1900, 2000, 2100, 2101]) | st.integers(1800, 2200)))
    month = draw(st.integers(1, 12) | st.sampled_from([2, 4, 0, 13]))
    day = draw(st.integers(28, 31) | st.integers(1, 31) | st.sampled_from([0, 32]))
    month_text = f"{month:02d}" if draw(st.booleans()) else str(month)
    day_text = f"{day:02d}" if draw(st.booleans()) else str(day)
    first = draw(st.sampled_from(["-", "/", ".", "-", "/", "", " ", "年"]))
    second = first if draw(st.integers(0, 4)) else draw(st.sampled_from(["-", "/", ".", "月"]))
    text = draw(
        st.sampled_from(
            [
                f"{year}{first}{month_text}{second}{day_text}",
                f"{year}{first}{month_text}{second}{day_text}",
                f"{year}{month:02d}{day:02d}",
                f"{day_text}{first}{month_text}{second}{year}",
                str(draw(st.integers(0, 99999))),
                year,
            ]
        )
    )
    if draw(st.integers(0, 4)) == 0:
        text += draw(st.sampled_from([" 10:30", "T08:00:00Z", "日", " "]))
    if draw(st.integers(0, 9)) == 0:
        text = text.translate(FULL_WIDTH)
    return text


@EXAMPLES
@given(texts=BATCH(messy_dates(), min_size=10, max_size=60))
@example(texts=["1990-02-30", "1990/4/31", "2000-02-29", "1900-02-29", "19000229", "2100-12-31"])
@example(texts=["1899-12-31", "2101-01-01", "1990-00-10", "1990-13-01", "1990-1/5", "45296"])
def test_dates_read_alike_at_both_speeds(texts):
    _assert_one_answer(texts, normalize_batch.dates, parse_date)


def test_the_batch_path_answers_the_shapes_files_are_made_of():
    """Not only a path that defers everything: the usual shapes are answered in the batch."""
    phones = ["139 1234 5678", "+86-13912345678", "0086 13912345678", "13912345678"]
    assert normalize_batch.phones(phones, region="CN") == dict.fromkeys(phones, "+8613912345678")
    assert normalize_batch.phones(["(202) 555-0143"], region="US") == {}  # left to libphonenumber
    assert normalize_batch.emails(["Li.Wei@Example.COM", "u1@qq.com"]) == {
        "Li.Wei@Example.COM": "li.wei@example.com",
        "u1@qq.com": "u1@qq.com",
    }
    day = datetime.date(1990, 1, 5)
    written = ["1990-01-05", "1990/1/5", "1990.1.5", "19900105"]
    assert normalize_batch.dates(written) == dict.fromkeys(written, day)
    assert normalize_batch.dates(["1990-02-30", "1899-12-31", "05/01/1990", "45296"]) == {}


def test_a_repeated_text_is_answered_once_and_blanks_not_at_all():
    assert normalize_batch.emails(["a@b.cn", "", "a@b.cn"]) == {"a@b.cn": "a@b.cn"}
    assert normalize_batch.phones([], region="CN") == {}
