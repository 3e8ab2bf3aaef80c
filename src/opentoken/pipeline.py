"""The request path in order: authenticate -> resolve model -> adapt -> admit -> call -> translate -> meter.

One ``Pipeline`` per app. ``run`` returns a ``Reply``: a whole JSON body, or (for ``stream: true``) an async
iterator of SSE frames whose upstream call is already open, so a failure before the first byte is still a
normal HTTP error. Every request that reached a provider is metered exactly once (``CallMeter``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace

from opentoken.api.convert import parse_body
from opentoken.api.response import completion_json, usage_out
from opentoken.api.stream import DONE, ChunkWriter
from opentoken.auth.authenticate import Authenticator
from opentoken.catalog.model import ModelInfo
from opentoken.catalog.registry import Catalog
from opentoken.core.chat import ChatRequest, ReplayState
from opentoken.core.errors import GatewayError, ModelNotAllowed
from opentoken.core.fold import Folder
from opentoken.core.result import ChatResult, Usage
from opentoken.limits.base import Limiter
from opentoken.metering.recorder import CallMeter
from opentoken.metering.writer import LedgerWriter
from opentoken.providers.base import Provider
from opentoken.routing.router import Opened, Router
from opentoken.stores.base import ReplayStore
from opentoken.upstream.media import MediaFetcher


@dataclass(slots=True)
class Reply:
    headers: dict[str, str]
    body: bytes = b""
    stream: AsyncIterator[bytes] | None = None


@dataclass(slots=True)
class Pipeline:
    catalog: Catalog
    providers: Mapping[str, Provider]
    authenticator: Authenticator
    limiter: Limiter
    ledger: LedgerWriter
    replay: ReplayStore
    router: Router
    media: MediaFetcher
    replay_ttl: int = 7 * 24 * 3600
    background: set[asyncio.Task[None]] = field(default_factory=set)

    async def run(self, authorization: str | None, body: bytes, request_id: str) -> Reply:
        key = await self.authenticator.authenticate(authorization)
        request, _ = parse_body(body)
        model = self.catalog.resolve(request.model)
        if not key.allows(model.id):
            raise ModelNotAllowed(f"This API key may not use the model `{model.id}`.", param="model")
        provider = self.providers[model.provider]
        request = await self._with_replay(request)
        if not provider.fetches_image_urls:
            request = await self.media.inline_images(request)
        upstream_request = provider.build_request(request, model)
        max_out = request.max_tokens or model.default_max_tokens
        admission = await self.limiter.admit(key, model, len(body) // 3 + 1, max_out)
        meter = CallMeter(request_id, key, model, request.stream, admission, self.ledger, background=self.background)
        try:
            opened = await self.router.open(model, upstream_request)
        except GatewayError as e:
            meter.attempts = e.attempts
            await meter.finish(Usage(), status=e.status, error_code=e.code)
            raise
        meter.attempts = opened.attempts
        headers = {**admission.headers, "x-opentoken-provider": model.provider}
        if request.ignored:
            headers["x-opentoken-ignored-params"] = ",".join(request.ignored)
        if upstream_request.adjusted:
            headers["x-opentoken-adjusted-params"] = ",".join(upstream_request.adjusted)
        completion_id = "chatcmpl-" + request_id.removeprefix("req_")
        if request.stream:
            frames = self._stream(request, model, provider, opened, meter, completion_id)
            return Reply(headers=headers, stream=frames)
        try:
            raw = await opened.call.read()
            meter.mark_first_token()
            result = provider.parse_response(raw, model)
        except GatewayError as e:
            await meter.finish(Usage(), status=e.status, error_code=e.code)
            raise
        await self._keep_replay(result)
        cost = await meter.finish(result.usage)
        headers["x-opentoken-cost-usd"] = str(cost.total)
        out = completion_json(result, id=completion_id, created=int(time.time()), model=model.id, cost=cost)
        return Reply(headers=headers, body=out)

    async def _stream(
        self,
        request: ChatRequest,
        model: ModelInfo,
        provider: Provider,
        opened: Opened,
        meter: CallMeter,
        completion_id: str,
    ) -> AsyncIterator[bytes]:
        writer = ChunkWriter(id=completion_id, created=int(time.time()), model=model.id)
        decoder = provider.stream_decoder(model)
        folder = Folder()
        try:
            async for sse in opened.call.events():
                for ev in decoder.feed(sse):
                    folder.add(ev)
                    frames = writer.event(ev)
                    if frames:
                        meter.mark_first_token()
                        for frame in frames:
                            yield frame
            for ev in decoder.close():
                folder.add(ev)
                for frame in writer.event(ev):
                    yield frame
            result = folder.result()
            await self._keep_replay(result)
            cost = await meter.finish(result.usage)
            if request.include_usage:
                yield writer.usage(usage_out(result.usage, cost))
            yield DONE
        except GatewayError as e:
            await meter.finish(folder.usage, status=200, error_code=e.code)
            yield writer.error(e.message, e.type, e.param, e.code)
        except (asyncio.CancelledError, GeneratorExit):
            meter.abandon(folder.usage, status=499, error_code="client_disconnected")
            raise
        finally:
            opened.call.close()

    async def _with_replay(self, request: ChatRequest) -> ChatRequest:
        """Re-attach stored provider state (thinking blocks, signatures) to assistant turns, by tool-call id."""
        wanted = [m.tool_calls[0].id for m in request.messages if m.role == "assistant" and m.tool_calls]
        if not wanted:
            return request
        found = await self.replay.get_many(wanted)
        if not found:
            return request
        messages = tuple(
            replace(m, replay=found[m.tool_calls[0].id])
            if m.role == "assistant" and m.tool_calls and m.tool_calls[0].id in found
            else m
            for m in request.messages
        )
        return replace(request, messages=messages)

    async def _keep_replay(self, result: ChatResult) -> None:
        items: dict[str, ReplayState] = {}
        for choice in result.choices:
            if choice.replay is not None and choice.tool_calls:
                items[choice.tool_calls[0].id] = choice.replay
        if items:
            await self.replay.put(items, self.replay_ttl)
