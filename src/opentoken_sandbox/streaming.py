"""Delivery: latency before the first byte, stream pacing, in-stream errors and dropped connections."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aiohttp import web

from opentoken_sandbox.config import SandboxConfig
from opentoken_sandbox.faults import FaultSpec


@dataclass(frozen=True)
class Frame:
    """One SSE event as bytes, with the output tokens it carries (for pacing)."""

    data: bytes
    tokens: int = 0


async def wait_first_byte(config: SandboxConfig, fault: FaultSpec | None) -> None:
    delay = config.latency_ms + ((fault.delay_ms or 0) if fault else 0)
    if delay > 0:
        await asyncio.sleep(delay / 1000)


async def wait_generation(config: SandboxConfig, tokens: int) -> None:
    """A non-stream reply arrives once the whole output would have been generated."""
    if config.tokens_per_second > 0 and tokens > 0:
        await asyncio.sleep(tokens / config.tokens_per_second)


def drop(request: web.Request) -> web.StreamResponse:
    """Close the connection without a (complete) reply."""
    if request.transport is not None:
        request.transport.abort()
    return web.StreamResponse()


async def send_stream(
    request: web.Request,
    headers: Mapping[str, str],
    frames: Sequence[Frame],
    *,
    tokens_per_second: float,
    fault: FaultSpec | None,
    error_frame: bytes,
) -> web.StreamResponse:
    """Write the frames, paced by tokens, honouring ``after_events`` / ``drop_after`` faults."""
    response = web.StreamResponse(status=200, headers=headers)
    await response.prepare(request)
    cut = len(frames)
    tail = b""
    dropping = False
    if fault is not None and fault.after_events is not None:
        cut, tail = min(fault.after_events, cut), error_frame
    elif fault is not None and fault.drop_after is not None:
        cut, dropping = min(fault.drop_after, cut), True
    try:
        await _write_frames(response, frames[:cut], tail, tokens_per_second)
    except ConnectionResetError:
        return response  # the client went away mid-stream
    if dropping:
        drop(request)
        return response
    await response.write_eof()
    return response


async def _write_frames(
    response: web.StreamResponse, frames: Sequence[Frame], tail: bytes, tokens_per_second: float
) -> None:
    """Buffer frames between pacing sleeps, so an unpaced stream goes out in one write."""
    buffer: list[bytes] = []
    for frame in frames:
        if tokens_per_second > 0 and frame.tokens:
            if buffer:
                await response.write(b"".join(buffer))
                buffer.clear()
            await asyncio.sleep(frame.tokens / tokens_per_second)
        buffer.append(frame.data)
    buffer.append(tail)
    await response.write(b"".join(buffer))
