"""Canonical stream events -> the Responses event grammar (``event:`` + ``data:`` SSE frames).

Order (each event carries ``sequence_number``, counting from 0; item events their ``output_index``; content
events their ``content_index`` / ``summary_index``):

    response.created, response.in_progress
    per output item, in output order (``render`` says which blocks make which items):
      response.output_item.added                       (always before any event of the item)
      reasoning:     reasoning_summary_part.added, reasoning_summary_text.delta*, .done, part.done
                     (only when summaries were asked and the thinking has text)
      message:       per text block: content_part.added, output_text.delta*, output_text.done,
                     content_part.done (adjacent text blocks are parts of one message)
      function call: function_call_arguments.delta*, function_call_arguments.done
      custom call:   custom_tool_call_input.delta (the whole input, once known), custom_tool_call_input.done
      response.output_item.done
    the state-carrying reasoning item (added, done), when the client included ``reasoning.encrypted_content``
    response.completed | response.incomplete      (the whole Response: output, usage with both details)

A failure after the first byte is an ``error`` event, then ``response.failed`` with the output so far.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, assert_never

from opentoken.core.chat import ReplayState
from opentoken.core.errors import GatewayError
from opentoken.core.money import Cost
from opentoken.core.result import (
    BlockDelta,
    BlockStart,
    BlockStop,
    Finish,
    LogprobsDelta,
    NativeFrame,
    ReplayUpdate,
    Stop,
    StreamEvent,
    StreamStart,
    Usage,
    UsageUpdate,
)
from opentoken.ingress.openai_responses.parse import ParsedResponse
from opentoken.ingress.openai_responses.render import (
    ENCODER,
    CustomCallOut,
    ErrorOut,
    FunctionCallOut,
    Item,
    ItemIds,
    MessageOut,
    OutputTextOut,
    ReasoningOut,
    ResponseOut,
    SummaryOut,
    WebSearchCallOut,
    call_item,
    custom_input,
    response_out,
    search_query,
    search_sources,
    status_of,
    usage_out,
)


@dataclass
class _Block:
    kind: str
    item: int  # output index
    content: int = 0  # content index (text) in its message
    parts: list[str] = field(default_factory=list)
    summary_open: bool = False


def error_code(err: GatewayError) -> str:
    """``ResponseError.code`` (a closed enum) for a failure."""
    if err.status == 429:
        return "rate_limit_exceeded"
    if 400 <= err.status < 500:
        return "invalid_prompt"
    return "server_error"


class EventWriter:
    def __init__(self, parsed: ParsedResponse, ids: ItemIds, response_id: str, created_at: int, model: str) -> None:
        self.parsed = parsed
        self.ids = ids
        self.response_id = response_id
        self.created_at = created_at
        self.model = model
        self.items: list[Item] = []
        self.seq = 0
        self.stop: Stop | None = None
        self.replay: ReplayState | None = None
        self._blocks: dict[int, _Block] = {}
        self._message_open = False
        self.final: ResponseOut | None = None  # the Response of the last event, once finished
        self._searches: dict[str, int] = {}  # server tool call id -> its web_search_call item

    # ---- framing ----

    def _frame(self, kind: str, **fields: Any) -> bytes:
        payload = {"type": kind, "sequence_number": self.seq, **fields}
        self.seq += 1
        return b"event: " + kind.encode() + b"\ndata: " + ENCODER.encode(payload) + b"\n\n"

    def _item_event(self, kind: str, index: int) -> bytes:
        return self._frame(kind, output_index=index, item=self.items[index])

    def snapshot(self, status: str, **extra: Any) -> ResponseOut:
        return response_out(
            self.parsed,
            id=self.response_id,
            created_at=self.created_at,
            model=self.model,
            status=status,  # type: ignore[arg-type]
            output=list(self.items),
            **extra,
        )

    # ---- entry points ----

    def start(self) -> list[bytes]:
        return [
            self._frame("response.created", response=self.snapshot("in_progress")),
            self._frame("response.in_progress", response=self.snapshot("in_progress")),
        ]

    def event(self, ev: StreamEvent) -> list[bytes]:
        if getattr(ev, "candidate", 0) != 0:
            return []  # the Responses API has one candidate
        match ev:
            case BlockStart():
                return self._start(ev)
            case BlockDelta():
                return self._delta(ev)
            case BlockStop():
                return self._stop(ev)
            case Finish():
                self.stop = ev.stop
                return self._close_message()
            case ReplayUpdate():
                self.replay = ev.replay
                return []
            case StreamStart() | UsageUpdate() | LogprobsDelta() | NativeFrame():
                return []  # native frames only reach the ingress of the provider's own API
            case _:
                assert_never(ev)

    def finish(self, usage: Usage, cost: Cost, state: str | None, now: int) -> list[bytes]:
        frames = self._close_message()
        if state is not None:
            index = len(self.items)
            self.items.append(ReasoningOut(id=self.ids("rs", index), encrypted_content=state))
            frames += [
                self._item_event("response.output_item.added", index),
                self._item_event("response.output_item.done", index),
            ]
        status, incomplete = status_of(self.stop or Stop("end_turn"))
        final = self.final = self.snapshot(
            status, usage=usage_out(usage, cost), incomplete=incomplete, completed_at=now
        )
        frames.append(self._frame(f"response.{status}", response=final))
        return frames

    def fail(self, err: GatewayError, param: str | None) -> list[bytes]:
        code = error_code(err)
        return [
            self._frame("error", code=err.code, message=err.message, param=param),
            self._frame("response.failed", response=self.snapshot("failed", error=ErrorOut(code, err.message))),
        ]

    # ---- blocks ----

    def _start(self, ev: BlockStart) -> list[bytes]:
        if ev.kind == "text":
            return self._start_text(ev.index)
        if ev.kind == "server_tool_result":
            found = self._searches.get(ev.id)
            self._blocks[ev.index] = _Block(ev.kind, found if found is not None else -1)
            return []
        if ev.kind == "server_tool" and ev.name != "web_search":
            self._blocks[ev.index] = _Block(ev.kind, -1)
            return []
        frames = self._close_message()
        index = len(self.items)
        if ev.kind == "thinking":
            self.items.append(ReasoningOut(id=self.ids("rs", index)))
        elif ev.kind == "server_tool":
            self.items.append(WebSearchCallOut(id=self.ids("ws", index), status="in_progress"))
            self._searches[ev.id] = index
            self._blocks[ev.index] = _Block(ev.kind, index)
            item_id = self.items[index].id
            return [
                *frames,
                self._item_event("response.output_item.added", index),
                self._frame("response.web_search_call.in_progress", output_index=index, item_id=item_id),
                self._frame("response.web_search_call.searching", output_index=index, item_id=item_id),
            ]
        else:
            prefix = "ctc" if self.parsed.tools.origin(ev.name).kind == "custom" else "fc"
            item = call_item(ev.id, ev.id, ev.name, "", self.parsed.tools, self.ids(prefix, index))
            if isinstance(item, FunctionCallOut):
                item.status = "in_progress"
            self.items.append(item)
        self._blocks[ev.index] = _Block(ev.kind, index)
        return [*frames, self._item_event("response.output_item.added", index)]

    def _start_text(self, block: int) -> list[bytes]:
        frames: list[bytes] = []
        last = self.items[-1] if self.items else None
        if not (self._message_open and isinstance(last, MessageOut)):
            last = MessageOut(id=self.ids("msg", len(self.items)), status="in_progress")
            self.items.append(last)
            self._message_open = True
            frames.append(self._item_event("response.output_item.added", len(self.items) - 1))
        index = len(self.items) - 1
        part = OutputTextOut(text="")
        last.content.append(part)
        self._blocks[block] = _Block("text", index, content=len(last.content) - 1)
        frames.append(
            self._frame(
                "response.content_part.added",
                item_id=last.id,
                output_index=index,
                content_index=len(last.content) - 1,
                part=part,
            )
        )
        return frames

    def _delta(self, ev: BlockDelta) -> list[bytes]:
        block = self._blocks.get(ev.index)
        if block is None or not ev.text:
            return []
        block.parts.append(ev.text)
        if block.kind in ("server_tool", "server_tool_result"):
            return []  # a web search item is sent whole when its results are in
        item = self.items[block.item]
        if block.kind == "text":
            return [
                self._frame(
                    "response.output_text.delta",
                    item_id=item.id,
                    output_index=block.item,
                    content_index=block.content,
                    delta=ev.text,
                    logprobs=[],
                )
            ]
        if block.kind == "thinking":
            if not self.parsed.summaries:
                return []
            frames = []
            if not block.summary_open:
                block.summary_open = True
                frames.append(
                    self._frame(
                        "response.reasoning_summary_part.added",
                        item_id=item.id,
                        output_index=block.item,
                        summary_index=0,
                        part=SummaryOut(text=""),
                    )
                )
            frames.append(
                self._frame(
                    "response.reasoning_summary_text.delta",
                    item_id=item.id,
                    output_index=block.item,
                    summary_index=0,
                    delta=ev.text,
                )
            )
            return frames
        if isinstance(item, FunctionCallOut):
            return [
                self._frame(
                    "response.function_call_arguments.delta", item_id=item.id, output_index=block.item, delta=ev.text
                )
            ]
        return []  # a custom tool's input is sent whole when its block ends

    def _stop(self, ev: BlockStop) -> list[bytes]:
        block = self._blocks.pop(ev.index, None)
        if block is None or block.item < 0:
            return []
        item = self.items[block.item]
        text = "".join(block.parts)
        if isinstance(item, WebSearchCallOut):
            return self._search_stop(item, block, text)
        if isinstance(item, MessageOut):
            part = item.content[block.content]
            part.text = text
            common = {"item_id": item.id, "output_index": block.item, "content_index": block.content}
            return [
                self._frame("response.output_text.done", **common, text=text, logprobs=[]),
                self._frame("response.content_part.done", **common, part=part),
            ]
        if isinstance(item, ReasoningOut):
            return [*self._summary_done(item, block, text), self._item_event("response.output_item.done", block.item)]
        arguments = text if text.strip() else "{}"
        if isinstance(item, FunctionCallOut):
            item.arguments, item.status = arguments, "completed"
            done = self._frame(
                "response.function_call_arguments.done",
                item_id=item.id,
                output_index=block.item,
                name=item.name,
                arguments=arguments,
            )
            return [done, self._item_event("response.output_item.done", block.item)]
        assert isinstance(item, CustomCallOut)
        item.input = custom_input(arguments)
        common = {"item_id": item.id, "output_index": block.item}
        return [
            self._frame("response.custom_tool_call_input.delta", **common, delta=item.input),
            self._frame("response.custom_tool_call_input.done", **common, input=item.input),
            self._item_event("response.output_item.done", block.item),
        ]

    def _search_stop(self, item: WebSearchCallOut, block: _Block, text: str) -> list[bytes]:
        if block.kind == "server_tool":
            search_query(item, text)
            return []
        search_sources(item, text)
        return self._search_done(block.item)

    def _search_done(self, index: int) -> list[bytes]:
        item = self.items[index]
        assert isinstance(item, WebSearchCallOut)
        if item.status == "completed":
            return []
        item.status = "completed"
        return [
            self._frame("response.web_search_call.completed", output_index=index, item_id=item.id),
            self._item_event("response.output_item.done", index),
        ]

    def _summary_done(self, item: ReasoningOut, block: _Block, text: str) -> list[bytes]:
        if not block.summary_open:
            return []
        item.summary = [SummaryOut(text=text)]
        common = {"item_id": item.id, "output_index": block.item, "summary_index": 0}
        return [
            self._frame("response.reasoning_summary_text.done", **common, text=text),
            self._frame("response.reasoning_summary_part.done", **common, part=SummaryOut(text=text)),
        ]

    def _close_message(self) -> list[bytes]:
        frames = [f for index in self._searches.values() for f in self._search_done(index)]  # results never came
        if not self._message_open:
            return frames
        self._message_open = False
        index = len(self.items) - 1
        item = self.items[index]
        assert isinstance(item, MessageOut)
        item.status = status_of(self.stop)[0] if self.stop is not None else "completed"
        return [*frames, self._item_event("response.output_item.done", index)]
