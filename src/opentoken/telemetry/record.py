"""``RequestRecord``: what one request did, filled in as it goes, read once when it ends.

The HTTP middleware (``opentoken.http.observe``) creates the record, binds it to the request's context and,
when the request is over, turns it into the access-log line, the server span's attributes and the GenAI
metrics. The layers below fill it without knowing who reads it: the authenticator sets the key id, the
router the deployment, attempts and the upstream span of the attempt that answered, the call meter
(``opentoken.metering.recorder``) the model, usage, cost, status and timings it puts in the ledger, and
``answered`` the response id and finish reasons. Nothing in it can hold a secret: key *ids*, never keys.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from decimal import Decimal

from opentelemetry.trace import Span

from opentoken.core.result import ChatResult, Usage

_CURRENT: contextvars.ContextVar[RequestRecord | None] = contextvars.ContextVar("opentoken_request", default=None)


@dataclass(slots=True)
class RequestRecord:
    request_id: str
    method: str
    path: str
    started: float  # time.perf_counter() when the request arrived
    ingress: str | None = None  # the wire API served ("openai_chat", ...); None: not a model call
    key_id: str | None = None
    model: str | None = None  # the public model id requested
    response_model: str | None = None  # the public model id that answered (a fallback may differ)
    upstream_model: str | None = None  # the provider's own name for the model that answered
    provider: str | None = None  # our provider name ("anthropic", "google")
    provider_semconv: str | None = None  # its gen_ai.provider.name ("anthropic", "gcp.gemini")
    deployment: str | None = None
    stream: bool | None = None
    response_id: str | None = None  # the provider's id for the completion
    finish_reasons: tuple[str, ...] = ()
    usage: Usage | None = None
    cost: Decimal | None = None
    status: int | None = None  # HTTP status of the response
    error_code: str | None = None
    attempts: int = 0
    ttft: float | None = None  # seconds to the first token, when there was one
    metered: bool = False  # the call reached the ledger
    server_span: Span | None = None
    upstream_span: Span | None = None  # the attempt that answered, ended by ``answered``

    def answered(self, result: ChatResult) -> None:
        """The provider's reply is complete: keep its id and finish reasons, and close the upstream span."""
        self.response_id = result.id
        self.finish_reasons = tuple(c.stop.reason for c in result.candidates)
        if result.upstream_model:
            self.upstream_model = result.upstream_model
        span, self.upstream_span = self.upstream_span, None
        if span is not None:
            end_upstream_span(span, self, result.usage)


def end_upstream_span(span: Span, record: RequestRecord, usage: Usage | None) -> None:
    """Put the response attributes known so far on the answering attempt's span and end it."""
    if not span.is_recording():
        span.end()
        return
    if record.response_id:
        span.set_attribute("gen_ai.response.id", record.response_id)
    if record.upstream_model:
        span.set_attribute("gen_ai.response.model", record.upstream_model)
    if record.finish_reasons:
        span.set_attribute("gen_ai.response.finish_reasons", list(record.finish_reasons))
    if usage is not None:
        for name, value in usage_attributes(usage).items():
            span.set_attribute(name, value)
    span.end()


def usage_attributes(usage: Usage) -> dict[str, int]:
    """GenAI usage attributes. ``input_tokens`` counts the whole prompt (cache reads and writes included),
    as the semantic conventions define it; ``output_tokens`` includes reasoning. Cache writes are reported
    under the conventions' ``cache_creation`` name and under ``cache_write`` as well."""
    return {
        "gen_ai.usage.input_tokens": usage.prompt_tokens,
        "gen_ai.usage.output_tokens": usage.output_tokens,
        "gen_ai.usage.cache_read.input_tokens": usage.cache_read_tokens,
        "gen_ai.usage.cache_creation.input_tokens": usage.cache_write_tokens,
        "gen_ai.usage.cache_write.input_tokens": usage.cache_write_tokens,
        "gen_ai.usage.reasoning.output_tokens": usage.reasoning_tokens,
    }


def current_record() -> RequestRecord | None:
    """The record of the request this code runs for (None outside a request, e.g. in unit tests)."""
    return _CURRENT.get()


def bind(record: RequestRecord) -> contextvars.Token[RequestRecord | None]:
    return _CURRENT.set(record)


def unbind(token: contextvars.Token[RequestRecord | None]) -> None:
    _CURRENT.reset(token)
