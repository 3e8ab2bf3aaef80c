"""The OpenAI Chat Completions codec: ``POST /v1/chat/completions`` over the pipeline."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping

from opentoken.core.chat import ChatRequest
from opentoken.core.errors import GatewayError
from opentoken.ingress.base import Rendered, name_list, render_read, served_headers
from opentoken.ingress.openai.errors import error_headers, error_json
from opentoken.ingress.openai_chat.locs import field_name, render_loc
from opentoken.ingress.openai_chat.parse import ParsedChat, parse_body
from opentoken.ingress.openai_chat.render import completion_json, usage_out
from opentoken.ingress.openai_chat.stream import DONE, ChunkWriter
from opentoken.outcome import Completed, MeteredStream, Served, StreamEnd


def completion_id(request_id: str) -> str:
    return "chatcmpl-" + request_id.removeprefix("req_")


class OpenAIChatCodec:
    name = "openai_chat"

    def credentials(self, headers: Mapping[str, str]) -> str | None:
        return headers.get("authorization")

    def parse(self, body: bytes, headers: Mapping[str, str]) -> ParsedChat:
        return parse_body(body)

    def request(self, parsed: ParsedChat) -> ChatRequest:
        return parsed.request

    def ignored(self, parsed: ParsedChat) -> tuple[str, ...]:
        return parsed.ignored

    def headers(self, parsed: ParsedChat, served: Served) -> dict[str, str]:
        headers = served_headers(served)
        if parsed.ignored:
            headers["x-opentoken-ignored-params"] = name_list(parsed.ignored)
        if served.adjusted:
            headers["x-opentoken-adjusted-params"] = name_list(tuple(field_name(f, parsed) for f in served.adjusted))
        return headers

    def render(self, parsed: ParsedChat, done: Completed, request_id: str) -> Rendered:
        body = completion_json(
            done.result,
            id=completion_id(request_id),
            created=int(time.time()),
            model=done.served.model.id,
            cost=done.cost,
        )
        headers = self.headers(parsed, done.served)
        headers["x-opentoken-cost-usd"] = str(done.cost.total)
        return Rendered(200, body, headers)

    async def stream(self, parsed: ParsedChat, stream: MeteredStream, request_id: str) -> AsyncIterator[bytes]:
        writer = ChunkWriter(id=completion_id(request_id), created=int(time.time()), model=stream.served.model.id)
        batches = stream.batches()
        try:
            async for batch in batches:
                if isinstance(batch, StreamEnd):
                    if parsed.include_usage:
                        yield writer.usage(usage_out(batch.usage, batch.cost))
                    yield DONE
                    return
                if frames := render_read(batch, writer.event):
                    yield frames
        except GatewayError as e:
            yield writer.error(e.message, e.type, self._param(e, parsed), e.code)
        finally:
            await batches.aclose()

    def error(self, err: GatewayError, parsed: ParsedChat | None, request_id: str | None = None) -> Rendered:
        body = error_json(err.message, err.type, self._param(err, parsed), err.code)
        return Rendered(err.status, body, error_headers(err))

    @staticmethod
    def _param(err: GatewayError, parsed: ParsedChat | None) -> str | None:
        if err.param is not None or err.loc is None:
            return err.param
        return render_loc(err.loc, parsed)
