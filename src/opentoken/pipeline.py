"""The request path in order, over canonical types only: resolve models -> admit -> adapt -> route -> meter.

``Pipeline.execute(key, request, call)`` takes an authenticated key and a canonical ``ChatRequest`` (an
ingress codec parsed it) and returns either ``Completed`` (a canonical result, metered, with its cost) or a
``MeteredStream`` of canonical events whose upstream stream has already produced its first content event,
so every failure before the first byte (retried by the router, see ``opentoken.routing``) is still a normal
error the ingress renders as an HTTP error. Nothing here knows a wire API.

Work is admitted before it is done: the key's limits and budget admit the request on what is known without
I/O (the model chain, a prompt estimate), and only then are stored provider state, media and the upstream
requests (tool schemas compiled) prepared. Every request that reached a provider is metered exactly once
(``CallMeter``), with the model that answered and the number of attempts; a client that goes away cancels
the upstream call and its usage so far is still recorded.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TypeVar

from opentoken.auth.authenticate import Authenticator
from opentoken.catalog.model import ModelInfo
from opentoken.catalog.registry import Catalog
from opentoken.core.chat import ChatRequest, ReplayState
from opentoken.core.embed import EmbedRequest
from opentoken.core.errors import GatewayError, InvalidRequest, ModelNotAllowed, UnsupportedParameter
from opentoken.core.result import ChatResult, Usage
from opentoken.limits.base import Admission, Limiter
from opentoken.limits.estimate import BYTES_PER_TOKEN, dearest, max_output, prompt_token_estimate
from opentoken.metering.recorder import CallMeter
from opentoken.metering.writer import LedgerWriter
from opentoken.outcome import Call, Completed, Embedded, MeteredStream, Served
from opentoken.providers.base import Embedder, Provider
from opentoken.routing.calls import Calls, Prepared
from opentoken.routing.chain import chain_models, prepare_chain
from opentoken.routing.counting import Counted, count_prompt
from opentoken.routing.embed import EmbedCalls
from opentoken.routing.router import Attempt, Routed, Router
from opentoken.stores.base import ApiKey, ReplayStore
from opentoken.upstream.client import UpstreamClient
from opentoken.upstream.media import MediaFetcher

T = TypeVar("T")


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
    stream_stall_seconds: float = 30.0
    embedders: Mapping[str, Embedder] = field(default_factory=dict)
    background: set[asyncio.Task[None]] = field(default_factory=set)
    draining: bool = False  # set on SIGTERM: a call cut off from now on was cut by the shutdown

    async def execute(self, key: ApiKey, request: ChatRequest, call: Call) -> Completed | MeteredStream:
        models = chain_models(request, key, self.catalog)
        prompt_tokens = prompt_token_estimate(request, call.body_size)
        budget_model = dearest(request, models, prompt_tokens)
        admission = await self.limiter.admit(key, budget_model, prompt_tokens, max_output(request, budget_model))
        chain = await self._prepare(key, request, models, admission)
        meter = CallMeter(
            call.request_id, key, models[0], request.stream, admission, self.ledger, background=self.background
        )
        meter.ingress, meter.ignored = call.ingress, call.ignored
        calls = Calls(self.client, chain, deadline=time.monotonic() + models[0].timeouts.total)
        if request.stream:
            streamed = await self._route(calls, meter, calls.stream)
            served = self._served(request, streamed, chain, meter)
            return MeteredStream(streamed, served, meter, calls.deadline + 1.0, self.keep_replay, self.cut)
        done = await self._route(calls, meter, calls.complete)
        done.lease.release()
        meter.mark_first_token()
        result = done.value
        meter.answered(result)  # observation: response id, finish reasons (opentoken.telemetry.record)
        try:
            await self.keep_replay(key, result)
            cost = await meter.finish(result.usage)
        except asyncio.CancelledError:
            meter.abandon(result.usage, *self.cut())  # a no-op once finish() has queued the record
            raise
        return Completed(self._served(request, done, chain, meter), result, cost)

    async def embed(self, key: ApiKey, request: EmbedRequest, call: Call) -> Embedded:
        """Embeddings: the same key, limits, budget, routing, retries, ledger and cost as chat; one model (no
        fallbacks: another model's vectors are not comparable), batched by the provider adapter."""
        model = self.catalog.resolve(request.model)
        if model.kind != "embedding":
            raise InvalidRequest(
                f"`{model.id}` is a {model.kind} model: embeddings need an embedding model.",
                loc=("model",),
                code="model_not_supported",
            )
        if not key.allows(model.id):
            raise ModelNotAllowed(f"This API key may not use the model `{model.id}`.", loc=("model",))
        embedder = self.embedders.get(model.provider)
        if embedder is None:
            raise UnsupportedParameter(f"The provider of `{model.id}` serves no embeddings.", loc=("model",))
        admission = await self.limiter.admit(key, model, call.body_size // BYTES_PER_TOKEN + 1, 0)
        try:
            batches = embedder.embed_requests(request, model)
        except BaseException:
            await admission.release()
            raise
        meter = CallMeter(call.request_id, key, model, False, admission, self.ledger, background=self.background)
        calls = EmbedCalls(self.client, embedder, request, batches, time.monotonic() + model.timeouts.total)
        try:
            routed = await self.router.route([model], calls, calls.deadline)
        except GatewayError as e:
            meter.attempts = e.attempts
            await meter.finish(Usage(), status=e.status, error_code=e.code)
            raise
        except asyncio.CancelledError:
            meter.abandon(Usage(), *self.cut())
            raise
        routed.lease.release()
        meter.model, meter.attempts = routed.model, routed.attempts
        meter.mark_first_token()
        cost = await meter.finish(routed.value.usage)
        served = Served(routed.model, routed.attempts, (), admission.headers, routed.deployment.simulated)
        return Embedded(served, routed.value, cost)

    async def _prepare(
        self, key: ApiKey, request: ChatRequest, models: list[ModelInfo], admission: Admission
    ) -> list[Prepared]:
        """Stored provider state, media and the upstream request of every model of the chain; the admission is
        released when the request turns out to be one no provider can take (nothing was sent)."""
        try:
            request = await self._with_replay(key, request)
            return await prepare_chain(request, models, self.providers, self.media)
        except asyncio.CancelledError:
            task = asyncio.get_running_loop().create_task(admission.release())
            self.background.add(task)
            task.add_done_callback(self.background.discard)
            raise
        except BaseException:
            await admission.release()
            raise

    async def _route(self, calls: Calls, meter: CallMeter, attempt: Attempt[T]) -> Routed[T]:
        try:
            routed = await self.router.route(calls.models, attempt, calls.deadline, meter.tried)
        except GatewayError as e:
            meter.attempts = e.attempts
            await meter.finish(Usage(), status=e.status, error_code=e.code)
            raise
        except asyncio.CancelledError:
            meter.abandon(calls.usage_so_far, *self.cut())
            raise
        meter.model, meter.attempts, meter.deployment = routed.model, routed.attempts, routed.deployment.name
        return routed

    def _served(self, request: ChatRequest, routed: Routed[T], chain: list[Prepared], meter: CallMeter) -> Served:
        upstream = next(p.request for p in chain if p.model.id == routed.model.id)
        meter.adjusted = tuple(upstream.adjusted)
        return Served(
            model=routed.model,
            attempts=routed.attempts,
            adjusted=upstream.adjusted,
            limit_headers=meter.admission.headers,
            simulated=routed.deployment.simulated,
            native=upstream.native,
            notices=self.catalog.notices(request.model),
        )

    def cut(self) -> tuple[int, str]:
        """Status and error code of a call cancelled midway: the client left, or the drain deadline passed."""
        return (503, "gateway_shutdown") if self.draining else (499, "client_disconnected")

    async def _with_replay(self, key: ApiKey, request: ChatRequest) -> ChatRequest:
        """Re-attach stored provider state (thinking blocks, signatures) to assistant turns, by tool-call id."""
        wanted = [m.tool_calls[0].id for m in request.messages if m.role == "assistant" and m.tool_calls]
        if not wanted:
            return request
        found = await self.replay.get_many(key.id, wanted)
        if not found:
            return request
        messages = tuple(
            replace(m, replay=found[m.tool_calls[0].id])
            if m.role == "assistant" and m.tool_calls and m.tool_calls[0].id in found
            else m
            for m in request.messages
        )
        return replace(request, messages=messages)

    async def count_tokens(self, key: ApiKey, request: ChatRequest) -> Counted:
        """The prompt's input tokens, exact from the provider's counting endpoint (``routing.counting``).

        Admitted as a request (rpm, a concurrency slot) but with no tokens or budget reserved, and settled at
        zero cost: it costs nothing, so it writes no ledger row."""
        models = chain_models(request, key, self.catalog)
        admission = await self.limiter.admit(key, models[0], 0, 0)
        try:
            counted = await count_prompt(request, models, self.providers, self.media, self.client, self.router)
        except BaseException:
            await admission.release()
            raise
        await admission.settle(Decimal(0), 0)
        return counted

    async def keep_replay(self, key: ApiKey, result: ChatResult) -> None:
        if result.native is not None:
            return  # the client holds its own provider state (pass-through)
        items: dict[str, ReplayState] = {}
        for candidate in result.candidates:
            if candidate.replay is not None and (calls := candidate.tool_calls):
                items[calls[0].id] = candidate.replay
        if items:
            await self.replay.put(key.id, items, self.replay_ttl)
