"""Fault injection: what to break, and which request gets it.

Syntax (header ``x-sandbox-fault``, prompt marker ``[[fault:...]]``, or a queued fault):
``key=value`` pairs separated by ``,`` ``;`` or spaces, keys:

- ``status=N``        reply with the provider's real error body for HTTP status N (429, 500, 529/503, ...)
- ``after_events=N``  stream N events, then an in-stream error (Anthropic ``event: error``, Gemini error data)
- ``drop_after=N``    stream N events, then drop the connection (non-stream: drop without a reply)
- ``delay_ms=N``      wait N ms before the first byte (added to the configured latency)
- ``retry_after=N``   seconds announced by a 429 (``retry-after`` / ``RetryInfo.retryDelay``), default 1
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass

FAULT_HEADER = "x-sandbox-fault"
PROVIDERS = ("anthropic", "google")
_MARKER = re.compile(r"\[\[fault:([^\]]*)\]\]")
_SPLIT = re.compile(r"[,;\s]+")
_INT_KEYS = ("status", "after_events", "drop_after", "retry_after")


class FaultSyntaxError(ValueError):
    """A fault description that cannot be parsed."""


@dataclass(frozen=True)
class FaultSpec:
    status: int | None = None
    after_events: int | None = None
    drop_after: int | None = None
    delay_ms: float | None = None
    retry_after: int | None = None

    def as_dict(self) -> dict[str, int | float | None]:
        return asdict(self)


def parse_fault(text: str) -> FaultSpec:
    values: dict[str, int | float] = {}
    for item in _SPLIT.split(text.strip()):
        if not item:
            continue
        key, sep, raw = item.partition("=")
        if not sep or key not in (*_INT_KEYS, "delay_ms"):
            raise FaultSyntaxError(f"unknown fault item {item!r}")
        values[key] = _number(key, raw)
    if not values:
        raise FaultSyntaxError("empty fault description")
    return _build(values)


def fault_from_mapping(body: Mapping[str, object]) -> FaultSpec:
    values: dict[str, int | float] = {}
    for key in (*_INT_KEYS, "delay_ms"):
        raw = body.get(key)
        if raw is None:
            continue
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise FaultSyntaxError(f"{key} must be a number")
        values[key] = _number(key, str(raw))
    return _build(values)


def fault_in_text(text: str) -> FaultSpec | None:
    match = _MARKER.search(text)
    return parse_fault(match.group(1)) if match else None


def _number(key: str, raw: str) -> int | float:
    try:
        value: int | float = float(raw) if key == "delay_ms" else int(raw)
    except ValueError as e:
        raise FaultSyntaxError(f"{key} must be a number, got {raw!r}") from e
    if value < 0:
        raise FaultSyntaxError(f"{key} must not be negative")
    return value


def _build(values: Mapping[str, int | float]) -> FaultSpec:
    status = values.get("status")
    if status is not None and not 400 <= status <= 599:
        raise FaultSyntaxError("status must be an HTTP error status (400-599)")

    def as_int(key: str) -> int | None:
        raw = values.get(key)
        return None if raw is None else int(raw)

    delay = values.get("delay_ms")
    return FaultSpec(
        status=as_int("status"),
        after_events=as_int("after_events"),
        drop_after=as_int("drop_after"),
        delay_ms=None if delay is None else float(delay),
        retry_after=as_int("retry_after"),
    )


@dataclass
class _Queued:
    spec: FaultSpec
    remaining: int
    provider: str | None


class FaultQueue:
    """Faults for the next N matching requests, consumed in the order they were queued."""

    def __init__(self) -> None:
        self._items: list[_Queued] = []

    def push(self, spec: FaultSpec, count: int, provider: str | None) -> None:
        self._items.append(_Queued(spec, count, provider))

    def take(self, provider: str) -> FaultSpec | None:
        for item in self._items:
            if item.provider in (None, provider):
                item.remaining -= 1
                if item.remaining <= 0:
                    self._items.remove(item)
                return item.spec
        return None

    def pending(self) -> list[dict[str, object]]:
        return [{"count": q.remaining, "provider": q.provider, **q.spec.as_dict()} for q in self._items]

    def clear(self) -> int:
        n = len(self._items)
        self._items.clear()
        return n
