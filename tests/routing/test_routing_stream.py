"""LiveStream: held back until the first content event; failures before it are retryable."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from opentoken.catalog.registry import load_catalog
from opentoken.core.errors import UpstreamConnectionError, UpstreamOverloaded, UpstreamTimeout
from opentoken.core.result import BlockDelta, UsageUpdate
from opentoken.providers.base import SSEEvent
from opentoken.providers.registry import all_providers
from opentoken.routing.stream import LiveStream
from support.catalog import entry
from support.views import view

MODEL = entry(load_catalog(), "anthropic/claude-sonnet-4-5")
START = SSEEvent(
    event="message_start",
    data='{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5",'
    '"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":1}}}',
)
BLOCK = SSEEvent(
    event="content_block_start",
    data='{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}',
)
PING = SSEEvent(event="ping", data='{"type": "ping"}')
DELTA = SSEEvent(
    event="content_block_delta",
    data='{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}',
)
STOP_BLOCK = SSEEvent(event="content_block_stop", data='{"type":"content_block_stop","index":0}')
END = SSEEvent(
    event="message_delta",
    data='{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":7}}',
)
STOP = SSEEvent(event="message_stop", data='{"type":"message_stop"}')
OVERLOADED = SSEEvent(event="error", data='{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}')


class FakeCall:
    def __init__(self, events: list[SSEEvent], then: Exception | None = None) -> None:
        self._events = events
        self._then = then
        self.closed = False
        self.read = 0

    async def events(self) -> AsyncIterator[SSEEvent]:
        for ev in self._events:
            self.read += 1
            yield ev
        if self._then is not None:
            raise self._then

    def close(self) -> None:
        self.closed = True


def live(call: FakeCall) -> LiveStream:
    return LiveStream(call, all_providers()["anthropic"].stream_decoder(MODEL))  # type: ignore[arg-type]


async def test_prime_stops_at_the_first_content_event_and_replays_it() -> None:
    call = FakeCall([START, BLOCK, PING, DELTA, DELTA, STOP_BLOCK, END, STOP])
    stream = live(call)
    await stream.prime()
    assert call.read == 4
    assert stream.folder.usage.input_tokens == 12
    events = [ev async for ev in stream.events()]
    texts = [ev.text for ev in events if isinstance(ev, BlockDelta)]
    assert texts == ["Hello", "Hello"]
    assert any(isinstance(ev, UsageUpdate) for ev in events)
    assert stream.folder.usage.output_tokens == 7 and view(stream.folder.result()).choices[0].content == "HelloHello"


async def test_error_event_before_content_raises_from_prime() -> None:
    stream = live(FakeCall([START, OVERLOADED]))
    with pytest.raises(UpstreamOverloaded) as info:
        await stream.prime()
    assert info.value.retryable


async def test_end_of_stream_before_content_is_a_retryable_connection_error() -> None:
    stream = live(FakeCall([START, BLOCK]))
    with pytest.raises(UpstreamConnectionError) as info:
        await stream.prime()
    assert info.value.retryable


async def test_failure_after_content_comes_from_events() -> None:
    stream = live(FakeCall([START, BLOCK, DELTA], then=UpstreamTimeout("idle")))
    await stream.prime()
    with pytest.raises(UpstreamTimeout):
        async for _ in stream.events():
            pass


async def test_close_closes_the_call() -> None:
    call = FakeCall([START, BLOCK, DELTA])
    stream = live(call)
    await stream.prime()
    stream.close()
    assert call.closed
    await stream.aclose()
