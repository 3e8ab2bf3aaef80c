"""HMAC signatures for thinking blocks (Anthropic) and thought signatures (Gemini).

A sandbox signature is base64 of ``MAGIC + nonce(12) + HMAC-SHA256(secret, kind | nonce | content)[:20]``.
The nonce is derived from the content and a salt, so replies stay deterministic. Verification accepts the
standard and the URL-safe base64 alphabets, with or without padding (clients re-encode them). Values that
decode but are not sandbox-shaped (other prefix and length) are *foreign* (for example a real provider signature taken from
a recorded fixture); the caller decides whether those pass.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac

MAGIC = b"OTSB"
_NONCE = 12
_MAC = 20
_SIZE = len(MAGIC) + _NONCE + _MAC
GEMINI_DUMMY_SIGNATURE = "skip_thought_signature_validator"


class Check(enum.Enum):
    VALID = "valid"
    INVALID = "invalid"
    FOREIGN = "foreign"
    UNDECODABLE = "undecodable"


def decode_b64(value: str) -> bytes | None:
    """Decode standard or URL-safe base64 (padding optional); None when it is not base64."""
    text = value.strip().replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


class Signer:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, kind: bytes, nonce: bytes, content: bytes) -> bytes:
        message = kind + b"\x00" + nonce + b"\x00" + content
        return hmac.new(self._secret, message, hashlib.sha256).digest()[:_MAC]

    def sign(self, kind: str, content: bytes, salt: bytes = b"") -> str:
        kind_b = kind.encode()
        nonce = hashlib.blake2b(kind_b + b"\x00" + salt + b"\x00" + content, digest_size=_NONCE).digest()
        token = MAGIC + nonce + self._mac(kind_b, nonce, content)
        return base64.b64encode(token).decode("ascii")

    def check(self, kind: str, content: bytes, signature: str) -> Check:
        raw = decode_b64(signature)
        if raw is None:
            return Check.UNDECODABLE
        if not raw.startswith(MAGIC):
            # A value of exactly our length is one of ours with a damaged prefix.
            return Check.INVALID if len(raw) == _SIZE else Check.FOREIGN
        if len(raw) != _SIZE:
            return Check.INVALID
        body = raw[len(MAGIC) :]
        nonce, mac = body[:_NONCE], body[_NONCE:]
        expected = self._mac(kind.encode(), nonce, content)
        return Check.VALID if hmac.compare_digest(mac, expected) else Check.INVALID
