"""Canonical chat request: what every ingress parses into and every provider adapter translates from.

Each wire API the gateway serves (``opentoken.ingress``) validates its request and converts it into these
frozen types once, at the edge; nothing here belongs to one wire API. System and developer messages keep
their place; each adapter hoists them as its API requires. JSON Schemas (tool parameters, response formats)
stay plain JSON objects: they are data, not structure.

Field names are the neutral vocabulary of the gateway: ``UpstreamRequest.adjusted`` and error locations
(``GatewayError.loc``) name these fields, and each ingress renders them in its own syntax.

Pass-through (``NativeRequest``): when a client speaks a provider's own wire API (the Anthropic Messages API,
say), its ingress also attaches the request as sent, under the name of that wire API. A provider that
declares the same API (``Provider.native_api``) sends that body as is (only the model id mapped and its own
key used) and its reply is relayed to the client event by event (``core.result.NativeFrame``,
``ChatResult.native``); every other provider of the chain uses the canonical request. The canonical request
is always complete: limits, routing and metering read only it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

JSONObject = dict[str, Any]
Role = Literal["system", "user", "assistant", "tool"]
ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]


@dataclass(frozen=True, slots=True)
class TextPart:
    text: str


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image: either inline (``data`` is base64, ``media_type`` set) or by ``url`` (http/https)."""

    url: str | None = None
    data: str | None = None
    media_type: str | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class FilePart:
    """A document or other file sent inline as base64 (OpenAI ``file`` parts with ``file_data``)."""

    data: str
    media_type: str
    filename: str | None = None


@dataclass(frozen=True, slots=True)
class AudioPart:
    data: str
    format: str  # "wav" | "mp3"


Part = TextPart | ImagePart | FilePart | AudioPart


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # the JSON text as the client sent it (validated to be a JSON object)


@dataclass(frozen=True, slots=True)
class ReplayState:
    """Opaque provider state that must be sent back with an assistant turn (thinking blocks, signatures).

    The gateway keeps it server-side keyed by tool-call id so that plain OpenAI clients, which send back only
    ids and content, still drive tool loops that need it. ``provider`` names the adapter that produced it;
    ``data`` is that adapter's own JSON text, which nothing else reads.
    """

    provider: str
    data: str


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    parts: tuple[Part, ...] = ()
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None  # role "tool": the call this message answers
    is_error: bool = False  # role "tool": the tool failed (the parts say how)
    name: str | None = None
    replay: ReplayState | None = None  # filled by the pipeline for assistant turns with stored state

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str | None = None
    parameters: JSONObject | None = None
    strict: bool | None = None


@dataclass(frozen=True, slots=True)
class ToolChoice:
    mode: Literal["auto", "none", "required", "function"]
    name: str | None = None  # set when mode == "function"


@dataclass(frozen=True, slots=True)
class ResponseFormat:
    type: Literal["text", "json_object", "json_schema"]
    name: str | None = None
    schema: JSONObject | None = None
    strict: bool | None = None


@dataclass(frozen=True, slots=True)
class NativeRequest:
    """The client's request in a provider wire API, for providers that speak it (see the module docstring).

    ``api`` names the wire API (an ingress codec's ``name``, e.g. ``"anthropic_messages"``); ``body`` is the
    JSON body as the client sent it; ``headers`` the client headers that API defines and a pass-through keeps
    (lower-case names; never credentials).
    """

    api: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ChatRequest:
    model: str  # the public id, "{provider}/{model}" (or an alias of one)
    messages: tuple[Message, ...]
    stream: bool = False
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop: tuple[str, ...] = ()
    candidate_count: int = 1  # independent replies to generate (providers that cannot: a 400)
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    logprobs: bool = False  # token log probabilities of the reply
    top_logprobs: int | None = None  # and this many alternatives per token
    tools: tuple[Tool, ...] = ()
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    reasoning_effort: ReasoningEffort | None = None
    reasoning_budget: int | None = None  # thinking tokens the client allows (wins over the effort's budget)
    user: str | None = None  # an end-user id the client passes on (providers' abuse monitoring)
    fallback_models: tuple[str, ...] = ()  # per-request fallbacks, tried in order after ``model``
    native: NativeRequest | None = None  # the request as sent, for a provider that speaks the client's API
