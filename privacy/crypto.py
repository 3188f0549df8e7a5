"""Field encryption with key rotation, and a blind index for exact lookups.

Encryption is AES-256-GCM. Every token records the id of the key that produced it,
``v1:<keyid>:<urlsafe-base64(nonce || ciphertext+tag)>``, so values written under an older key
stay readable after rotation while new writes use the current key. The *context* (for example
``"customers.Customer.id_number"``) is bound to the token as associated data: a token copied
into another field fails authentication instead of decrypting there.

The blind index is an HMAC-SHA256 of ``context + "\\x00" + value`` under a separate secret. It
allows ``WHERE id_number_blind_index = ?`` without decrypting every row, but it is deterministic
by design, so it must only be computed over normalised values with enough entropy.

Settings, read at call time so ``override_settings`` works:

``FIELD_ENCRYPTION_KEYS``
    List of ``"KEYID:KEY"`` strings, newest first. KEY is a urlsafe-base64 32-byte key (see
    :func:`generate_key`); KEYID matches ``[A-Za-z0-9_-]{1,16}``. The first entry encrypts;
    all of them decrypt.
``BLIND_INDEX_KEY``
    A urlsafe-base64 secret of at least 32 bytes, distinct from every encryption key.

Errors never carry plaintext, key material or the token itself: they may end up in logs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "CryptoConfigurationError",
    "DecryptionError",
    "Keyring",
    "blind_index",
    "check_crypto_settings",
    "decrypt",
    "encrypt",
    "generate_key",
    "key_id_of",
    "needs_rotation",
    "parse_keyring",
    "reencrypt",
]

FORMAT_VERSION = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
MIN_BLIND_INDEX_KEY_BYTES = 32

_KEYGEN_HINT = (
    "Generate a key with: "
    'python -c "from privacy.crypto import generate_key; print(generate_key())"'
)
_KEY_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,16}")
# Checked before decoding because binascii silently skips characters outside the alphabet,
# which would let a corrupted value decode to something else instead of failing.
_URLSAFE_B64_RE = re.compile(r"[A-Za-z0-9_-]*={0,2}")


class CryptoConfigurationError(ImproperlyConfigured):
    """The encryption or blind-index settings are missing or invalid."""


class DecryptionError(Exception):
    """A token cannot be decrypted: malformed, tampered, wrong context or unknown key id."""


@dataclass(frozen=True, eq=False)
class Keyring:
    """Validated ``FIELD_ENCRYPTION_KEYS``: key ids in order, the first one current.

    Only the AEAD objects are kept, never the raw key bytes, and ``repr`` lists key ids only, so
    a keyring showing up in a traceback or a debugger does not disclose keys.
    """

    key_ids: tuple[str, ...]
    _ciphers: Mapping[str, AESGCM] = field(repr=False)

    @property
    def current_key_id(self) -> str:
        """The id of the key new values are encrypted under."""
        return self.key_ids[0]

    def cipher(self, key_id: str) -> AESGCM:
        """Return the cipher for ``key_id``; raise :class:`DecryptionError` if it is unknown."""
        try:
            return self._ciphers[key_id]
        except KeyError:
            raise DecryptionError(
                f"token was encrypted under key id {key_id!r}, which is not in "
                "FIELD_ENCRYPTION_KEYS (was a retired key removed too early?)"
            ) from None


def _b64decode(text: str) -> bytes:
    """Strictly decode urlsafe base64, padded or not; raise ValueError on anything else."""
    if not _URLSAFE_B64_RE.fullmatch(text):
        raise ValueError("not urlsafe base64")
    unpadded = text.rstrip("=")
    padded = unpadded + "=" * (-len(unpadded) % 4)
    try:
        return base64.b64decode(padded, altchars=b"-_", validate=True)
    except binascii.Error as exc:
        raise ValueError("not urlsafe base64") from exc


def generate_key() -> str:
    """Return a new random 32-byte key as urlsafe base64 (usable for either setting)."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def parse_keyring(entries: Sequence[str], setting: str = "FIELD_ENCRYPTION_KEYS") -> Keyring:
    """Validate ``"KEYID:KEY"`` entries (newest first) and build a :class:`Keyring`.

    Raises :class:`CryptoConfigurationError` when ``entries`` is not a non-empty list of
    strings, an entry lacks the ``KEYID:`` prefix, a key id is malformed or repeated, or a key
    is not urlsafe base64 of exactly 32 bytes. Messages name entries by position and key id,
    never by key, and by `setting`, the name they were configured under.
    """
    # A bare string is iterable too; accepting it would turn one entry into many 1-char ones.
    if isinstance(entries, str | bytes) or not isinstance(entries, Sequence):
        raise CryptoConfigurationError(f'{setting} must be a list of "KEYID:KEY" strings.')
    if not entries:
        raise CryptoConfigurationError(f"{setting} is empty: at least one key is needed.")

    ciphers: dict[str, AESGCM] = {}
    for position, entry in enumerate(entries, start=1):
        where = f"{setting} entry #{position}"
        if not isinstance(entry, str):
            raise CryptoConfigurationError(f'{where} is not a "KEYID:KEY" string.')
        key_id, sep, encoded_key = entry.strip().partition(":")
        if not sep:
            raise CryptoConfigurationError(f'{where} is not of the form "KEYID:KEY".')
        if not _KEY_ID_RE.fullmatch(key_id):
            raise CryptoConfigurationError(
                f"{where} has an invalid key id: use 1 to 16 characters of A-Z a-z 0-9 _ -."
            )
        if key_id in ciphers:
            raise CryptoConfigurationError(f"{where} repeats key id {key_id!r}.")
        try:
            key = _b64decode(encoded_key)
        except ValueError:
            raise CryptoConfigurationError(
                f"{where} (key id {key_id!r}): the key is not urlsafe base64."
            ) from None
        if len(key) != KEY_BYTES:
            raise CryptoConfigurationError(
                f"{where} (key id {key_id!r}): the key must decode to {KEY_BYTES} bytes, "
                f"not {len(key)}."
            )
        ciphers[key_id] = AESGCM(key)
    return Keyring(key_ids=tuple(ciphers), _ciphers=MappingProxyType(ciphers))


def _parse_blind_index_key(value: Any) -> bytes:
    """Validate ``BLIND_INDEX_KEY`` and return its bytes; raise CryptoConfigurationError."""
    if not isinstance(value, str) or not value.strip():
        raise CryptoConfigurationError("BLIND_INDEX_KEY is missing or empty.")
    try:
        key = _b64decode(value.strip())
    except ValueError:
        raise CryptoConfigurationError("BLIND_INDEX_KEY is not urlsafe base64.") from None
    if len(key) < MIN_BLIND_INDEX_KEY_BYTES:
        raise CryptoConfigurationError(
            f"BLIND_INDEX_KEY must decode to at least {MIN_BLIND_INDEX_KEY_BYTES} bytes, "
            f"not {len(key)}."
        )
    return key


# Keyed by the settings value itself, so override_settings (tests, rotation) simply misses the
# cache rather than needing invalidation. Bounded: only a handful of keyrings ever coexist.
@lru_cache(maxsize=8)
def _cached_keyring(entries: tuple[str, ...]) -> Keyring:
    return parse_keyring(entries)


@lru_cache(maxsize=8)
def _cached_blind_index_key(value: str) -> bytes:
    return _parse_blind_index_key(value)


def _keyring() -> Keyring:
    entries = getattr(settings, "FIELD_ENCRYPTION_KEYS", None)
    if entries is None:
        raise CryptoConfigurationError("FIELD_ENCRYPTION_KEYS is not set.")
    if isinstance(entries, list | tuple) and all(isinstance(e, str) for e in entries):
        return _cached_keyring(tuple(entries))
    # Malformed values are not hashable-safe; parse uncached purely to raise the right error.
    return parse_keyring(entries)


def current_key_id() -> str:
    """The id of the configured key that new values are encrypted under."""
    return _keyring().current_key_id


def _blind_index_key() -> bytes:
    value = getattr(settings, "BLIND_INDEX_KEY", None)
    if isinstance(value, str):
        return _cached_blind_index_key(value)
    return _parse_blind_index_key(value)


def _check_context(context: str) -> bytes:
    # An empty context would bind nothing, and a NUL would make the blind index input
    # ambiguous ("a\0b" + "c" vs "a" + "b\0c"); both are programming errors.
    if not isinstance(context, str) or not context or "\x00" in context:
        raise ValueError("context must be a non-empty string without NUL characters")
    return context.encode("utf-8")


def _split_token(token: str) -> tuple[str, str]:
    """Return ``(key_id, payload)`` of a token; raise DecryptionError if it is malformed."""
    if not isinstance(token, str):
        raise TypeError(f"token must be str, not {type(token).__name__}")
    version, sep1, rest = token.partition(":")
    key_id, sep2, payload = rest.partition(":")
    if not (sep1 and sep2) or version != FORMAT_VERSION:
        raise DecryptionError(f'not a "{FORMAT_VERSION}:<keyid>:<data>" encrypted token')
    if not _KEY_ID_RE.fullmatch(key_id):
        raise DecryptionError("encrypted token has a malformed key id")
    return key_id, payload


def encrypt(plaintext: str, *, context: str) -> str:
    """Encrypt ``plaintext`` under the current key, bound to ``context``.

    Returns ``"v1:<keyid>:<urlsafe-b64(nonce||ciphertext)>"``. A fresh random 12-byte nonce is
    used per call, so equal plaintexts give different tokens (use :func:`blind_index` to look
    values up). The empty string is encrypted like any other value.

    Raises :class:`CryptoConfigurationError` if the keys are misconfigured and ``ValueError`` if
    ``context`` is empty or contains NUL.
    """
    if not isinstance(plaintext, str):
        raise TypeError(f"plaintext must be str, not {type(plaintext).__name__}")
    aad = _check_context(context)
    keyring = _keyring()
    # Random 96-bit nonces are safe for ~2**32 encryptions per key; rotation resets the count.
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = keyring.cipher(keyring.current_key_id).encrypt(
        nonce, plaintext.encode("utf-8"), aad
    )
    payload = base64.urlsafe_b64encode(nonce + ciphertext).decode("ascii")
    return f"{FORMAT_VERSION}:{keyring.current_key_id}:{payload}"


def decrypt(token: str, *, context: str) -> str:
    """Decrypt a token produced by :func:`encrypt` with the same ``context``.

    Any key in ``FIELD_ENCRYPTION_KEYS`` may have produced it. Raises :class:`DecryptionError`
    if the token is malformed, its key id is unknown, or authentication fails (tampered data,
    other context, or a different key under the same id); ``ValueError`` for a bad context.
    """
    aad = _check_context(context)
    key_id, payload = _split_token(token)
    cipher = _keyring().cipher(key_id)
    try:
        blob = _b64decode(payload)
    except ValueError:
        raise DecryptionError("encrypted token payload is not urlsafe base64") from None
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("encrypted token payload is truncated")
    try:
        plaintext = cipher.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except InvalidTag:
        raise DecryptionError(
            f"encrypted token failed authentication for context {context!r}: it was tampered "
            "with, belongs to another field, or its key id maps to a different key"
        ) from None
    # Cannot fail for tokens from encrypt(); only a foreign writer with our key could cause it.
    try:
        return plaintext.decode("utf-8")
    except UnicodeDecodeError:
        raise DecryptionError("decrypted value is not UTF-8 text") from None


def key_id_of(token: str) -> str:
    """Return the key id recorded in ``token`` (no decryption, no keyring lookup).

    Raises :class:`DecryptionError` if ``token`` is not a well-formed token.
    """
    key_id, _payload = _split_token(token)
    return key_id


def needs_rotation(token: str) -> bool:
    """Return True when ``token`` is not encrypted under the current (first) key.

    Raises :class:`DecryptionError` for a malformed token.
    """
    return key_id_of(token) != _keyring().current_key_id


def reencrypt(token: str, *, context: str) -> str:
    """Return ``token`` re-encrypted under the current key.

    If it already is under the current key the same token is returned unchanged (callers can
    skip the write by comparing). Either way the token is decrypted first, so a token that
    does not authenticate for ``context`` raises :class:`DecryptionError` rather than being
    passed through by a rotation run.
    """
    plaintext = decrypt(token, context=context)
    if not needs_rotation(token):
        return token
    return encrypt(plaintext, context=context)


def blind_index(value: str, *, context: str) -> str:
    """Return HMAC-SHA256(BLIND_INDEX_KEY, context + "\\x00" + value) as 64 hex characters.

    Deterministic for a given key, context and value, and different across contexts so the
    same number in two fields cannot be correlated. The caller must normalise ``value`` first
    (the same normalisation on write and on lookup); this function does not.
    """
    if not isinstance(value, str):
        raise TypeError(f"value must be str, not {type(value).__name__}")
    message = _check_context(context) + b"\x00" + value.encode("utf-8")
    return hmac.new(_blind_index_key(), message, hashlib.sha256).hexdigest()


def check_crypto_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """System check for the encryption settings.

    privacy.E001  FIELD_ENCRYPTION_KEYS missing or empty
    privacy.E002  FIELD_ENCRYPTION_KEYS invalid (format, key id, key length, duplicate id)
    privacy.E003  BLIND_INDEX_KEY missing or empty
    privacy.E004  BLIND_INDEX_KEY invalid (not base64 or shorter than 32 bytes)
    privacy.E005  BLIND_INDEX_KEY equals one of the encryption keys
    """
    errors: list[checks.CheckMessage] = []
    hint = _KEYGEN_HINT

    entries = getattr(settings, "FIELD_ENCRYPTION_KEYS", None)
    encryption_keys: set[bytes] = set()
    if not entries:
        errors.append(
            checks.Error(
                "FIELD_ENCRYPTION_KEYS is not set or empty.",
                hint='Set it to one or more "KEYID:KEY" entries, newest first. ' + hint,
                id="privacy.E001",
            )
        )
    else:
        try:
            parse_keyring(entries)
        except CryptoConfigurationError as exc:
            errors.append(checks.Error(str(exc), hint=hint, id="privacy.E002"))
        else:
            # Re-decoding here (instead of exposing key bytes on Keyring) keeps keys out of
            # any object that lives beyond this check.
            encryption_keys = {_b64decode(e.strip().partition(":")[2]) for e in entries}

    value = getattr(settings, "BLIND_INDEX_KEY", None)
    if not value:
        errors.append(
            checks.Error(
                "BLIND_INDEX_KEY is not set or empty.",
                hint="Set it to a random urlsafe-base64 secret of at least 32 bytes. " + hint,
                id="privacy.E003",
            )
        )
    else:
        try:
            blind_key = _parse_blind_index_key(value)
        except CryptoConfigurationError as exc:
            errors.append(checks.Error(str(exc), hint=hint, id="privacy.E004"))
        else:
            if blind_key in encryption_keys:
                errors.append(
                    checks.Error(
                        "BLIND_INDEX_KEY reuses one of the FIELD_ENCRYPTION_KEYS keys.",
                        hint="Use an independent secret for the blind index. " + hint,
                        id="privacy.E005",
                    )
                )
    return errors
