"""The frames between a worker and its supervisor: a 4-byte big-endian length, then one msgpack message.

Requests carry a request id (``rid``) that the supervisor's ``Reply`` repeats; ``Notice`` frames (key and
catalog changes) come unasked. Counter requests carry the ``Ask`` and ``Outcome`` of ``stores.counters``
as they are, so the supervisor runs exactly the in-memory counter code a single process runs.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import msgspec

from opentoken.stores.counters import Ask, Outcome

_LENGTH = 4
T = TypeVar("T")
MAX_FRAME = 16 * 1024 * 1024  # a renewal of every lease in flight fits many times over


class Acquire(msgspec.Struct, tag=1, array_like=True):
    rid: int
    ask: Ask


class InitBudget(msgspec.Struct, tag=2, array_like=True):
    rid: int
    key_id: str
    period: str
    spent_nanos: int
    ttl_ms: int


class Settle(msgspec.Struct, tag=3, array_like=True):
    rid: int
    ask: Ask
    cost_nanos: int
    tokens: int


class Release(msgspec.Struct, tag=4, array_like=True):
    rid: int
    ask: Ask


class Renew(msgspec.Struct, tag=5, array_like=True):
    rid: int
    asks: list[Ask]
    now_ms: int
    until_ms: int


class Publish(msgspec.Struct, tag=6, array_like=True):
    """Relay ``notice`` to every worker (this one included); the reply comes once it is sent to all."""

    rid: int
    notice: str


class Reply(msgspec.Struct, tag=7, array_like=True):
    rid: int
    outcome: Outcome | None = None


class Notice(msgspec.Struct, tag=8, array_like=True):
    notice: str


Request = Acquire | InitBudget | Settle | Release | Renew | Publish
FromSupervisor = Reply | Notice

_encoder = msgspec.msgpack.Encoder()


def frame(message: msgspec.Struct) -> bytes:
    payload = _encoder.encode(message)
    return len(payload).to_bytes(_LENGTH, "big") + payload


class FrameError(ValueError):
    """The peer sent something that is not a frame of this protocol."""


class Frames(Generic[T]):
    """Splits a byte stream into decoded messages of type ``T`` (bytes may arrive in any chunks)."""

    def __init__(self, kind: type[T]) -> None:
        self._decoder = msgspec.msgpack.Decoder(kind)
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[T]:
        buffer = self._buffer
        buffer += data
        out: list[T] = []
        at = 0
        end = len(buffer)
        while end - at >= _LENGTH:
            size = int.from_bytes(buffer[at : at + _LENGTH], "big")
            if size > MAX_FRAME:
                raise FrameError(f"frame of {size} bytes")
            if end - at - _LENGTH < size:
                break
            start = at + _LENGTH
            try:
                out.append(self._decoder.decode(buffer[start : start + size]))
            except msgspec.DecodeError as e:
                raise FrameError(str(e)) from e
            at = start + size
        if at:
            del buffer[:at]
        return out
