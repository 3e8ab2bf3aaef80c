"""The OpenAI Responses codec: ``POST /v1/responses`` over the pipeline, with stored responses.

Beyond the plain codec methods, ``prepare`` completes a parsed request once its key is known (the stored
conversation of ``previous_response_id``, the opener of sealed reasoning state bound to the key) and
``complete`` renders a whole reply and stores it (``store: true``) before it is sent; a stream stores its
response before its final event. Stored responses live in the ``ResponseStore`` for ``ttl_seconds``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import orjson

from opentoken.core.chat import ChatRequest, ReplayState
from opentoken.core.errors import GatewayError, NotFound
from opentoken.ingress.base import Rendered, name_list, render_read, served_headers
from opentoken.ingress.openai.errors import error_headers, error_json
from opentoken.ingress.openai_responses.locs import field_name, render_loc
from opentoken.ingress.openai_responses.parse import ParsedResponse, build, parse_body
from opentoken.ingress.openai_responses.render import (
    ENCODER,
    Item,
    ItemIds,
    ReasoningOut,
    ResponseOut,
    item_dicts,
    output_items,
    response_id,
    response_out,
    status_of,
    usage_out,
)
from opentoken.ingress.openai_responses.state import StateSeal
from opentoken.ingress.openai_responses.stream import EventWriter
from opentoken.outcome import Completed, MeteredStream, Served, StreamEnd
from opentoken.stores.responses import ResponseStore, StoredResponse

DEFAULT_TTL_SECONDS = 30 * 24 * 3600


class OpenAIResponsesCodec:
    name = "openai_responses"

    def __init__(self, seal: StateSeal, store: ResponseStore, ttl_seconds: int = DEFAULT_TTL_SECONDS) -> None:
        self.seal = seal
        self.store = store
        self.ttl_seconds = ttl_seconds

    def credentials(self, headers: Mapping[str, str]) -> str | None:
        return headers.get("authorization")

    def parse(self, body: bytes, headers: Mapping[str, str]) -> ParsedResponse:
        return parse_body(body)

    async def prepare(self, parsed: ParsedResponse, key_id: str) -> ParsedResponse:
        history: tuple[dict[str, object], ...] = ()
        size = 0
        previous = parsed.body.previous_response_id
        if previous is not None:
            stored = await self.store.get(key_id, previous)
            if stored is None:
                raise NotFound(f"Previous response with id '{previous}' not found.", param="previous_response_id")
            history, size = tuple(orjson.loads(stored.history)), len(stored.history)
        return replace(build(parsed, key_id, history, self.seal.opener(key_id)), history_bytes=size)

    def request(self, parsed: ParsedResponse) -> ChatRequest:
        if parsed.request is None:
            raise GatewayError("The Responses request was not prepared for its key.")
        return parsed.request

    def ignored(self, parsed: ParsedResponse) -> tuple[str, ...]:
        return parsed.ignored

    def headers(self, parsed: ParsedResponse, served: Served) -> dict[str, str]:
        headers = served_headers(served)
        if parsed.ignored:
            headers["x-opentoken-ignored-params"] = name_list(parsed.ignored)
        if served.adjusted:
            headers["x-opentoken-adjusted-params"] = name_list(tuple(field_name(f) for f in served.adjusted))
        return headers

    # ---- whole replies ----

    def _state(self, parsed: ParsedResponse, replay: ReplayState | None) -> str | None:
        """The sealed state for the next turn, when someone will read it (the client, or the store)."""
        if replay is None or parsed.key_id is None or not (parsed.include_state or parsed.store):
            return None
        return self.seal.seal(replay, parsed.key_id)

    def _visible(self, parsed: ParsedResponse, items: list[Item], state: str | None) -> list[Item]:
        """The output the client sees: without the state item unless it asked for encrypted content."""
        if state is None or parsed.include_state:
            return items
        return [i for i in items if not (isinstance(i, ReasoningOut) and i.encrypted_content == state)]

    def response(self, parsed: ParsedResponse, done: Completed, request_id: str) -> tuple[ResponseOut, list[Item]]:
        """The Response object, and the output items with the state item (what the store keeps)."""
        candidate = done.result.candidates[0]
        state = self._state(parsed, candidate.replay)
        items = output_items(candidate, parsed, ItemIds(request_id), state)
        status, incomplete = status_of(candidate.stop)
        now = int(time.time())
        out = response_out(
            parsed,
            id=response_id(request_id),
            created_at=now,
            model=done.served.model.id,
            status=status,
            output=self._visible(parsed, items, state),
            usage=usage_out(done.result.usage, done.cost),
            incomplete=incomplete,
            completed_at=now,
        )
        return out, items

    def render(self, parsed: ParsedResponse, done: Completed, request_id: str) -> Rendered:
        out, _ = self.response(parsed, done, request_id)
        return self._rendered(parsed, done, out)

    async def complete(self, parsed: ParsedResponse, done: Completed, request_id: str) -> Rendered:
        out, items = self.response(parsed, done, request_id)
        await self.keep(parsed, out, items)
        return self._rendered(parsed, done, out)

    def _rendered(self, parsed: ParsedResponse, done: Completed, out: ResponseOut) -> Rendered:
        headers = self.headers(parsed, done.served)
        headers["x-opentoken-cost-usd"] = str(done.cost.total)
        return Rendered(200, ENCODER.encode(out), headers)

    async def keep(self, parsed: ParsedResponse, out: ResponseOut, items: list[Item]) -> None:
        """Store the response and the conversation after it (``store: true``)."""
        if not parsed.store or parsed.key_id is None:
            return
        created = datetime.fromtimestamp(out.created_at, UTC)
        history = [*parsed.history, *parsed.raw_items, *item_dicts(items)]
        await self.store.put(
            StoredResponse(
                id=out.id,
                key_id=parsed.key_id,
                created_at=created,
                expires_at=datetime.now(UTC) + timedelta(seconds=self.ttl_seconds),
                model=out.model,
                response=ENCODER.encode(out).decode(),
                input_items=orjson.dumps(list(parsed.raw_items)).decode(),
                history=orjson.dumps(history).decode(),
            )
        )

    # ---- streams ----

    async def stream(self, parsed: ParsedResponse, stream: MeteredStream, request_id: str) -> AsyncIterator[bytes]:
        writer = EventWriter(
            parsed, ItemIds(request_id), response_id(request_id), int(time.time()), stream.served.model.id
        )
        for frame in writer.start():
            yield frame
        batches = stream.batches()
        try:
            async for batch in batches:
                if isinstance(batch, StreamEnd):
                    for frame in await self._finish(parsed, writer, batch):
                        yield frame
                    return
                if frames := render_read(batch, writer.event):
                    yield frames
        except GatewayError as e:
            for frame in writer.fail(e, self._param(e, parsed)):
                yield frame
        finally:
            await batches.aclose()

    async def _finish(self, parsed: ParsedResponse, writer: EventWriter, end: StreamEnd) -> list[bytes]:
        state = self._state(parsed, writer.replay)
        frames = writer.finish(end.usage, end.cost, state if parsed.include_state else None, int(time.time()))
        if parsed.store:
            items = list(writer.items)
            if state is not None and not parsed.include_state:
                items.append(ReasoningOut(id=writer.ids("rs", len(items)), encrypted_content=state))
            assert writer.final is not None
            await self.keep(parsed, writer.final, items)
        return frames

    # ---- errors ----

    def error(self, err: GatewayError, parsed: ParsedResponse | None, request_id: str | None = None) -> Rendered:
        body = error_json(err.message, err.type, self._param(err, parsed), err.code)
        return Rendered(err.status, body, error_headers(err))

    @staticmethod
    def _param(err: GatewayError, parsed: ParsedResponse | None) -> str | None:
        if err.param is not None or err.loc is None:
            return err.param
        return render_loc(err.loc, parsed)
