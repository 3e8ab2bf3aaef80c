"""Canonical result -> the Responses ``Response`` object and its output items (typed, msgspec).

Output items follow the candidate's blocks in order:

- a thinking block -> a ``reasoning`` item whose ``summary`` is the thinking text (one ``summary_text``)
  when the client asked for summaries (``reasoning.summary``), else empty;
- text blocks -> one ``message`` item, one ``output_text`` part per block (adjacent blocks share the item);
- a tool call -> ``function_call`` (``namespace`` and the inner ``name`` for a namespaced tool) or, for a
  custom tool, ``custom_tool_call`` with the call's ``input`` string;
- last, when the client asked for ``reasoning.encrypted_content`` and the provider left state for the next
  turn: a ``reasoning`` item (empty summary) whose ``encrypted_content`` seals that state. It is the last item
  because the state is complete only when the reply is (a stream learns it at its end), so streams and
  whole replies carry it in the same place.

``status`` is ``incomplete`` (``incomplete_details.reason``) when the output limit or a content filter
stopped the reply, else ``completed``. Ids are derived from the request id, so a stream and the stored copy
of a response agree.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

import msgspec
import orjson
from msgspec import UNSET, Struct, UnsetType

from opentoken.core.money import Cost
from opentoken.core.result import (
    Candidate,
    ServerToolCallBlock,
    ServerToolResultBlock,
    Stop,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    Usage,
)
from opentoken.ingress.openai_responses.parse import ParsedResponse
from opentoken.ingress.openai_responses.tools import CUSTOM_ARGUMENT, ToolSet

ENCODER = msgspec.json.Encoder(decimal_format="number")
Status = Literal["completed", "incomplete", "in_progress", "failed"]


class OutputTextOut(Struct, kw_only=True):
    type: Literal["output_text"] = "output_text"
    text: str
    annotations: list[Any] = msgspec.field(default_factory=list)
    logprobs: list[Any] = msgspec.field(default_factory=list)


class MessageOut(Struct, kw_only=True):
    type: Literal["message"] = "message"
    id: str
    status: Status = "completed"
    role: Literal["assistant"] = "assistant"
    content: list[OutputTextOut] = msgspec.field(default_factory=list)


class SummaryOut(Struct, kw_only=True):
    type: Literal["summary_text"] = "summary_text"
    text: str


class ReasoningOut(Struct, kw_only=True):
    type: Literal["reasoning"] = "reasoning"
    id: str
    summary: list[SummaryOut] = msgspec.field(default_factory=list)
    encrypted_content: str | UnsetType = UNSET


class FunctionCallOut(Struct, kw_only=True):
    type: Literal["function_call"] = "function_call"
    id: str
    call_id: str
    name: str
    arguments: str = ""
    namespace: str | UnsetType = UNSET
    status: Status = "completed"


class CustomCallOut(Struct, kw_only=True):
    type: Literal["custom_tool_call"] = "custom_tool_call"
    id: str
    call_id: str
    name: str
    input: str = ""
    namespace: str | UnsetType = UNSET


class SourceOut(Struct, kw_only=True):
    type: Literal["url"] = "url"
    url: str


class SearchActionOut(Struct, kw_only=True):
    type: Literal["search"] = "search"
    query: str = ""
    queries: list[str] = msgspec.field(default_factory=list)
    sources: list[SourceOut] = msgspec.field(default_factory=list)


class WebSearchCallOut(Struct, kw_only=True):
    type: Literal["web_search_call"] = "web_search_call"
    id: str
    status: Literal["in_progress", "searching", "completed", "failed"] = "completed"
    action: SearchActionOut = msgspec.field(default_factory=SearchActionOut)


Item = MessageOut | ReasoningOut | FunctionCallOut | CustomCallOut | WebSearchCallOut


class InputDetailsOut(Struct):
    cached_tokens: int
    cache_write_tokens: int


class OutputDetailsOut(Struct):
    reasoning_tokens: int


class UsageOut(Struct):
    input_tokens: int
    input_tokens_details: InputDetailsOut
    output_tokens: int
    output_tokens_details: OutputDetailsOut
    total_tokens: int
    cost: Decimal | UnsetType = UNSET


class IncompleteOut(Struct):
    reason: Literal["max_output_tokens", "content_filter"]


class ErrorOut(Struct):
    code: str
    message: str


class ResponseOut(Struct, kw_only=True):
    id: str
    object: Literal["response"] = "response"
    created_at: int
    status: Status
    completed_at: int | None = None
    error: ErrorOut | None = None
    incomplete_details: IncompleteOut | None = None
    instructions: str | None = None
    max_output_tokens: int | None = None
    model: str
    output: list[Item] = msgspec.field(default_factory=list)
    parallel_tool_calls: bool = True
    previous_response_id: str | None = None
    reasoning: dict[str, Any] = msgspec.field(default_factory=dict)
    store: bool = True
    temperature: float | None = None
    text: dict[str, Any] = msgspec.field(default_factory=dict)
    tool_choice: Any = "auto"
    tools: list[Any] = msgspec.field(default_factory=list)
    top_p: float | None = None
    truncation: str = "disabled"
    usage: UsageOut | UnsetType = UNSET
    user: str | UnsetType = UNSET
    metadata: dict[str, str] = msgspec.field(default_factory=dict)
    prompt_cache_key: str | None = None


def response_id(request_id: str) -> str:
    return "resp_" + request_id.removeprefix("req_")


class ItemIds:
    """Output item ids: ``<prefix>_<request hex><output index>``, the same in a stream and its stored copy."""

    def __init__(self, request_id: str) -> None:
        self._base = request_id.removeprefix("req_")

    def __call__(self, prefix: str, index: int) -> str:
        return f"{prefix}_{self._base}{index:04x}"


def usage_out(usage: Usage, cost: Cost | None) -> UsageOut:
    out = UsageOut(
        input_tokens=usage.prompt_tokens,
        input_tokens_details=InputDetailsOut(usage.cache_read_tokens, usage.cache_write_tokens),
        output_tokens=usage.output_tokens,
        output_tokens_details=OutputDetailsOut(usage.reasoning_tokens),
        total_tokens=usage.total_tokens,
    )
    if cost is not None:
        out.cost = cost.total
    return out


def status_of(stop: Stop) -> tuple[Status, IncompleteOut | None]:
    if stop.reason == "max_tokens":
        return "incomplete", IncompleteOut("max_output_tokens")
    if stop.reason == "content_filter":
        return "incomplete", IncompleteOut("content_filter")
    return "completed", None


def call_item(block_id: str, call_id: str, name: str, arguments: str, tools: ToolSet, item_id: str) -> Item:
    """A tool call as the client named the tool: function (namespaced or not) or custom."""
    origin = tools.origin(name)
    namespace: str | UnsetType = origin.namespace if origin.namespace else UNSET
    if origin.kind == "custom":
        return CustomCallOut(
            id=item_id, call_id=call_id, name=origin.name, input=custom_input(arguments), namespace=namespace
        )
    return FunctionCallOut(id=item_id, call_id=call_id, name=origin.name, arguments=arguments, namespace=namespace)


def custom_input(arguments: str) -> str:
    """The free-form input of a custom tool call (its one string argument; the raw text if it has none)."""
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return arguments
    if isinstance(value, dict) and isinstance(value.get(CUSTOM_ARGUMENT), str):
        return str(value[CUSTOM_ARGUMENT])
    return arguments


def search_query(item: WebSearchCallOut, arguments: str) -> None:
    """Fill a web search item's query from the server tool call's JSON arguments."""
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return
    if isinstance(value, dict):
        item.action.query = str(value.get("query") or "")
        queries = value.get("queries")
        item.action.queries = [str(q) for q in queries] if isinstance(queries, list) else [item.action.query]


def search_sources(item: WebSearchCallOut, content: str) -> None:
    """Fill a web search item's sources from the server tool result (``[{"url", "title"}]``)."""
    try:
        value = orjson.loads(content)
    except orjson.JSONDecodeError:
        return
    if isinstance(value, list):
        item.action.sources = [SourceOut(url=str(v["url"])) for v in value if isinstance(v, dict) and v.get("url")]


def output_items(candidate: Candidate, parsed: ParsedResponse, ids: ItemIds, state: str | None) -> list[Item]:
    items: list[Item] = []
    searches: dict[str, WebSearchCallOut] = {}
    status, _ = status_of(candidate.stop)
    for block in candidate.blocks:
        match block:
            case ThinkingBlock():
                summary = [SummaryOut(text=block.text)] if parsed.summaries and block.text else []
                items.append(ReasoningOut(id=ids("rs", len(items)), summary=summary))
            case TextBlock():
                last = items[-1] if items else None
                if not isinstance(last, MessageOut):
                    last = MessageOut(id=ids("msg", len(items)), status=status)
                    items.append(last)
                last.content.append(OutputTextOut(text=block.text))
            case ToolCallBlock():
                prefix = "ctc" if parsed.tools.origin(block.name).kind == "custom" else "fc"
                items.append(
                    call_item(block.id, block.id, block.name, block.arguments, parsed.tools, ids(prefix, len(items)))
                )
            case ServerToolCallBlock() if block.name == "web_search":
                search = searches[block.id] = WebSearchCallOut(id=ids("ws", len(items)))
                search_query(search, block.arguments)
                items.append(search)
            case ServerToolResultBlock() if block.call_id in searches:
                search_sources(searches[block.call_id], block.content)
            case ServerToolCallBlock() | ServerToolResultBlock():
                pass  # another server tool: its effect is in the text
    if state is not None:
        items.append(ReasoningOut(id=ids("rs", len(items)), encrypted_content=state))
    return items


def response_out(
    parsed: ParsedResponse,
    *,
    id: str,
    created_at: int,
    model: str,
    status: Status,
    output: list[Item],
    usage: UsageOut | None = None,
    incomplete: IncompleteOut | None = None,
    error: ErrorOut | None = None,
    completed_at: int | None = None,
) -> ResponseOut:
    req = parsed.body
    reasoning = req.reasoning
    fmt = req.text.format if req.text is not None else None
    return ResponseOut(
        id=id,
        created_at=created_at,
        status=status,
        completed_at=completed_at,
        error=error,
        incomplete_details=incomplete,
        instructions=req.instructions,
        max_output_tokens=req.max_output_tokens,
        model=model,
        output=output,
        parallel_tool_calls=req.parallel_tool_calls is not False,
        previous_response_id=req.previous_response_id,
        reasoning={
            "effort": reasoning.effort if reasoning else None,
            "summary": (reasoning.summary or reasoning.generate_summary) if reasoning else None,
        },
        store=parsed.store,
        temperature=req.temperature,
        text={"format": _format_echo(fmt)},
        tool_choice=req.tool_choice if req.tool_choice is not None else "auto",
        tools=[_tool_echo(tool) for tool in req.tools or []],
        top_p=req.top_p,
        truncation=req.truncation or "disabled",
        usage=usage if usage is not None else UNSET,
        user=req.user if req.user is not None else UNSET,
        metadata=dict(req.metadata or {}),
        prompt_cache_key=req.prompt_cache_key,
    )


def _format_echo(fmt: Any) -> dict[str, Any]:
    if fmt is None:
        return {"type": "text"}
    return {k: v for k, v in msgspec.to_builtins(fmt).items() if v is not None}


def item_dicts(items: list[Item]) -> list[dict[str, Any]]:
    """Output items as plain JSON objects (what the response store keeps)."""
    return [msgspec.to_builtins(item) for item in items]


def _tool_echo(tool: Any) -> Any:
    """A request tool as the Response object echoes it: a function tool always carries ``strict`` and
    ``parameters``, as the published schema requires (null when the client gave none: the providers enforce
    no strictness the client did not ask for)."""
    if isinstance(tool, dict) and tool.get("type") == "function":
        return {"strict": None, "parameters": None, **tool}
    return tool
