"""Table-driven tests for customers.normalize: the messy formats real people and spreadsheets
produce, and the inputs that must be rejected (checked by error code, never by message text,
so the tests pass in every language)."""

import datetime

import pytest

from customers.normalize import (
    IdDocumentKind,
    NormalizationError,
    birth_date_from_cn_id,
    fold_width,
    gender_from_cn_id,
    normalize_email,
    normalize_id_number,
    normalize_name,
    normalize_phone,
    normalize_postcode,
    normalize_website,
    parse_date,
    split_person_name,
)

# What a Chinese input method in full-width mode types: ASCII shifted to U+FF01..U+FF5E and the
# ideographic space. Built here so the tables stay readable (and ruff's RUF001 stays quiet).
_FULL_WIDTH = {code: code + 0xFEE0 for code in range(0x21, 0x7F)} | {0x20: 0x3000}


def full_width(text: str) -> str:
    return text.translate(_FULL_WIDTH)


CN = IdDocumentKind.CN_RESIDENT
PASSPORT = IdDocumentKind.PASSPORT
OTHER = IdDocumentKind.OTHER


def iso_7064_mod_11_2(first_17: str) -> str:
    """Reference check character, computed the recursive way the ISO standard describes it
    (independent of the weight table the module uses)."""
    remainder = 0
    for digit in first_17:
        remainder = (remainder + int(digit)) * 2 % 11
    check = (12 - remainder) % 11
    return "X" if check == 10 else str(check)


# Valid resident ID numbers: two samples from GB 11643-1999 and some computed ones covering
# every kind of check character, a leap day and a recent birth.
VALID_CN_IDS = [
    "11010519491231002X",
    "440524188001010014",
    "440305199003071236",
    "310104200002294568",
    "510107198511110057",
    "440305201208157770",
    "420102197609051018",
]


# --- fold_width ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ""),
        ("13800138000", "13800138000"),
        (full_width("13800138000"), "13800138000"),
        (full_width("ABCxyz"), "ABCxyz"),
        (full_width("+86-138"), "+86-138"),
        (full_width("zhang@example.com"), "zhang@example.com"),
        ("张\u3000伟", "张 伟"),
        ("张伟", "张伟"),
        ("欧阳修", "欧阳修"),
        ("北京市" + full_width("(100000)"), "北京市(100000)"),
        ("\ufeff13800138000", "13800138000"),
        ("138\u200b0013\u200b8000", "13800138000"),
    ],
)
def test_fold_width(raw: str, expected: str) -> None:
    assert fold_width(raw) == expected


# --- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ""),
        ("", ""),
        ("   \t\n", ""),
        ("张伟", "张伟"),
        ("张 伟", "张伟"),
        ("  张\u3000\u3000伟  ", "张伟"),
        ("欧 阳 修", "欧阳修"),
        ("约翰 · 史密斯", "约翰·史密斯"),
        ("John   Smith", "John Smith"),
        ("  John\tRonald\nSmith ", "John Ronald Smith"),
        (full_width("John Smith"), "John Smith"),
        ("Smith,  John", "Smith, John"),
        ("张伟 David", "张伟 David"),
        ("北京 示例 科技有限公司", "北京示例科技有限公司"),
    ],
)
def test_normalize_name(raw: str | None, expected: str) -> None:
    assert normalize_name(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "王\ufffd娟",  # bytes a decoder could not read
        "Anna\x00Schmidt",
        "Anna\x1fSchmidt",  # would pass for whitespace when the name is split
        " \x1cAnna",  # would be stripped away
        "Zhang\ud800Wei",
    ],
)
def test_normalize_name_refuses_characters_nobody_typed(raw: str) -> None:
    with pytest.raises(NormalizationError) as raised:
        normalize_name(raw)
    assert raised.value.code == "unreadable_text"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("", ("", "")),
        ("张伟", ("张", "伟")),
        ("王小明", ("王", "小明")),
        ("张", ("张", "")),
        ("欧阳修", ("欧阳", "修")),
        ("欧阳娜娜", ("欧阳", "娜娜")),
        ("司马光", ("司马", "光")),
        ("诸葛亮", ("诸葛", "亮")),
        ("上官婉儿", ("上官", "婉儿")),
        ("慕容复", ("慕容", "复")),
        ("令狐冲", ("令狐", "冲")),
        ("歐陽修", ("歐陽", "修")),
        # Two characters matching a compound surname are surname + given name.
        ("单于", ("单", "于")),
        ("约翰·史密斯", ("史密斯", "约翰")),
        ("Smith, John", ("Smith", "John")),
        ("Smith, John Ronald", ("Smith", "John Ronald")),
        ("John Smith", ("Smith", "John")),
        ("John Ronald Smith", ("Smith", "John Ronald")),
        ("John", ("", "John")),
        ("Ludwig van Beethoven", ("van Beethoven", "Ludwig")),
        ("Vincent van der Berg", ("van der Berg", "Vincent")),
        ("Van Morrison", ("Morrison", "Van")),
        ("Martin Luther King Jr.", ("King Jr.", "Martin Luther")),
        ("John Smith, Jr.", ("Smith Jr.", "John")),
    ],
)
def test_split_person_name(name: str, expected: tuple[str, str]) -> None:
    assert split_person_name(name) == expected


# --- phone numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        (None, "CN", ""),
        ("", "CN", ""),
        ("   ", "CN", ""),
        ("13800138000", "CN", "+8613800138000"),
        ("138 0013 8000", "CN", "+8613800138000"),
        ("138-0013-8000", "CN", "+8613800138000"),
        ("138.0013.8000", "CN", "+8613800138000"),
        ("+86-138-0013-8000", "CN", "+8613800138000"),
        ("+86 138 0013 8000", "CN", "+8613800138000"),
        ("(+86) 138 0013 8000", "CN", "+8613800138000"),
        ("+8613800138000", "CN", "+8613800138000"),
        ("0086 138 0013 8000", "CN", "+8613800138000"),
        ("0086-13800138000", "CN", "+8613800138000"),
        ("86 13800138000", "CN", "+8613800138000"),
        ("8613800138000", "CN", "+8613800138000"),
        (full_width("13800138000"), "CN", "+8613800138000"),
        (full_width("+86 138-0013-8000"), "CN", "+8613800138000"),
        ("13800138000.0", "CN", "+8613800138000"),
        ("1.3800138E+10", "CN", "+8613800138000"),
        ("1.3800138e10", "CN", "+8613800138000"),
        (13800138000, "CN", "+8613800138000"),
        (13800138000.0, "CN", "+8613800138000"),
        ("\ufeff138 0013 8000 ", "CN", "+8613800138000"),
        ("(010) 6552 9988", "CN", "+861065529988"),
        ("010-65529988", "CN", "+861065529988"),
        (full_width("(010)6552-9988"), "CN", "+861065529988"),
        ("0755-8888 8888", "CN", "+8675588888888"),
        ("021 6888 8888", "CN", "+862168888888"),
        ("400-810-8888", "CN", "+864008108888"),
        ("+44 7911 123456", "CN", "+447911123456"),
        ("+1 (415) 555-2671", "CN", "+14155552671"),
        ("+852 9123 4567", "CN", "+85291234567"),
        # Numbers with a country code work whatever the default region.
        ("+86 138 0013 8000", "US", "+8613800138000"),
        ("+86 138 0013 8000", "GB", "+8613800138000"),
        ("0086 138 0013 8000", "US", "+8613800138000"),
        ("+1 (415) 555-2671", "GB", "+14155552671"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("07911 123456", "GB", "+447911123456"),
        ("44 7911 123456", "GB", "+447911123456"),
        ("138 0013 8000", "cn", "+8613800138000"),
    ],
)
def test_normalize_phone(raw: str | int | float | None, region: str, expected: str) -> None:
    assert normalize_phone(raw, region=region) == expected


@pytest.mark.parametrize(
    ("raw", "region", "code"),
    [
        # Excel's General format rounded 13800138000 to 6 significant digits for display.
        ("1.38001E+10", "CN", "phone_truncated"),
        ("1.38E+10", "CN", "phone_truncated"),
        ("8.61380E+12", "CN", "phone_truncated"),
        ("1-800-FLOWERS", "CN", "phone_invalid"),
        ("138 0013 8000 ext 12", "CN", "phone_invalid"),
        ("Tel: 13800138000", "CN", "phone_invalid"),
        ("138 0013 8000 #", "CN", "phone_invalid"),
        ("abc", "CN", "phone_invalid"),
        ("138", "CN", "phone_invalid"),
        ("1380013800", "CN", "phone_invalid"),
        ("138001380001", "CN", "phone_invalid"),
        ("+86 138 0013 80000", "CN", "phone_invalid"),
        ("138 0013 8000 / 139 0013 9000", "CN", "phone_invalid"),
        ("+-()", "CN", "phone_invalid"),
        ("1.2345E+2", "CN", "phone_invalid"),  # not even a whole number
        # Not a CN number, and a bare 86 is read as a country code only for region CN.
        ("86 13800138000", "GB", "phone_invalid"),
        ("138 0013 8000", "US", "phone_invalid"),
        # Ofcom reserves 07700 900xxx for films and TV; libphonenumber rightly calls it invalid.
        ("+44 7700 900123", "CN", "phone_invalid"),
        ("95588", "CN", "phone_invalid"),
        ("+999 1234 5678", "CN", "phone_invalid"),
    ],
)
def test_normalize_phone_rejects(raw: str, region: str, code: str) -> None:
    with pytest.raises(NormalizationError) as excinfo:
        normalize_phone(raw, region=region)
    assert excinfo.value.code == code


def test_normalize_phone_unknown_region_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="region") as excinfo:
        normalize_phone("13800138000", region="XX")
    assert not isinstance(excinfo.value, NormalizationError)


# --- email and website -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ""),
        ("", ""),
        ("   ", ""),
        ("zhang.san@example.com", "zhang.san@example.com"),
        ("  Zhang.San@Example.COM  ", "zhang.san@example.com"),
        ("<zhang.san@example.com>", "zhang.san@example.com"),
        ("mailto:zhang.san@example.com", "zhang.san@example.com"),
        ("MAILTO:Zhang.San@example.com", "zhang.san@example.com"),
        ("<mailto:zhang.san@example.com>", "zhang.san@example.com"),
        (full_width("zhang.san@example.com"), "zhang.san@example.com"),
        ("zhang.san" + full_width("@") + "example.com", "zhang.san@example.com"),
        ("zhang.san@example\u3002com", "zhang.san@example.com"),
        ("zhang+crm@mail.example.com.cn", "zhang+crm@mail.example.com.cn"),
        ("12345678@qq.com", "12345678@qq.com"),
    ],
)
def test_normalize_email(raw: str | None, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "zhang.san",
        "zhang.san@",
        "@example.com",
        "zhang san@example.com",
        "zhang.san@example",
        "zhang@@example.com",
        "Zhang San <zhang.san@example.com>",
        "<>",
        "mailto:",
        "13800138000",
    ],
)
def test_normalize_email_rejects(raw: str) -> None:
    with pytest.raises(NormalizationError) as excinfo:
        normalize_email(raw)
    assert excinfo.value.code == "email_invalid"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ""),
        ("", ""),
        ("  ", ""),
        ("example.com", "https://example.com"),
        ("www.example.com.cn", "https://www.example.com.cn"),
        ("  https://www.example.com/about  ", "https://www.example.com/about"),
        ("http://example.com", "http://example.com"),
        ("HTTPS://WWW.Example.COM/Path?Q=1", "https://www.example.com/Path?Q=1"),
        ("example.com:8080/shop", "https://example.com:8080/shop"),
        (full_width("www.example.com"), "https://www.example.com"),
        ("www.example\u3002com", "https://www.example.com"),
    ],
)
def test_normalize_website(raw: str | None, expected: str) -> None:
    assert normalize_website(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "example",
        "not a website",
        "ftp://example.com",
        "javascript:alert(1)",
        "https://",
        "http://[::1",
        "exa mple.com",
    ],
)
def test_normalize_website_rejects(raw: str) -> None:
    with pytest.raises(NormalizationError) as excinfo:
        normalize_website(raw)
    assert excinfo.value.code == "website_invalid"


# --- dates -----------------------------------------------------------------------------------

JAN_5 = datetime.date(2024, 1, 5)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        (float("nan"), None),
        (JAN_5, JAN_5),
        (datetime.datetime(2024, 1, 5, 13, 45), JAN_5),
        ("2024-01-05", JAN_5),
        ("2024-1-5", JAN_5),
        ("2024/1/5", JAN_5),
        ("2024/01/05", JAN_5),
        ("2024.1.5", JAN_5),
        ("20240105", JAN_5),
        (20240105, JAN_5),
        ("2024年1月5日", JAN_5),
        ("2024年1月5号", JAN_5),
        ("2024 年 1 月 5 日", JAN_5),
        (full_width("2024-01-05"), JAN_5),
        (full_width("2024") + "年" + full_width("1") + "月" + full_width("5") + "日", JAN_5),
        ("2024-01-05 13:45:00", JAN_5),
        ("2024/1/5 9:05", JAN_5),
        ("2024-01-05T13:45:00+08:00", JAN_5),
        ("2024年1月5日 13:45", JAN_5),
        # Excel serial numbers (days since 1899-12-30).
        ("45296", JAN_5),
        ("45296.0", JAN_5),
        (45296, JAN_5),
        (45296.0, JAN_5),
        (45296.75, JAN_5),
        ("36526", datetime.date(2000, 1, 1)),
        ("61", datetime.date(1900, 3, 1)),
        # Day-first or month-first only when one reading is impossible, or both agree.
        ("25/12/2024", datetime.date(2024, 12, 25)),
        ("12/25/2024", datetime.date(2024, 12, 25)),
        ("25.12.2024", datetime.date(2024, 12, 25)),
        ("25-12-2024", datetime.date(2024, 12, 25)),
        ("05/05/2024", datetime.date(2024, 5, 5)),
        ("2000-02-29", datetime.date(2000, 2, 29)),
        ("1900-01-01", datetime.date(1900, 1, 1)),
        ("2100-12-31", datetime.date(2100, 12, 31)),
    ],
)
def test_parse_date(raw: object, expected: datetime.date | None) -> None:
    assert parse_date(raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("05/01/2024", "date_order_ambiguous"),
        ("1/2/2024", "date_order_ambiguous"),
        ("12.11.2024", "date_order_ambiguous"),
        # A bare year is not read as the Excel serial for a day in 1905.
        ("1990", "date_ambiguous"),
        (1990, "date_ambiguous"),
        ("1990-02-30", "date_invalid"),
        ("2023-02-29", "date_invalid"),
        ("2024-13-01", "date_invalid"),
        ("2024-00-10", "date_invalid"),
        ("2024年4月31日", "date_invalid"),
        ("20241301", "date_invalid"),
        ("13/13/2024", "date_invalid"),
        ("1899-12-31", "date_invalid"),
        ("2101-01-01", "date_invalid"),
        ("0024-01-05", "date_invalid"),
        (datetime.date(1850, 1, 1), "date_invalid"),
        ("1", "date_invalid"),
        ("99999", "date_invalid"),
        ("yesterday", "date_unrecognised"),
        ("5 Jan", "date_unrecognised"),
        ("2024-01", "date_unrecognised"),
        ("24-01-05", "date_unrecognised"),
        ("05/01/24", "date_unrecognised"),
        ("2024-1/5", "date_unrecognised"),
        ("240105", "date_unrecognised"),
        ("0", "date_unrecognised"),
        ("45296.5", "date_unrecognised"),
        (0, "date_unrecognised"),
        (-5, "date_unrecognised"),
        (3_000_000, "date_unrecognised"),
        (float("inf"), "date_unrecognised"),
        (True, "date_unrecognised"),
        (["2024-01-05"], "date_unrecognised"),
    ],
)
def test_parse_date_rejects(raw: object, code: str) -> None:
    with pytest.raises(NormalizationError) as excinfo:
        parse_date(raw)
    assert excinfo.value.code == code


# --- identity documents ------------------------------------------------------------------------


@pytest.mark.parametrize("number", VALID_CN_IDS)
def test_sample_ids_agree_with_iso_7064_reference(number: str) -> None:
    assert iso_7064_mod_11_2(number[:17]) == number[17]


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        *[(CN, number, number) for number in VALID_CN_IDS],
        (CN, None, ""),
        (CN, "", ""),
        (CN, "  ", ""),
        (CN, "11010519491231002x", "11010519491231002X"),
        (CN, " 110105 19491231 002X ", "11010519491231002X"),
        (CN, "110105-19491231-002X", "11010519491231002X"),
        (CN, full_width("11010519491231002X"), "11010519491231002X"),
        (CN, full_width("11010519491231002x"), "11010519491231002X"),
        # First-generation 15-digit cards: "19" inserted, check character computed.
        (CN, "110105491231002", "11010519491231002X"),
        (CN, "440524800101001", "440524198001010013"),
        (PASSPORT, "E12345678", "E12345678"),
        (PASSPORT, " e1234 5678 ", "E12345678"),
        (PASSPORT, "G1234567", "G1234567"),
        (PASSPORT, "123456789", "123456789"),
        (PASSPORT, "ab123", "AB123"),
        (PASSPORT, "A" * 20, "A" * 20),
        (PASSPORT, None, ""),
        (OTHER, "H1234567(8)", "H1234567(8)"),
        (OTHER, "m 123-456-789", "M123456789"),
        (OTHER, "x", "X"),
        (OTHER, "9" * 64, "9" * 64),
        (OTHER, "", ""),
    ],
)
def test_normalize_id_number(kind: str, raw: str | None, expected: str) -> None:
    assert normalize_id_number(kind, raw) == expected


@pytest.mark.parametrize(
    ("kind", "raw", "code"),
    [
        (CN, "11010519491231002", "id_length"),
        (CN, "11010519491231002XX", "id_length"),
        (CN, "1101051949123", "id_length"),
        (CN, "11010549123100X", "id_length"),
        (CN, "11010519491231002A", "id_invalid"),
        (CN, "1101051949123100X2", "id_invalid"),
        (CN, "110105194912310021", "id_checksum"),
        (CN, "11010519491231003X", "id_checksum"),
        (CN, "110105194912310028", "id_checksum"),
        # The check character is right but the birth date is impossible or in the future.
        (CN, "110105199002300028", "id_birth_date"),
        (CN, "110105199013010026", "id_birth_date"),
        (CN, "110105209912310029", "id_birth_date"),
        (CN, "110105010001010027", "id_birth_date"),
        (CN, "110105490230002", "id_birth_date"),
        # Excel turned the 18-digit number into a float and kept only 15 digits.
        (CN, "1.10105E+17", "id_truncated"),
        (CN, 110105194912310000, "id_truncated"),
        (CN, 1.10105194912310e17, "id_truncated"),
        (PASSPORT, "E123", "id_invalid"),
        (PASSPORT, "A" * 21, "id_invalid"),
        (PASSPORT, "E1234567!", "id_invalid"),
        (PASSPORT, "护照E1234567", "id_invalid"),
        (PASSPORT, "- -", "id_invalid"),
        (OTHER, "9" * 65, "id_invalid"),
        (OTHER, "- -", "id_invalid"),
        ("driving_licence", "123456", "id_kind_invalid"),
        ("", "123456", "id_kind_invalid"),
    ],
)
def test_normalize_id_number_rejects(kind: str, raw: object, code: str) -> None:
    with pytest.raises(NormalizationError) as excinfo:
        normalize_id_number(kind, raw)
    assert excinfo.value.code == code


@pytest.mark.parametrize(
    ("number", "birth_date", "gender"),
    [
        ("11010519491231002X", datetime.date(1949, 12, 31), "female"),
        ("440524188001010014", datetime.date(1880, 1, 1), "male"),
        ("440305199003071236", datetime.date(1990, 3, 7), "male"),
        ("310104200002294568", datetime.date(2000, 2, 29), "female"),
        ("440305201208157770", datetime.date(2012, 8, 15), "male"),
    ],
)
def test_birth_date_and_gender_from_cn_id(
    number: str, birth_date: datetime.date, gender: str
) -> None:
    assert birth_date_from_cn_id(number) == birth_date
    assert gender_from_cn_id(number) == gender


@pytest.mark.parametrize(
    "number",
    ["", "110105491231002", "11010519491231002x", "110105 19491231002X", "110105199013010026"],
)
def test_cn_id_helpers_require_a_normalised_number(number: str) -> None:
    with pytest.raises(ValueError, match="resident ID"):
        birth_date_from_cn_id(number)
    if number != "110105199013010026":
        with pytest.raises(ValueError, match="resident ID"):
            gender_from_cn_id(number)


# --- postcodes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        (None, "CN", ""),
        ("", "CN", ""),
        ("  ", "GB", ""),
        ("100000", "CN", "100000"),
        (" 518057 ", "CN", "518057"),
        (full_width("200030"), "CN", "200030"),
        ("010010", "cn", "010010"),
        (100000, "CN", "100000"),
        ("sw1a 1aa", "GB", "SW1A 1AA"),
        ("SW1A  1AA", "GB", "SW1A 1AA"),
        ("94105-1234", "US", "94105-1234"),
        ("1012 ab", "NL", "1012 AB"),
        ("999077", "HK", "999077"),
        ("L-1234", "LU", "L-1234"),
        ("12", "XX", "12"),
    ],
)
def test_normalize_postcode(raw: str | int | None, country: str, expected: str) -> None:
    assert normalize_postcode(raw, country=country) == expected


@pytest.mark.parametrize(
    ("raw", "country"),
    [
        ("10000", "CN"),
        ("1000000", "CN"),
        ("10000A", "CN"),
        ("100 000", "CN"),
        ("SW1A 1AA", "CN"),
        ("1", "GB"),
        ("SW1A 1AA 12345", "GB"),
        ("-1234", "GB"),
        ("1234-", "GB"),
        ("SW1A_1AA", "GB"),
        ("邮编100000", "GB"),
    ],
)
def test_normalize_postcode_rejects(raw: str, country: str) -> None:
    with pytest.raises(NormalizationError) as excinfo:
        normalize_postcode(raw, country=country)
    assert excinfo.value.code == "postcode_invalid"


# --- errors ----------------------------------------------------------------------------------


def test_normalization_error_is_a_value_error_with_message_and_code() -> None:
    error = NormalizationError("Enter a valid email address.", code="email_invalid")
    assert isinstance(error, ValueError)
    assert error.code == "email_invalid"
    assert str(error) == "Enter a valid email address."


@pytest.mark.parametrize(
    ("normalise", "raw"),
    [
        (lambda raw: normalize_phone(raw, region="CN"), "1380013800012345"),
        (lambda raw: normalize_phone(raw, region="CN"), "1.38001E+10"),
        (normalize_email, "zhang.san@@example.com"),
        (normalize_website, "not a website"),
        (parse_date, "1990-02-30"),
        (parse_date, "05/01/2024"),
        (lambda raw: normalize_id_number(CN, raw), "110105194912310021"),
        (lambda raw: normalize_id_number(CN, raw), "110105199002300028"),
        (lambda raw: normalize_id_number(PASSPORT, raw), "E12"),
        (lambda raw: normalize_postcode(raw, country="CN"), "10000"),
    ],
)
def test_error_messages_never_repeat_the_personal_value(normalise, raw: str) -> None:
    with pytest.raises(NormalizationError) as excinfo:
        normalise(raw)
    message = str(excinfo.value.message)
    assert message
    assert raw not in message
    assert raw.split("@")[0] not in message


@pytest.mark.parametrize("region", ["CN", "US", "GB", "DE", "HK", "SG", "JP"])
def test_the_plain_mobile_shortcut_answers_exactly_as_libphonenumber(region, monkeypatch):
    """normalize_phone answers plainly written mobile numbers from libphonenumber's metadata
    without a full parse; wherever it does, the full parse must agree."""
    import random

    import phonenumbers

    from customers import normalize

    country_code = phonenumbers.country_code_for_region(region)
    rng = random.Random(region)
    samples = []
    for _ in range(3000):
        length = rng.choice([8, 9, 10, 11, 11, 12])
        digits = rng.choice("123456789") + "".join(rng.choices("0123456789", k=length - 1))
        samples += [
            digits,
            f"+{country_code} {digits}",
            f"00{country_code}-{digits}",
            f"{digits[:3]} {digits[3:7]} {digits[7:]}",
        ]
    shortcut = {text: normalize._plain_mobile_number(text, region) for text in samples}
    monkeypatch.setattr(normalize, "_plain_mobile_number", lambda text, region: None)
    answered = 0
    for text, fast in shortcut.items():
        if fast is None:
            continue
        answered += 1
        assert normalize.normalize_phone(text, region=region) == fast, text
    assert answered > 50  # the shortcut really answers plainly written mobile numbers
