"""What the pipeline and the ingress hand each other: the call's context going in, and how it was served coming
out (``Completed``, ``Embedded``, or a ``MeteredStream`` of canonical events ending in ``StreamEnd``).

Nothing here knows a wire API: each ingress codec renders these in its own shape. The records are frozen
msgspec structs: made several times per request, they cost a tenth of a frozen dataclass to build.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping

import msgspec

from opentoken.catalog.model import ModelInfo
from opentoken.core.embed import EmbedResult
from opentoken.core.errors import GatewayError
from opentoken.core.money import Cost
from opentoken.core.result import ChatResult, StreamEvent, Usage, is_content
from opentoken.metering.recorder import CallMeter
from opentoken.routing.router import Routed
from opentoken.routing.stream import LiveStream
from opentoken.stores.base import ApiKey

KeepReplay = Callable[[ApiKey, ChatResult], Awaitable[None]]


class Call(msgspec.Struct, frozen=True):
    """What the ingress knows about a call besides its canonical request."""

    request_id: str
    body_size: int  # bytes of the request body (the prompt estimate counts them)
    ingress: str = "openai_chat"
    ignored: tuple[str, ...] = ()  # request fields the ingress accepted but does not act on


class Served(msgspec.Struct, frozen=True):
    """How a call was served, for the ingress's response headers."""

    model: ModelInfo  # the model that answered (a fallback, maybe)
    attempts: int
    adjusted: tuple[str, ...]  # canonical fields the provider adapter changed or dropped
    limit_headers: Mapping[str, str]  # x-ratelimit-* of the admission
    simulated: bool  # answered by the built-in sandbox, not a real provider
    native: bool = False  # passed through: the reply is in the client's own wire API (``core.chat.NativeRequest``)
    # the catalog's lifecycle headers for the model asked
    notices: Mapping[str, str] = msgspec.field(default_factory=dict)


class Completed(msgspec.Struct, frozen=True):
    served: Served
    result: ChatResult
    cost: Cost


class Embedded(msgspec.Struct, frozen=True):
    served: Served
    result: EmbedResult
    cost: Cost


class StreamEnd(msgspec.Struct, frozen=True):
    """The last item of a ``MeteredStream`` that ended normally: the call's usage and cost, once recorded."""

    usage: Usage
    cost: Cost


class MeteredStream:
    """A routed stream: ``batches()`` yields the canonical events, a list per upstream read (the events held
    back before the first content event come first, as one list), then ``StreamEnd`` once the call is
    recorded. A codec renders a list in one go: no generator round trip per event.

    A ``GatewayError`` after the first byte is recorded (status 200 with its error code) and then raised from
    ``batches()``, for the ingress to render as its in-stream error. ``aclose()`` must be called when the
    ingress is done with the stream, however it ended: a stream cut short (the client left, the server is
    draining) is recorded there with the usage seen so far.
    """

    def __init__(
        self,
        routed: Routed[LiveStream],
        served: Served,
        meter: CallMeter,
        deadline: float,
        keep_replay: KeepReplay,
        cut: Callable[[], tuple[int, str]],
    ) -> None:
        self.served = served
        self.deadline = deadline  # time.monotonic() past which the ingress stops sending (a stalled reader)
        self._routed = routed
        self._meter = meter
        self._keep_replay = keep_replay  # stores the provider state of the turn (``Pipeline.keep_replay``)
        self._cut = cut  # status and code of a call cut midway (``Pipeline.cut``)

    async def batches(self) -> AsyncGenerator[list[StreamEvent] | StreamEnd, None]:
        live, meter = self._routed.value, self._meter
        try:
            held, rest = live.take()
            if any(map(is_content, held)):  # the first content event is among these (``LiveStream.prime``)
                meter.mark_first_token()
            if held:
                yield held
            if rest is not None:
                async for batch in rest:
                    yield batch
            result = live.folder.result()
            meter.answered(result)  # observation: response id, finish reasons (opentoken.telemetry.record)
            if not self.served.native:  # a pass-through client holds its own provider state
                await self._keep_replay(meter.key, result)
            yield StreamEnd(result.usage, await meter.finish(result.usage))
        except GatewayError as e:
            await meter.finish(live.folder.usage, status=200, error_code=e.code)
            raise
        except (asyncio.CancelledError, GeneratorExit):
            meter.abandon(live.folder.usage, *self._cut())
            raise

    async def aclose(self) -> None:
        self._meter.abandon(self._routed.value.folder.usage, *self._cut())  # a no-op once recorded
        self._routed.value.close()
        self._routed.lease.release()
