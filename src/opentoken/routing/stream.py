"""An upstream stream held back until its first content event, so that failing before it can be retried.

``prime`` decodes upstream events until one the client would see (``core.result.is_content``: text, thinking
text, a tool call, logprobs or the end) and keeps them with the rest of that network read; nothing has
reached the client yet, so an in-stream error event, a dropped connection or an early end of the stream
raise from ``prime`` and the router may try again elsewhere. ``take`` then hands over the held events and
the rest of the stream. ``folder`` sees every event, so the usage so far is known whenever the stream stops.

Events travel a network read at a time (``UpstreamCall.reads``): one generator step per read, not one per
event, from the socket up to the consumer.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator

from opentoken.core.errors import GatewayError, UpstreamConnectionError, UpstreamProtocolError
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
        async for batch in self._source:
            self._held += batch
            if any(map(is_content, batch)):
                break
        else:
            self._ended = True
        self._primed = True

    def take(self) -> tuple[list[StreamEvent], AsyncIterator[list[StreamEvent]] | None]:
        """The events held back by ``prime`` (the first content event, if there was one, is among them) and
        the rest of the stream, a list of events per read (None when ``prime`` read it to its end)."""
        held, self._held = self._held, []
        return held, None if self._ended else self._source

    async def _decode(self) -> AsyncGenerator[list[StreamEvent], None]:
        decoder, add, native = self._decoder, self.folder.add, self._native
        async for read in self._call.reads():
            batch: list[StreamEvent] = []
            try:
                for sse in read:
                    decoded = decoder.feed(sse)  # an error event raises before its frame is relayed
                    if native:
                        batch.append(NativeFrame(sse.data, sse.event))
                    for ev in decoded:
                        add(ev)
                    batch += decoded
            except GatewayError:
                if batch:
                    yield batch  # what the read brought before the error goes out first, as it came
                raise
            if batch:
                yield batch
        try:
            tail = decoder.close()
        except UpstreamProtocolError as e:
            if self._primed:
                raise
            raise UpstreamConnectionError("The provider closed the stream before sending any content.") from e
        for ev in tail:
            add(ev)
        if tail:
            yield tail

    def close(self) -> None:
        """Close the upstream connection now (safe in a task being cancelled: nothing is awaited)."""
        self._call.close()

    async def aclose(self) -> None:
        self._call.close()
        await self._source.aclose()
