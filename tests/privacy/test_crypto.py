"""Tests for privacy.crypto: AES-GCM field encryption, key rotation, blind index, checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable

import pytest

from privacy.crypto import (
    CryptoConfigurationError,
    DecryptionError,
    blind_index,
    check_crypto_settings,
    decrypt,
    encrypt,
    generate_key,
    key_id_of,
    needs_rotation,
    parse_keyring,
    reencrypt,
)

CONTEXT = "customers.Customer.id_number"
OTHER_CONTEXT = "customers.Customer.passport_number"


def _decode(key: str) -> bytes:
    return base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))


@pytest.fixture
def k1() -> str:
    return generate_key()


@pytest.fixture
def k2() -> str:
    return generate_key()


@pytest.fixture
def blind_key() -> str:
    return generate_key()


@pytest.fixture
def keys(settings, k1: str, blind_key: str):
    """Configure a single current key "k1" and a blind-index key."""
    settings.FIELD_ENCRYPTION_KEYS = [f"k1:{k1}"]
    settings.BLIND_INDEX_KEY = blind_key
    return settings


# --- generate_key / parse_keyring -----------------------------------------------------------


def test_generate_key_is_random_urlsafe_32_bytes() -> None:
    first, second = generate_key(), generate_key()
    assert first != second
    assert re.fullmatch(r"[A-Za-z0-9_-]+=*", first)
    assert len(_decode(first)) == 32


@pytest.mark.parametrize("strip_padding", [False, True])
def test_parse_keyring_orders_ids_newest_first(strip_padding: bool) -> None:
    a, b = generate_key(), generate_key()
    if strip_padding:
        a, b = a.rstrip("="), b.rstrip("=")
    keyring = parse_keyring([f"2025-b:{b}", f" k_a:{a} "])
    assert keyring.key_ids == ("2025-b", "k_a")
    assert keyring.current_key_id == "2025-b"


def test_keyring_repr_shows_no_key_material() -> None:
    key = generate_key()
    keyring = parse_keyring([f"k1:{key}"])
    assert key not in repr(keyring)
    assert key.rstrip("=") not in repr(keyring)
    assert "k1" in repr(keyring)


SECRET = generate_key()
SHORT_KEY = base64.urlsafe_b64encode(b"\x01" * 16).decode()
LONG_KEY = base64.urlsafe_b64encode(b"\x01" * 48).decode()


@pytest.mark.parametrize(
    "entries",
    [
        pytest.param([], id="empty"),
        pytest.param(f"k1:{SECRET}", id="bare-string-not-list"),
        pytest.param(None, id="none"),
        pytest.param([f"{SECRET}"], id="no-key-id"),
        pytest.param([f":{SECRET}"], id="empty-key-id"),
        pytest.param([f"bad id:{SECRET}"], id="key-id-with-space"),
        pytest.param([f"{'k' * 17}:{SECRET}"], id="key-id-too-long"),
        pytest.param(["k1:"], id="empty-key"),
        pytest.param([f"k1:{SECRET[:-2]}!!"], id="key-not-base64"),
        pytest.param([f"k1:{SECRET.replace('-', '+').replace('_', '/')}+/"], id="std-alphabet"),
        pytest.param([f"k1:{SHORT_KEY}"], id="key-16-bytes"),
        pytest.param([f"k1:{LONG_KEY}"], id="key-48-bytes"),
        pytest.param([f"k1:{SECRET}", f"k1:{generate_key()}"], id="duplicate-key-id"),
        pytest.param([f"k1:{SECRET}", 42], id="non-string-entry"),
    ],
)
def test_parse_keyring_rejects_bad_configuration(entries) -> None:
    with pytest.raises(CryptoConfigurationError) as excinfo:
        parse_keyring(entries)
    assert SECRET not in str(excinfo.value)
    assert SECRET[:20] not in str(excinfo.value)


# --- encrypt / decrypt ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "plaintext",
    [
        pytest.param("110101199003071234", id="id-number"),
        pytest.param("张伟", id="chinese-name"),
        pytest.param("北京市朝阳区建国路88号 1单元 ", id="chinese-address-with-spaces"),
        pytest.param("", id="empty"),
        pytest.param("emoji 🎉 and NUL \x00 inside", id="astral-and-nul"),
        pytest.param("x" * 10_000, id="long"),
    ],
)
def test_round_trip(keys, plaintext: str) -> None:
    token = encrypt(plaintext, context=CONTEXT)
    assert decrypt(token, context=CONTEXT) == plaintext
    if plaintext:
        assert plaintext not in token


def test_token_carries_key_id_and_format(keys) -> None:
    token = encrypt("secret", context=CONTEXT)
    version, key_id, payload = token.split(":")
    assert (version, key_id) == ("v1", "k1")
    assert key_id_of(token) == "k1"
    # 12-byte nonce + 6 bytes of ciphertext + 16-byte GCM tag.
    assert len(base64.urlsafe_b64decode(payload)) == 12 + 6 + 16


def test_same_plaintext_gives_different_tokens(keys) -> None:
    assert encrypt("same", context=CONTEXT) != encrypt("same", context=CONTEXT)


def _flip_last_payload_char(token: str) -> str:
    head, payload = token.rsplit(":", 1)
    stripped = payload.rstrip("=")
    replacement = "A" if stripped[-2] != "A" else "B"
    # Change the second-to-last data character: it always carries authenticated bits.
    return f"{head}:{stripped[:-2]}{replacement}{stripped[-1]}{payload[len(stripped) :]}"


def _flip_nonce_char(token: str) -> str:
    head, payload = token.rsplit(":", 1)
    replacement = "A" if payload[0] != "A" else "B"
    return f"{head}:{replacement}{payload[1:]}"


TAMPERINGS: list[tuple[str, Callable[[str], str]]] = [
    ("flip-ciphertext", _flip_last_payload_char),
    ("flip-nonce", _flip_nonce_char),
    ("truncate-payload", lambda t: t[:-8]),
    ("payload-too-short", lambda t: t.rsplit(":", 1)[0] + ":AAAA"),
    ("payload-not-base64", lambda t: t.rsplit(":", 1)[0] + ":***"),
    ("unknown-version", lambda t: "v2" + t[2:]),
    ("unknown-key-id", lambda t: t.replace(":k1:", ":zz:", 1)),
    ("malformed-key-id", lambda t: t.replace(":k1:", ":k 1:", 1)),
    ("missing-parts", lambda t: t.split(":", 1)[1]),
    ("empty", lambda t: ""),
    ("plaintext-not-token", lambda t: "110101199003071234"),
]


@pytest.mark.parametrize(("name", "tamper"), TAMPERINGS, ids=[n for n, _ in TAMPERINGS])
def test_tampered_token_raises(keys, name: str, tamper: Callable[[str], str]) -> None:
    token = encrypt("110101199003071234", context=CONTEXT)
    with pytest.raises(DecryptionError) as excinfo:
        decrypt(tamper(token), context=CONTEXT)
    assert "110101199003071234" not in str(excinfo.value)


def test_wrong_context_raises(keys) -> None:
    token = encrypt("110101199003071234", context=CONTEXT)
    with pytest.raises(DecryptionError) as excinfo:
        decrypt(token, context=OTHER_CONTEXT)
    assert "110101199003071234" not in str(excinfo.value)


def test_key_id_pointing_at_another_key_raises(settings, k1: str, k2: str) -> None:
    settings.FIELD_ENCRYPTION_KEYS = [f"k1:{k1}", f"k2:{k2}"]
    token = encrypt("secret", context=CONTEXT)
    with pytest.raises(DecryptionError):
        decrypt(token.replace(":k1:", ":k2:", 1), context=CONTEXT)


def test_key_removed_from_keyring_raises(settings, k1: str, k2: str) -> None:
    settings.FIELD_ENCRYPTION_KEYS = [f"k1:{k1}"]
    token = encrypt("secret", context=CONTEXT)
    settings.FIELD_ENCRYPTION_KEYS = [f"k2:{k2}"]
    with pytest.raises(DecryptionError):
        decrypt(token, context=CONTEXT)


def test_same_key_id_with_different_key_raises(settings, k1: str, k2: str) -> None:
    settings.FIELD_ENCRYPTION_KEYS = [f"k1:{k1}"]
    token = encrypt("secret", context=CONTEXT)
    settings.FIELD_ENCRYPTION_KEYS = [f"k1:{k2}"]
    with pytest.raises(DecryptionError):
        decrypt(token, context=CONTEXT)


@pytest.mark.parametrize("context", ["", "customers\x00Customer"])
def test_invalid_context_is_a_programming_error(keys, context: str) -> None:
    with pytest.raises(ValueError, match="context"):
        encrypt("x", context=context)
    with pytest.raises(ValueError, match="context"):
        blind_index("x", context=context)


@pytest.mark.parametrize("func", [encrypt, blind_index])
def test_non_string_value_is_rejected(keys, func) -> None:
    with pytest.raises(TypeError):
        func(12345, context=CONTEXT)


# --- rotation ------------------------------------------------------------------------------


def test_rotation(settings, k1: str, k2: str) -> None:
    settings.FIELD_ENCRYPTION_KEYS = [f"k1:{k1}"]
    old = encrypt("张伟 110101199003071234", context=CONTEXT)
    assert not needs_rotation(old)
    assert reencrypt(old, context=CONTEXT) == old

    settings.FIELD_ENCRYPTION_KEYS = [f"k2:{k2}", f"k1:{k1}"]
    assert decrypt(old, context=CONTEXT) == "张伟 110101199003071234"
    assert needs_rotation(old)
    assert key_id_of(encrypt("new", context=CONTEXT)) == "k2"

    new = reencrypt(old, context=CONTEXT)
    assert key_id_of(new) == "k2"
    assert not needs_rotation(new)
    assert decrypt(new, context=CONTEXT) == "张伟 110101199003071234"

    # Once every value is rotated the old key can go.
    settings.FIELD_ENCRYPTION_KEYS = [f"k2:{k2}"]
    assert decrypt(new, context=CONTEXT) == "张伟 110101199003071234"


@pytest.mark.parametrize("current", [True, False], ids=["already-current", "old-key"])
def test_reencrypt_checks_context(settings, k1: str, k2: str, current: bool) -> None:
    settings.FIELD_ENCRYPTION_KEYS = [f"k1:{k1}"]
    token = encrypt("secret", context=CONTEXT)
    if not current:
        settings.FIELD_ENCRYPTION_KEYS = [f"k2:{k2}", f"k1:{k1}"]
    with pytest.raises(DecryptionError):
        reencrypt(token, context=OTHER_CONTEXT)


@pytest.mark.parametrize("func", [key_id_of, needs_rotation])
def test_malformed_token_header_raises(keys, func) -> None:
    with pytest.raises(DecryptionError):
        func("not a token")


# --- blind index ---------------------------------------------------------------------------


def test_blind_index_matches_the_specified_hmac(keys, blind_key: str) -> None:
    expected = hmac.new(
        _decode(blind_key), f"{CONTEXT}\x00110101199003071234".encode(), hashlib.sha256
    ).hexdigest()
    assert blind_index("110101199003071234", context=CONTEXT) == expected


@pytest.mark.parametrize("value", ["110101199003071234", "张伟", ""])
def test_blind_index_is_deterministic_64_hex(keys, value: str) -> None:
    digest = blind_index(value, context=CONTEXT)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert blind_index(value, context=CONTEXT) == digest


def test_blind_index_differs_by_value_and_context(keys) -> None:
    base = blind_index("110101199003071234", context=CONTEXT)
    assert blind_index("110101199003071235", context=CONTEXT) != base
    assert blind_index("110101199003071234", context=OTHER_CONTEXT) != base
    # The NUL separator keeps context/value boundaries apart.
    assert blind_index("b", context="a") != blind_index("", context="ab")


def test_blind_index_differs_by_key(settings, keys) -> None:
    before = blind_index("110101199003071234", context=CONTEXT)
    settings.BLIND_INDEX_KEY = generate_key()
    assert blind_index("110101199003071234", context=CONTEXT) != before


# --- misconfiguration at call time ---------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("FIELD_ENCRYPTION_KEYS", None),
        ("FIELD_ENCRYPTION_KEYS", []),
        ("FIELD_ENCRYPTION_KEYS", ["k1:tooshort"]),
        ("FIELD_ENCRYPTION_KEYS", [["nested"]]),
    ],
)
def test_encrypt_with_bad_keyring_raises(keys, setting: str, value) -> None:
    setattr(keys, setting, value)
    with pytest.raises(CryptoConfigurationError):
        encrypt("x", context=CONTEXT)


@pytest.mark.parametrize("value", [None, "", "not base64!", SHORT_KEY])
def test_blind_index_with_bad_key_raises(keys, value) -> None:
    keys.BLIND_INDEX_KEY = value
    with pytest.raises(CryptoConfigurationError):
        blind_index("x", context=CONTEXT)


def test_missing_settings_raise(keys) -> None:
    del keys.FIELD_ENCRYPTION_KEYS
    del keys.BLIND_INDEX_KEY
    with pytest.raises(CryptoConfigurationError):
        encrypt("x", context=CONTEXT)
    with pytest.raises(CryptoConfigurationError):
        blind_index("x", context=CONTEXT)


# --- system check --------------------------------------------------------------------------

MISSING = object()


@pytest.mark.parametrize(
    ("enc_keys", "blind", "expected_ids"),
    [
        pytest.param(lambda k: [f"k1:{k}"], lambda k: generate_key(), [], id="valid"),
        pytest.param(
            lambda k: [f"k2:{generate_key()}", f"k1:{k}"],
            lambda k: generate_key(),
            [],
            id="valid-rotating",
        ),
        pytest.param(lambda k: MISSING, lambda k: generate_key(), ["privacy.E001"], id="no-keys"),
        pytest.param(lambda k: [], lambda k: generate_key(), ["privacy.E001"], id="empty-keys"),
        pytest.param(
            lambda k: [f"k1:{k}", f"k1:{generate_key()}"],
            lambda k: generate_key(),
            ["privacy.E002"],
            id="duplicate-id",
        ),
        pytest.param(
            lambda k: [f"k1:{k[:20]}"], lambda k: generate_key(), ["privacy.E002"], id="short-key"
        ),
        pytest.param(
            lambda k: f"k1:{k}", lambda k: generate_key(), ["privacy.E002"], id="string-not-list"
        ),
        pytest.param(lambda k: [f"k1:{k}"], lambda k: MISSING, ["privacy.E003"], id="no-blind"),
        pytest.param(lambda k: [f"k1:{k}"], lambda k: "", ["privacy.E003"], id="empty-blind"),
        pytest.param(
            lambda k: [f"k1:{k}"], lambda k: SHORT_KEY, ["privacy.E004"], id="short-blind"
        ),
        pytest.param(
            lambda k: [f"k1:{k}"], lambda k: "?not base64?", ["privacy.E004"], id="bad-blind"
        ),
        pytest.param(lambda k: [f"k1:{k}"], lambda k: k, ["privacy.E005"], id="blind-reuses-key"),
        pytest.param(
            lambda k: MISSING,
            lambda k: MISSING,
            ["privacy.E001", "privacy.E003"],
            id="nothing-configured",
        ),
    ],
)
def test_check_crypto_settings(settings, k1: str, enc_keys, blind, expected_ids) -> None:
    for name, value in (("FIELD_ENCRYPTION_KEYS", enc_keys(k1)), ("BLIND_INDEX_KEY", blind(k1))):
        if value is MISSING:
            if hasattr(settings, name):
                delattr(settings, name)
        else:
            setattr(settings, name, value)

    errors = check_crypto_settings(None)

    assert [e.id for e in errors] == expected_ids
    for error in errors:
        assert k1 not in error.msg
        assert k1[:20] not in error.msg
