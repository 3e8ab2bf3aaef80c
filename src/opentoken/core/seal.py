"""Authenticated encryption of opaque state handed to clients (``encrypted_content``), with key rotation.

A ``KeyRing`` holds 32-byte AES keys: the first seals, every one opens, so an operator rotates by putting a
new key first and keeping the old ones until what they sealed has expired. A token is
``ot1.<key id>.<base64url(nonce || ciphertext)>``: ``ot1`` is the format version, the key id is the first
8 hex digits of the key's SHA-256 (it says which key opens the token without trying each), the nonce is 12
random bytes, and the ciphertext is AES-256-GCM over the plaintext with ``context`` as associated data. The
context binds a token to where it may be opened (the gateway passes the purpose and the API key's id), so
a token is useless to another tenant or for another purpose even inside this gateway.

Pure: no I/O. Where the keys come from (settings, or a key generated once and kept in the database) is the
composition root's business.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # cryptography (~8 MB resident) is loaded on the first seal or open, not at startup
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "ot1"
KEY_BYTES = 32
NONCE_BYTES = 12
MAX_TOKEN_CHARS = 4 * 1024 * 1024  # a token longer than this is refused before any decoding


class SealError(ValueError):
    """A token that this ring cannot open: malformed, sealed under an unknown key, or tampered with."""


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def decode_key(text: str) -> bytes:
    """A key as configured: base64 (standard or URL-safe, padding optional) of exactly 32 bytes."""
    raw = text.strip()
    try:
        key = base64.urlsafe_b64decode(raw.replace("+", "-").replace("/", "_") + "=" * (-len(raw) % 4))
    except (binascii.Error, ValueError) as e:
        raise ValueError("a sealing key must be base64 of 32 random bytes") from e
    if len(key) != KEY_BYTES:
        raise ValueError(f"a sealing key must be {KEY_BYTES} bytes (base64 of {KEY_BYTES} random bytes)")
    return key


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode().rstrip("=")


class KeyRing:
    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("a key ring needs at least one key")
        for key in keys:
            if len(key) != KEY_BYTES:
                raise ValueError(f"sealing keys are {KEY_BYTES} bytes")
        self._sealer_id = key_id(keys[0])
        self._keys: dict[str, bytes] = {}
        for key in keys:
            self._keys.setdefault(key_id(key), key)
        self._aes: dict[str, AESGCM] = {}

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def _cipher(self, kid: str) -> AESGCM | None:
        aes = self._aes.get(kid)
        if aes is None and kid in self._keys:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            aes = self._aes[kid] = AESGCM(self._keys[kid])
        return aes

    def seal(self, plaintext: bytes, context: bytes) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealer = self._cipher(self._sealer_id)
        assert sealer is not None
        sealed = sealer.encrypt(nonce, plaintext, context)
        body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{VERSION}.{self._sealer_id}.{body}"

    def open(self, token: str, context: bytes) -> bytes:
        if len(token) > MAX_TOKEN_CHARS:
            raise SealError("the sealed content is too long")
        version, _, rest = token.partition(".")
        kid, _, body = rest.partition(".")
        if version != VERSION or not kid or not body:
            raise SealError("the sealed content is not in a format this gateway wrote")
        opener = self._cipher(kid)
        if opener is None:
            raise SealError("the sealed content was sealed under a key this gateway no longer holds")
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError) as e:
            raise SealError("the sealed content is not valid base64") from e
        if len(raw) <= NONCE_BYTES:
            raise SealError("the sealed content is truncated")
        from cryptography.exceptions import InvalidTag

        try:
            return opener.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context)
        except InvalidTag as e:
            raise SealError("the sealed content failed verification (altered, or sealed for another key)") from e
