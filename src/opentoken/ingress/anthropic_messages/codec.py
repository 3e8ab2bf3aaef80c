"""The Anthropic Messages codec: ``POST /v1/messages`` (and ``/v1/messages/count_tokens``) over the pipeline.

Credentials come from ``x-api-key`` or ``Authorization: Bearer`` (Claude Code sends either). A call served by
a provider that speaks this API (``Served.native``) is relayed as the provider answered; any other call is
rendered from the canonical result. Either way the response carries the gateway's headers; a translated call
also reports what the translation left out (``x-opentoken-ignored-params``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from opentoken.core.chat import ChatRequest
from opentoken.core.errors import GatewayError
from opentoken.core.result import NativeFrame
from opentoken.ingress.anthropic_messages.errors import error_headers, error_json, status_and_type
from opentoken.ingress.anthropic_messages.locs import field_name, render_loc
from opentoken.ingress.anthropic_messages.parse import NAME, ParsedMessages, parse_body
from opentoken.ingress.anthropic_messages.render import message_id, message_json
from opentoken.ingress.anthropic_messages.stream import EventWriter, error_frame, native_frame
from opentoken.ingress.base import Rendered, name_list, render_read, served_headers
from opentoken.outcome import Completed, MeteredStream, Served, StreamEnd
from opentoken.routing.counting import Counted


def bearer(headers: Mapping[str, str]) -> str | None:
    """``x-api-key`` as a bearer credential, else the ``Authorization`` header as sent."""
    key = headers.get("x-api-key")
    if key:
        return "Bearer " + key.strip()
    return headers.get("authorization")


class AnthropicMessagesCodec:
    name = NAME

    def __init__(self, *, counting: bool = False) -> None:
        self.counting = counting  # the count_tokens route: max_tokens is not required

    def credentials(self, headers: Mapping[str, str]) -> str | None:
        return bearer(headers)

    def parse(self, body: bytes, headers: Mapping[str, str]) -> ParsedMessages:
        return parse_body(body, headers, counting=self.counting)

    def request(self, parsed: ParsedMessages) -> ChatRequest:
        return parsed.request

    def ignored(self, parsed: ParsedMessages) -> tuple[str, ...]:
        return ()  # what a translation leaves out depends on the provider: see ``headers``

    def headers(self, parsed: ParsedMessages, served: Served) -> dict[str, str]:
        headers = served_headers(served)
        if not served.native:
            if parsed.dropped:
                headers["x-opentoken-ignored-params"] = name_list(parsed.dropped)
            if served.adjusted:
                headers["x-opentoken-adjusted-params"] = name_list(tuple(field_name(f) for f in served.adjusted))
        return headers

    def render(self, parsed: ParsedMessages, done: Completed, request_id: str) -> Rendered:
        headers = self.headers(parsed, done.served)
        headers["x-opentoken-cost-usd"] = str(done.cost.total)
        headers["request-id"] = request_id
        result = done.result
        if done.served.native and result.native is not None:
            return Rendered(200, result.native, headers)
        body = message_json(
            result.candidates[0],
            result.usage,
            id=message_id(request_id),
            model=done.served.model.id,
            provider=done.served.model.provider,
            request_id=request_id,
            omit_thinking=parsed.thinking_display == "omitted",
        )
        return Rendered(200, body, headers)

    async def stream(self, parsed: ParsedMessages, stream: MeteredStream, request_id: str) -> AsyncIterator[bytes]:
        served = stream.served
        writer = EventWriter(
            id=message_id(request_id),
            model=served.model.id,
            provider=served.model.provider,
            request_id=request_id,
            omit_thinking=parsed.thinking_display == "omitted",
        )
        batches = stream.batches()
        try:
            async for batch in batches:
                if isinstance(batch, StreamEnd):
                    if not served.native:
                        for chunk in writer.end(batch.usage):
                            yield chunk
                    return
                if served.native:
                    chunks = b"".join([native_frame(ev) for ev in batch if isinstance(ev, NativeFrame)])
                else:
                    chunks = render_read(batch, writer.event)
                if chunks:
                    yield chunks
        except GatewayError as e:
            yield error_frame(error_json(e, e.message, request_id))
        finally:
            await batches.aclose()

    def count(self, parsed: ParsedMessages, counted: Counted, request_id: str) -> Rendered:
        body = b'{"input_tokens":%d}' % counted.input_tokens
        headers = {
            "x-opentoken-provider": counted.model.provider,
            "x-opentoken-attempts": str(counted.attempts),
            "request-id": request_id,
        }
        if counted.simulated:
            headers["x-opentoken-simulated"] = "true"
        return Rendered(200, body, headers)

    def error(self, err: GatewayError, parsed: ParsedMessages | None, request_id: str | None = None) -> Rendered:
        message = err.message
        param = err.param if err.param is not None or err.loc is None else render_loc(err.loc, parsed)
        if param and not message.startswith(param):
            message = f"{param}: {message}"
        status, _ = status_and_type(err)
        return Rendered(status, error_json(err, message, request_id), error_headers(err, request_id))
