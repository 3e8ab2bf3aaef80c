"""The request path in order: authenticate -> resolve models -> adapt -> admit -> route -> translate -> meter.

One ``Pipeline`` per app. ``run`` returns a ``Reply``: a whole JSON body, or (for ``stream: true``) an async
iterator of SSE frames whose upstream stream has already produced its first content event, so every failure
before the first byte (retried by the router, see ``opentoken.routing``) is still a normal HTTP error.
After the first byte a failure is one OpenAI error chunk that ends the stream. Every request that reached a
provider is metered exactly once (``CallMeter``), with the model that answered and the number of attempts;
a client that goes away cancels the upstream call and its usage so far is still recorded.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TypeVar

from opentoken.api.convert import parse_body
from opentoken.api.response import completion_json, usage_out
from opentoken.api.stream import DONE, ChunkWriter
from opentoken.auth.authenticate import Authenticator
from opentoken.catalog.registry import Catalog
from opentoken.core.chat import ChatRequest, ReplayState
from opentoken.core.errors import GatewayError
from opentoken.core.result import ChatResult, Usage
from opentoken.limits.base import Limiter
from opentoken.limits.estimate import dearest, max_output, prompt_token_estimate
from opentoken.metering.recorder import CallMeter
from opentoken.metering.writer import LedgerWriter
from opentoken.providers.base import Provider
from opentoken.routing.calls import Calls, Prepared
from opentoken.routing.chain import chain_models, prepare_chain
from opentoken.routing.router import Attempt, Routed, Router
from opentoken.routing.stream import LiveStream
from opentoken.stores.base import ApiKey, ReplayStore
from opentoken.upstream.client import UpstreamClient
from opentoken.upstream.media import MediaFetcher

T = TypeVar("T")


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
    client: UpstreamClient
    media: MediaFetcher
    replay_ttl: int = 7 * 24 * 3600
    background: set[asyncio.Task[None]] = field(default_factory=set)
    draining: bool = False  # set on SIGTERM: a call cut off from now on was cut by the shutdown

    async def run(self, authorization: str | None, body: bytes, request_id: str) -> Reply:
        key = await self.authenticator.authenticate(authorization)
        return await self.run_for_key(key, body, request_id)

    async def run_for_key(self, key: ApiKey, body: bytes, request_id: str) -> Reply:
        """``run`` for a caller already authenticated (the console's playground holds the key's record)."""
        request, _ = parse_body(body)
        models = chain_models(request, key, self.catalog)
        request = await self._with_replay(request)
        chain = await prepare_chain(request, models, self.providers, self.media)
        model = chain[0].model
        prompt_tokens = prompt_token_estimate(request, len(body))
        budget_model = dearest(request, [p.model for p in chain], prompt_tokens)
        admission = await self.limiter.admit(key, budget_model, prompt_tokens, max_output(request, budget_model))
        meter = CallMeter(request_id, key, model, request.stream, admission, self.ledger, background=self.background)
        calls = Calls(self.client, chain, deadline=time.monotonic() + model.timeouts.total)
        completion_id = "chatcmpl-" + request_id.removeprefix("req_")
        if request.stream:
            stream = await self._route(calls, meter, calls.stream)
            frames = self._stream(request, stream, meter, completion_id)
            await anext(frames)  # start it: from here on, however it ends or is closed, it meters the call
            return Reply(headers=self._headers(request, stream, chain, meter), stream=frames)
        done = await self._route(calls, meter, calls.complete)
        done.lease.release()
        meter.mark_first_token()
        result = done.value
        meter.answered(result)  # observation: response id, finish reasons (opentoken.telemetry.record)
        headers = self._headers(request, done, chain, meter)
        try:
            await self._keep_replay(result)
            cost = await meter.finish(result.usage)
        except asyncio.CancelledError:
            meter.abandon(result.usage, *self._cut())  # a no-op once finish() has queued the record
            raise
        headers["x-opentoken-cost-usd"] = str(cost.total)
        created = int(time.time())
        out = completion_json(result, id=completion_id, created=created, model=done.model.id, cost=cost)
        return Reply(headers=headers, body=out)

    async def _route(self, calls: Calls, meter: CallMeter, attempt: Attempt[T]) -> Routed[T]:
        try:
            routed = await self.router.route(calls.models, attempt, calls.deadline)
        except GatewayError as e:
            meter.attempts = e.attempts
            await meter.finish(Usage(), status=e.status, error_code=e.code)
            raise
        except asyncio.CancelledError:
            meter.abandon(calls.usage_so_far, *self._cut())
            raise
        meter.model, meter.attempts = routed.model, routed.attempts
        return routed

    def _headers(
        self, request: ChatRequest, routed: Routed[T], chain: list[Prepared], meter: CallMeter
    ) -> dict[str, str]:
        headers = {
            **meter.admission.headers,
            "x-opentoken-provider": routed.model.provider,
            "x-opentoken-attempts": str(routed.attempts),
        }
        if request.ignored:
            headers["x-opentoken-ignored-params"] = ",".join(request.ignored)
        adjusted = next(p.request.adjusted for p in chain if p.model.id == routed.model.id)
        if adjusted:
            headers["x-opentoken-adjusted-params"] = ",".join(adjusted)
        return headers

    async def _stream(
        self, request: ChatRequest, routed: Routed[LiveStream], meter: CallMeter, completion_id: str
    ) -> AsyncIterator[bytes]:
        live = routed.value
        writer = ChunkWriter(id=completion_id, created=int(time.time()), model=routed.model.id)
        try:
            yield b""  # taken by run(): the generator is started, so closing it unstarted still lands below
            async for ev in live.events():
                frames = writer.event(ev)
                if frames:
                    meter.mark_first_token()
                    for frame in frames:
                        yield frame
            result = live.folder.result()
            meter.answered(result)  # observation: response id, finish reasons (opentoken.telemetry.record)
            await self._keep_replay(result)
            cost = await meter.finish(result.usage)
            if request.include_usage:
                yield writer.usage(usage_out(result.usage, cost))
            yield DONE
        except GatewayError as e:
            await meter.finish(live.folder.usage, status=200, error_code=e.code)
            yield writer.error(e.message, e.type, e.param, e.code)
        except (asyncio.CancelledError, GeneratorExit):
            meter.abandon(live.folder.usage, *self._cut())
            raise
        finally:
            live.close()
            routed.lease.release()

    def _cut(self) -> tuple[int, str]:
        """Status and error code of a call cancelled midway: the client left, or the drain deadline passed."""
        return (503, "gateway_shutdown") if self.draining else (499, "client_disconnected")

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
