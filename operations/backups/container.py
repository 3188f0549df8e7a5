"""The encrypted backup file: a header, then the payload in AES-256-GCM chunks.

Layout::

    MAGIC (9 bytes) | header length (4 bytes, big-endian) | header (JSON) | chunk | chunk | ...

Each chunk is up to ``chunk_size`` bytes of payload sealed with its 16-byte tag. Its nonce is
the header's random 7-byte prefix, the chunk's number (4 bytes) and a last-chunk flag (1 byte),
and its associated data is the SHA-256 of the header, so chunks cannot be reordered, moved to
another file or have the header changed under them. Every chunk but the last holds exactly
``chunk_size`` bytes and has the flag 0; the last one has the flag 1 (and may be empty). A file
cut anywhere therefore fails: inside a chunk the tag fails, on a chunk boundary the last chunk
read was sealed as "not last" (the STREAM construction of Hoang, Reyhanitabar, Rogaway and
Vizár). Memory stays at one chunk whatever the size.

The key comes from BACKUP_ENCRYPTION_KEYS (``KEYID:KEY``, newest first, as for the field
keys): the header names the key id, so backups taken before a key rotation stay readable while
the old key is listed.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.utils.translation import gettext as _

from privacy.crypto import CryptoConfigurationError, Keyring, parse_keyring

MAGIC = b"CRMBACKUP"
FORMAT = 1
CHUNK_SIZE = 1024 * 1024
TAG_SIZE = 16
NONCE_PREFIX_SIZE = 7
MAX_HEADER_SIZE = 64 * 1024


class BackupFileError(Exception):
    """The file is not a backup, is damaged or cut short, or its key is not configured. The
    message is translated and carries no key material or payload."""


def backup_keyring() -> Keyring:
    keys = settings.BACKUP_ENCRYPTION_KEYS
    if not keys:
        raise BackupFileError(
            _("No backup key is configured: set BACKUP_ENCRYPTION_KEYS (see README, Backups).")
        )
    try:
        return parse_keyring(keys, setting="BACKUP_ENCRYPTION_KEYS")
    except CryptoConfigurationError as error:
        raise BackupFileError(str(error)) from error


def _nonce(prefix: bytes, number: int, last: bool) -> bytes:
    return prefix + struct.pack(">IB", number, 1 if last else 0)


class EncryptingWriter:
    """A binary file-like sink: what is written is sealed chunk by chunk into `out`, and the
    SHA-256 of everything written to `out` is kept for the checksum."""

    def __init__(self, out: IO[bytes], *, extra_header: dict | None = None) -> None:
        keyring = backup_keyring()
        self._aead = keyring.cipher(keyring.current_key_id)
        self._prefix = os.urandom(NONCE_PREFIX_SIZE)
        header = json.dumps(
            {
                "format": FORMAT,
                "cipher": "AES-256-GCM",
                "key_id": keyring.current_key_id,
                "chunk_size": CHUNK_SIZE,
                "nonce_prefix": self._prefix.hex(),
                **(extra_header or {}),
            },
            sort_keys=True,
        ).encode()
        self._aad = hashlib.sha256(header).digest()
        self._out = out
        self.sha256 = hashlib.sha256()
        self.size = 0
        self._buffer = bytearray()
        self._number = 0
        self._emit(MAGIC + struct.pack(">I", len(header)) + header)

    def _emit(self, data: bytes) -> None:
        self._out.write(data)
        self.sha256.update(data)
        self.size += len(data)

    def _seal(self, payload: bytes, *, last: bool) -> None:
        nonce = _nonce(self._prefix, self._number, last)
        self._emit(self._aead.encrypt(nonce, payload, self._aad))
        self._number += 1

    def write(self, data: bytes) -> int:
        self._buffer += data
        # Strictly more than one chunk: the last chunk must be sealed as last, so a full chunk
        # waits until we know whether anything follows it.
        while len(self._buffer) > CHUNK_SIZE:
            self._seal(bytes(self._buffer[:CHUNK_SIZE]), last=False)
            del self._buffer[:CHUNK_SIZE]
        return len(data)

    def close(self) -> None:
        self._seal(bytes(self._buffer), last=True)
        self._buffer.clear()


@dataclass(frozen=True)
class Header:
    fields: dict
    aad: bytes
    prefix: bytes
    cipher: AESGCM


def read_header(source: IO[bytes]) -> Header:
    magic = source.read(len(MAGIC))
    if magic != MAGIC:
        raise BackupFileError(_("This is not a CRM backup file."))
    (length,) = struct.unpack(">I", _read_exactly(source, 4))
    if length > MAX_HEADER_SIZE:
        raise BackupFileError(_("The backup's header is damaged."))
    raw = _read_exactly(source, length)
    try:
        fields = json.loads(raw)
        prefix = bytes.fromhex(fields["nonce_prefix"])
        key_id = fields["key_id"]
    except (ValueError, KeyError, TypeError) as error:
        raise BackupFileError(_("The backup's header is damaged.")) from error
    if fields.get("format") != FORMAT or len(prefix) != NONCE_PREFIX_SIZE:
        raise BackupFileError(_("This backup was written in a format this version cannot read."))
    keyring = backup_keyring()
    if key_id not in keyring.key_ids:
        raise BackupFileError(
            _(
                "This backup was encrypted with the key “%(key_id)s”, which is not in "
                "BACKUP_ENCRYPTION_KEYS."
            )
            % {"key_id": key_id}
        )
    return Header(fields, hashlib.sha256(raw).digest(), prefix, keyring.cipher(key_id))


def _read_exactly(source: IO[bytes], size: int) -> bytes:
    data = source.read(size)
    if len(data) != size:
        raise BackupFileError(_("The backup file is cut short."))
    return data


def decrypted_chunks(source: IO[bytes]) -> Iterator[bytes]:
    """The payload of a backup file, chunk by chunk, each authenticated before it is given
    out. Raises BackupFileError at the first damaged chunk or if the end is missing."""
    header = read_header(source)
    aead = header.cipher
    sealed_size = header.fields.get("chunk_size", CHUNK_SIZE) + TAG_SIZE
    number = 0
    sealed = source.read(sealed_size)
    while True:
        following = source.read(sealed_size) if len(sealed) == sealed_size else b""
        last = not following
        if len(sealed) < TAG_SIZE:
            raise BackupFileError(_("The backup file is cut short."))
        try:
            yield aead.decrypt(_nonce(header.prefix, number, last), sealed, header.aad)
        except InvalidTag as error:
            if last:
                raise BackupFileError(
                    _("The backup file is cut short or damaged at its end.")
                ) from error
            raise BackupFileError(
                _("The backup file is damaged (block %(number)s fails its check).")
                % {"number": number + 1}
            ) from error
        if last:
            return
        sealed, number = following, number + 1


class DecryptingReader:
    """A binary file-like source over `decrypted_chunks`, for tarfile's stream mode."""

    def __init__(self, source: IO[bytes]) -> None:
        self._chunks = decrypted_chunks(source)
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def drain(self) -> None:
        """Read to the end, so that the last chunk's check runs even if the reader stopped
        early (tarfile does not read the end-of-archive padding in full)."""
        for _chunk in self._chunks:
            pass


def file_sha256(path: os.PathLike | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while block := source.read(CHUNK_SIZE):
            digest.update(block)
    return digest.hexdigest()
