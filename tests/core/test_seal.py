"""core.seal: AES-GCM sealing with a key ring (the first key seals, every key opens), bound to a context."""

from __future__ import annotations

import base64

import pytest

from opentoken.core.seal import KeyRing, SealError, decode_key, encode_key, key_id, new_key


def test_round_trip_and_format() -> None:
    key = new_key()
    ring = KeyRing([key])
    token = ring.seal(b"provider state", b"ctx")
    version, kid, body = token.split(".")
    assert version == "ot1" and kid == key_id(key) and "=" not in body
    assert ring.open(token, b"ctx") == b"provider state"
    assert ring.seal(b"provider state", b"ctx") != token  # a fresh nonce every time


def test_another_context_or_key_cannot_open() -> None:
    ring = KeyRing([new_key()])
    token = ring.seal(b"secret", b"key_a")
    with pytest.raises(SealError, match="verification"):
        ring.open(token, b"key_b")
    with pytest.raises(SealError, match="no longer holds"):
        KeyRing([new_key()]).open(token, b"key_a")


@pytest.mark.parametrize("position", [0, 5, 20, -1])
def test_tampering_is_detected(position: int) -> None:
    ring = KeyRing([new_key()])
    token = ring.seal(b"x" * 64, b"ctx")
    head, body = token.rsplit(".", 1)
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[position] ^= 0x01
    forged = head + "." + base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    with pytest.raises(SealError):
        ring.open(forged, b"ctx")


def test_rotation_new_key_seals_old_keys_open() -> None:
    old, new = new_key(), new_key()
    old_token = KeyRing([old]).seal(b"before", b"ctx")
    rotated = KeyRing([new, old])
    assert rotated.open(old_token, b"ctx") == b"before"
    fresh = rotated.seal(b"after", b"ctx")
    assert fresh.split(".")[1] == key_id(new)
    assert KeyRing([new]).open(fresh, b"ctx") == b"after"
    with pytest.raises(SealError):
        KeyRing([new]).open(old_token, b"ctx")  # the old key dropped from the ring: its tokens stop opening


@pytest.mark.parametrize("token", ["", "ot1", "ot1.abc", "ot2.12345678.AAAA", "ot1.zzzzzzzz.AAAA", "x" * 5_000_000])
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(SealError):
        KeyRing([new_key()]).open(token, b"ctx")


def test_keys_from_configuration() -> None:
    key = new_key()
    assert decode_key(encode_key(key)) == key
    assert decode_key(base64.b64encode(key).decode()) == key  # standard base64 with padding too
    for bad in ("", "not base64 !!", base64.b64encode(b"short").decode()):
        with pytest.raises(ValueError):
            decode_key(bad)
    with pytest.raises(ValueError):
        KeyRing([])
