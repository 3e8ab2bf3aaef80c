"""The attempts the router makes for one request: send a model's prepared request to a deployment and take
the reply up to the point where the client would see its first byte.

- ``complete`` (``stream: false``): the whole reply is read and parsed inside the attempt, so a connection
  dropped before the end, or a body we cannot read, can still be retried.
- ``stream``: the upstream stream is primed up to its first content event (``LiveStream``), within the
  model's first-token timeout; the idle timeout (gap between events) applies from then on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from opentoken.catalog.model import ModelInfo
from opentoken.core.errors import GatewayError, UpstreamTimeout
from opentoken.core.result import ChatResult, Usage
from opentoken.providers.base import Provider, UpstreamRequest
from opentoken.routing.stream import LiveStream
from opentoken.upstream.client import Deployment, UpstreamClient


@dataclass(frozen=True, slots=True)
class Prepared:
    """A model of the request's chain with its provider and the upstream request built for it."""

    model: ModelInfo
    provider: Provider
    request: UpstreamRequest


class Calls:
    def __init__(self, client: UpstreamClient, chain: Sequence[Prepared], deadline: float) -> None:
        self._client = client
        self._by_model = {p.model.id: p for p in chain}
        self.models = [p.model for p in chain]
        self.deadline = deadline
        self.live: LiveStream | None = None  # the stream being primed, for its usage if the client goes away

    @property
    def usage_so_far(self) -> Usage:
        return self.live.folder.usage if self.live is not None else Usage()

    async def complete(self, model: ModelInfo, deployment: Deployment) -> ChatResult:
        p = self._by_model[model.id]
        call = await self._client.send(deployment, p.request, model.timeouts, self.deadline)
        raw = await call.read()
        result = p.provider.parse_response(raw, model)
        return replace(result, native=raw) if p.request.native else result

    async def stream(self, model: ModelInfo, deployment: Deployment) -> LiveStream:
        p = self._by_model[model.id]
        now = time.monotonic()
        limit = min(model.timeouts.first_token, self.deadline - now)
        live: LiveStream | None = None
        try:
            async with asyncio.timeout(max(0.0, limit)):
                call = await self._client.send(deployment, p.request, model.timeouts, self.deadline)
                call.idle = None  # until the first content event only the first-token timeout applies
                live = self.live = LiveStream(call, p.provider.stream_decoder(model), native=p.request.native)
                await live.prime()
                call.idle = model.timeouts.idle
        except TimeoutError as e:
            await self._discard(live, forget=True)
            if limit < model.timeouts.first_token:
                raise UpstreamTimeout(f"The request exceeded its {model.timeouts.total:g} s total timeout.") from e
            raise UpstreamTimeout(
                f"The provider sent no first token within {model.timeouts.first_token:g} s ({deployment.name})."
            ) from e
        except GatewayError:
            await self._discard(live, forget=True)
            raise
        except BaseException:  # cancelled (the client went away): keep ``live`` for its usage so far
            await self._discard(live, forget=False)
            raise
        return live

    async def _discard(self, live: LiveStream | None, *, forget: bool) -> None:
        if live is not None:
            if forget:
                self.live = None  # a failed attempt is not billed; the next attempt may answer
            await live.aclose()
