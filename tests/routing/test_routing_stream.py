"""LiveStream: held back until the first content event; failures before it are retryable."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from opentoken.catalog.registry import load_catalog
from opentoken.core.errors import UpstreamConnectionError, UpstreamOverloaded, UpstreamTimeout
from opentoken.core.result import BlockDelta, StreamEvent, UsageUpdate
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
    """An upstream call whose network reads bring ``events`` one at a time, or in the groups ``reads`` gives."""

    def __init__(
        self, events: list[SSEEvent], then: Exception | None = None, reads: list[list[SSEEvent]] | None = None
    ) -> None:
        self._reads = reads if reads is not None else [[ev] for ev in events]
        self._then = then
        self.closed = False
        self.read = 0

    async def reads(self) -> AsyncIterator[list[SSEEvent]]:
        for read in self._reads:
            self.read += 1
            yield read
        if self._then is not None:
            raise self._then

    def close(self) -> None:
        self.closed = True


def live(call: FakeCall) -> LiveStream:
    return LiveStream(call, all_providers()["anthropic"].stream_decoder(MODEL))  # type: ignore[arg-type]


async def events(stream: LiveStream) -> AsyncIterator[StreamEvent]:
    """What a consumer of ``take`` reads: the held events, then the rest of the stream."""
    held, rest = stream.take()
    for ev in held:
        yield ev
    if rest is not None:
        async for batch in rest:
            for ev in batch:
                yield ev


async def test_prime_stops_at_the_first_content_event_and_replays_it() -> None:
    call = FakeCall([START, BLOCK, PING, DELTA, DELTA, STOP_BLOCK, END, STOP])
    stream = live(call)
    await stream.prime()
    assert call.read == 4
    assert stream.folder.usage.input_tokens == 12
    got = [ev async for ev in events(stream)]
    texts = [ev.text for ev in got if isinstance(ev, BlockDelta)]
    assert texts == ["Hello", "Hello"]
    assert any(isinstance(ev, UsageUpdate) for ev in got)
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
        async for _ in events(stream):
            pass


async def test_close_closes_the_call() -> None:
    call = FakeCall([START, BLOCK, DELTA])
    stream = live(call)
    await stream.prime()
    stream.close()
    assert call.closed
    await stream.aclose()


async def test_a_read_holding_content_is_held_whole_and_nothing_is_lost() -> None:
    """The events of one network read travel together: prime holds the whole read that brought the first
    content event, and the rest of the stream comes a read at a time, in order."""
    call = FakeCall([], reads=[[START, BLOCK, DELTA, DELTA], [PING, STOP_BLOCK, END, STOP]])
    stream = live(call)
    await stream.prime()
    assert call.read == 1
    got = [ev async for ev in events(stream)]
    assert [ev.text for ev in got if isinstance(ev, BlockDelta)] == ["Hello", "Hello"]
    assert view(stream.folder.result()).choices[0].content == "HelloHello"
    assert stream.folder.usage.output_tokens == 7


async def test_events_a_read_brought_before_an_error_event_still_reach_the_consumer() -> None:
    """An error event in the middle of a read: the events before it in that read are handed over first, then
    the error is raised (as when events travelled one at a time)."""
    stream = live(FakeCall([], reads=[[START, BLOCK, DELTA], [DELTA, DELTA, OVERLOADED, DELTA]]))
    await stream.prime()
    got: list[StreamEvent] = []
    with pytest.raises(UpstreamOverloaded):
        async for ev in events(stream):
            got.append(ev)
    assert [ev.text for ev in got if isinstance(ev, BlockDelta)] == ["Hello", "Hello", "Hello"]
    assert view(stream.folder.result()).choices[0].content == "HelloHelloHello"


async def test_an_error_event_in_the_first_read_before_content_is_retryable() -> None:
    stream = live(FakeCall([], reads=[[START, OVERLOADED, BLOCK, DELTA]]))
    with pytest.raises(UpstreamOverloaded) as info:
        await stream.prime()
    assert info.value.retryable
