"""Tests for privacy.masking: one table per masker, plus the dispatcher."""

from __future__ import annotations

import pytest

from privacy.masking import (
    MASKERS,
    mask,
    mask_email,
    mask_id_number,
    mask_phone,
    mask_postcode,
    mask_street,
    mask_text,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+8613800138000", "138****8000"),  # CN mobile: national number only
        ("+86 138 0013 8000", "138****8000"),  # formatting is dropped
        ("+861012345678", "10*****678"),  # CN landline, 10 digits: half rule
        ("+447700900123", "+44 77*****123"),  # UK mobile, 10 national digits
        ("+14155552671", "+1 41*****671"),  # US, 10 national digits
        ("+4915123456789", "+49 151****6789"),  # DE mobile, 11 national digits
        ("+390612345678", "+39 06*****678"),  # IT: the leading zero is kept
        ("+85291234567", "+852 91****67"),  # HK, 8 digits: 4 shown
        ("+3531234", "+353 1**4"),  # 4-digit national number: 2 shown
        ("13800138000", "138****8000"),  # no "+": unparseable, digits still masked
        ("", ""),
    ],
)
def test_mask_phone(value: str, expected: str) -> None:
    assert mask_phone(value) == expected


@pytest.mark.parametrize(
    ("digits", "expected"),
    [
        ("1", "*"),
        ("12", "*2"),
        ("123", "**3"),
        ("1234", "1**4"),
        ("123456", "1***56"),
        ("12345678", "12****78"),
    ],
)
def test_mask_phone_short_unparseable_never_reveals_more_than_half(
    digits: str, expected: str
) -> None:
    masked = mask_phone(digits)
    assert masked == expected
    assert sum(ch.isdigit() for ch in masked) <= len(digits) // 2


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("zhangwei@qq.com", "z***@qq.com"),
        ("zw@qq.com", "z***@qq.com"),  # fixed mask: the local part length is not leaked
        ("a@qq.com", "*@qq.com"),
        ("@qq.com", "*@qq.com"),
        ('"a@b"@example.com', '"***@example.com'),  # split at the last "@"
        ("Zhang.Wei+crm@Example.COM", "Z***@Example.COM"),
        ("zhangwei", "z***"),  # no "@": all but the first character
        ("z", "*"),
        ("", ""),
    ],
)
def test_mask_email(value: str, expected: str) -> None:
    assert mask_email(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("110101199003071234", "110***********1234"),  # CN resident id, 18
        ("11010119900307123X", "110***********123X"),
        ("110101900307123", "110********7123"),  # old CN id, 15
        ("12345678901234", "123*******1234"),  # 14: first length with first 3 + last 4
        ("1234567890123", "*********0123"),  # 13: last 4 only
        ("E12345678", "*****5678"),  # passport
        ("A1234567", "****4567"),  # 8: last 4 only
        ("1234567", "*****67"),  # < 8: last 2
        ("1234", "**34"),
        ("123", "**3"),  # never more than half
        ("12", "*2"),
        ("1", "*"),
        ("", ""),
    ],
)
def test_mask_id_number(value: str, expected: str) -> None:
    masked = mask_id_number(value)
    assert masked == expected
    assert len(masked) == len(value)


@pytest.mark.parametrize(
    ("value", "keep", "expected"),
    [
        ("张伟", 1, "张***"),
        ("Zhang Wei", 1, "Z***"),
        ("Zhang Wei", 3, "Zha***"),
        ("a very long note about a customer", 1, "a***"),  # length is not leaked
        ("ab", 1, "a***"),
        ("ab", 2, "a***"),  # at most half is shown
        ("张", 1, "***"),
        ("abc", 0, "***"),
        ("", 1, ""),
    ],
)
def test_mask_text(value: str, keep: int, expected: str) -> None:
    assert mask_text(value, keep) == expected


def test_mask_text_default_keep_is_one() -> None:
    assert mask_text("zhangwei") == "z***"


def test_mask_text_rejects_negative_keep() -> None:
    with pytest.raises(ValueError, match="keep"):
        mask_text("abc", -1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("北京市朝阳区建国路88号", "北京***"),
        ("88号建国路", "88***"),  # CJK mode even when it starts with digits
        ("建国路", "建***"),  # 3 characters: at most half
        ("东路", "东***"),
        ("221B Baker Street", "221B ***"),
        ("  Rue de Rivoli 99  ", "Rue ***"),
        ("Hauptstraße\t5", "Hauptstraße ***"),
        ("Broadway", "Br***"),  # a single word would be shown whole
        ("Mo", "M***"),
        ("   ", ""),
        ("", ""),
    ],
)
def test_mask_street(value: str, expected: str) -> None:
    assert mask_street(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("100020", "10****"),
        ("SW1A 1AA", "SW******"),
        ("1234", "12**"),
        ("123", "1**"),
        ("12", "1*"),
        ("1", "*"),
        ("", ""),
    ],
)
def test_mask_postcode(value: str, expected: str) -> None:
    assert mask_postcode(value) == expected


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("phone", "+8613800138000", "138****8000"),
        ("email", "zhangwei@qq.com", "z***@qq.com"),
        ("id_number", "110101199003071234", "110***********1234"),
        ("street", "北京市朝阳区建国路88号", "北京***"),
        ("postcode", "100020", "10****"),
        ("text", "张伟", "张***"),
        ("phone", None, ""),
        ("text", "", ""),
    ],
)
def test_mask_dispatch(kind: str, value: str | None, expected: str) -> None:
    assert mask(kind, value) == expected


@pytest.mark.parametrize("value", ["x", None])
def test_mask_unknown_kind_is_a_key_error(value: str | None) -> None:
    with pytest.raises(KeyError):
        mask("passport", value)


def test_maskers_registry() -> None:
    assert set(MASKERS) == {"phone", "email", "id_number", "street", "postcode", "text"}


@pytest.mark.parametrize("kind", sorted(MASKERS))
def test_every_masker_maps_empty_to_empty(kind: str) -> None:
    assert MASKERS[kind]("") == ""


def test_the_e164_shortcut_masks_exactly_as_the_full_parse(monkeypatch):
    """mask_phone splits well-formed E.164 values without parsing; wherever it does, the
    result must be the one the full libphonenumber parse gives."""
    import random

    import phonenumbers

    from privacy import masking

    rng = random.Random(7)
    samples = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        example = phonenumbers.example_number(region)
        if example is None:
            continue
        length = len(phonenumbers.national_significant_number(example))
        for _ in range(10):
            digits = "".join(rng.choices("0123456789", k=length + rng.choice([-1, 0, 0, 1])))
            samples.append(f"+{example.country_code}{digits}")
    shortcut = {value: masking.mask_phone(value) for value in samples}
    assert sum(masking._split_e164(value) is not None for value in samples) > len(samples) / 3
    monkeypatch.setattr(masking, "_split_e164", lambda value: None)
    for value, masked in shortcut.items():
        assert masking.mask_phone(value) == masked, value
