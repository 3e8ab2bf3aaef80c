"""``POST /v1/messages`` and ``POST /v1/messages/count_tokens``: validate, pick a fault, answer as JSON or SSE."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import orjson
from aiohttp import web

from opentoken_sandbox.anthropic import features, validate
from opentoken_sandbox.anthropic.context import apply_edits
from opentoken_sandbox.anthropic.conversation import check_messages, check_search_results, check_thinking_loop
from opentoken_sandbox.anthropic.errors import AnthropicError, for_status, invalid, request_id, stream_error_frame
from opentoken_sandbox.anthropic.events import stream_frames
from opentoken_sandbox.anthropic.models import ClaudeModel
from opentoken_sandbox.anthropic.parse import MessagesCall, block_tokens, parse_call
from opentoken_sandbox.anthropic.render import build_reply, message_body
from opentoken_sandbox.anthropic.search import plan_search
from opentoken_sandbox.faults import FaultSpec, FaultSyntaxError
from opentoken_sandbox.prompt_cache import CacheUsage
from opentoken_sandbox.scenario import complete, plan_reply
from opentoken_sandbox.state import STATE, LoggedRequest, SandboxState
from opentoken_sandbox.streaming import drop, send_stream, wait_first_byte, wait_generation

PROVIDER = "anthropic"


def _headers(req_id: str) -> dict[str, str]:
    return {
        "request-id": req_id,
        "anthropic-ratelimit-requests-limit": "4000",
        "anthropic-ratelimit-requests-remaining": "3999",
    }


async def _read(request: web.Request) -> tuple[Any, LoggedRequest]:
    state = request.app[STATE]
    raw = await request.read()
    try:
        body: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = None
    model = body.get("model") if isinstance(body, dict) and isinstance(body.get("model"), str) else None
    entry = state.log.record(request, PROVIDER, model, body)
    await wait_first_byte(state.config, None)
    return body, entry


async def messages(request: web.Request) -> web.StreamResponse:
    body, entry = await _read(request)
    req_id = request_id()
    try:
        response = await _answer(request, request.app[STATE], body, req_id, entry)
    except AnthropicError as e:
        response = e.response(req_id)
    entry.status = response.status
    return response


async def count_tokens(request: web.Request) -> web.StreamResponse:
    body, entry = await _read(request)
    req_id = request_id()
    try:
        response = await _count(request, request.app[STATE], body, req_id)
    except AnthropicError as e:
        response = e.response(req_id)
    entry.status = response.status
    return response


def _validated(request: web.Request, state: SandboxState, body: Any, *, counting: bool) -> tuple[MessagesCall, int]:
    """The call to answer and the prompt's token count before context edits."""
    validate.check_headers(request.headers)
    if not isinstance(body, dict):
        raise invalid("There was an error parsing the body of your request. Expected a JSON object.")
    validate.check_top_level(body, counting=counting)
    model = ClaudeModel(body["model"])
    uses_tools = check_messages(body["messages"], model)
    validate.check_tools(body, uses_tools)
    features.check_thinking(body, model, counting=counting)
    features.check_output_config(body, model)
    features.check_metadata(body)
    features.check_context_management(body, request.headers)
    validate.check_cache_controls(body)
    accept = state.config.accept_foreign_signatures
    if features.thinking_on(body):
        required = body["thinking"]["type"] == "enabled"
        check_thinking_loop(body["messages"], state.signer, accept, required=required)
    check_search_results(body["messages"], state.signer, accept)
    validate.check_model(body["model"])
    if not counting:
        features.check_max_tokens(body, model)
    return _parsed(body)


def _parsed(body: dict[str, Any]) -> tuple[MessagesCall, int]:
    call = parse_call(body)
    if body.get("context_management") is None:
        return call, call.input_tokens
    original = call.input_tokens
    edited = apply_edits(body, original, block_tokens)
    if edited.messages is not body["messages"]:
        call = parse_call(body, edited.messages)
    return dataclasses.replace(call, applied_edits=edited.applied), original


async def _faulted(
    request: web.Request, state: SandboxState, text: str, stream: bool
) -> tuple[FaultSpec | None, web.StreamResponse | None]:
    try:
        fault = state.select_fault(request, text, PROVIDER)
    except FaultSyntaxError as e:
        raise invalid(f"x-sandbox-fault: {e}") from e
    early = await _early_fault(request, fault, stream) if fault is not None else None
    return fault, early


async def _count(request: web.Request, state: SandboxState, body: Any, req_id: str) -> web.StreamResponse:
    call, original = _validated(request, state, body, counting=True)
    _, early = await _faulted(request, state, call.prompt.text, False)
    if early is not None:
        return early
    payload: dict[str, Any] = {"input_tokens": call.input_tokens}
    if call.context_management:
        payload["context_management"] = {"original_input_tokens": original}
    return web.Response(body=orjson.dumps(payload), content_type="application/json", headers=_headers(req_id))


async def _answer(
    request: web.Request, state: SandboxState, body: Any, req_id: str, entry: LoggedRequest
) -> web.StreamResponse:
    call, _ = _validated(request, state, body, counting=False)
    entry.stream = call.stream
    fault, early = await _faulted(request, state, call.prompt.text, call.stream)
    if early is not None:
        return early
    completion = complete(plan_reply(call.prompt), call.max_tokens, call.stop_sequences)
    cache = CacheUsage()
    if call.cached:
        cache = state.anthropic_cache.breakpoints(list(call.segments), state.config.anthropic_cache_min_tokens)
    reply = build_reply(call, completion, cache, state.signer, plan_search(call, state.signer))
    if call.stream:
        headers = {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"}
        headers.update(_headers(req_id))
        return await send_stream(
            request,
            headers,
            stream_frames(reply, state.config.pad_stream_json),
            tokens_per_second=state.config.tokens_per_second,
            fault=fault,
            error_frame=stream_error_frame(fault.status if fault else None, req_id),
        )
    await wait_generation(state.config, reply.output_tokens)
    return web.Response(
        body=orjson.dumps(message_body(reply)), content_type="application/json", headers=_headers(req_id)
    )


async def _early_fault(request: web.Request, fault: FaultSpec, stream: bool) -> web.StreamResponse | None:
    """Delay, drop or error before any reply byte; in-stream faults are left to ``send_stream``."""
    if fault.delay_ms:
        await asyncio.sleep(fault.delay_ms / 1000)
    if fault.drop_after is not None:
        return None if stream else drop(request)
    if fault.after_events is not None:
        if stream:
            return None
        raise for_status(fault.status or 529, fault.retry_after)
    if fault.status is not None:
        raise for_status(fault.status, fault.retry_after)
    return None
