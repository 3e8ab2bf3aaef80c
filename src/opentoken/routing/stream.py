"""An upstream stream held back until its first content event, so that failing before it can be retried.

``prime`` decodes upstream events until one the client would see (``core.result.is_content``: text, thinking
text, a tool call, logprobs or the end) and keeps them; nothing has reached the client yet, so an in-stream error event, a dropped
connection or an early end of the stream raise from ``prime`` and the router may try again elsewhere.
``events`` then yields the held events followed by the rest of the stream. ``folder`` sees every event, so
the usage so far is known whenever the stream stops.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator

from opentoken.core.errors import UpstreamConnectionError, UpstreamProtocolError
from opentoken.core.fold import Folder
from opentoken.core.result import NativeFrame, StreamEvent, is_content
from opentoken.providers.base import StreamDecoder
from opentoken.upstream.client import UpstreamCall


class LiveStream:
    def __init__(self, call: UpstreamCall, decoder: StreamDecoder, native: bool = False) -> None:
        self.folder = Folder()
        self._native = native  # a pass-through call: each upstream event also goes out as it came
        self._call = call
        self._decoder = decoder
        self._source = self._decode()
        self._held: list[StreamEvent] = []
        self._ended = False
        self._primed = False

    async def prime(self) -> None:
        """Read up to the first content event (or the end of the stream), holding back what was read."""
        async for ev in self._source:
            self._held.append(ev)
            if is_content(ev):
                break
        else:
            self._ended = True
        self._primed = True

    async def events(self) -> AsyncIterator[StreamEvent]:
        held, self._held = self._held, []
        for ev in held:
            yield ev
        if not self._ended:
            async for ev in self._source:
                yield ev

    async def _decode(self) -> AsyncGenerator[StreamEvent, None]:
        async for sse in self._call.events():
            decoded = self._decoder.feed(sse)  # an error event raises before its frame is relayed
            if self._native:
                yield NativeFrame(sse.data, sse.event)
            for ev in decoded:
                self.folder.add(ev)
                yield ev
        try:
            tail = self._decoder.close()
        except UpstreamProtocolError as e:
            if self._primed:
                raise
            raise UpstreamConnectionError("The provider closed the stream before sending any content.") from e
        for ev in tail:
            self.folder.add(ev)
            yield ev

    def close(self) -> None:
        """Close the upstream connection now (safe in a task being cancelled: nothing is awaited)."""
        self._call.close()

    async def aclose(self) -> None:
        self._call.close()
        await self._source.aclose()
