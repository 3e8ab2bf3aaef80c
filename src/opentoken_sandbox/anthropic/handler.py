"""``POST /v1/messages``: validate, pick a fault, answer as JSON or SSE."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp import web

from opentoken_sandbox.anthropic import validate
from opentoken_sandbox.anthropic.conversation import check_messages, check_thinking_loop
from opentoken_sandbox.anthropic.errors import AnthropicError, for_status, invalid, request_id, stream_error_frame
from opentoken_sandbox.anthropic.events import stream_frames
from opentoken_sandbox.anthropic.parse import MessagesCall, parse_call
from opentoken_sandbox.anthropic.render import build_reply, message_body
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


async def messages(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    req_id = request_id()
    raw = await request.read()
    try:
        body: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = None
    model = body.get("model") if isinstance(body, dict) and isinstance(body.get("model"), str) else None
    entry = state.log.record(request, PROVIDER, model, body)
    await wait_first_byte(state.config, None)
    try:
        response = await _answer(request, state, body, req_id, entry)
    except AnthropicError as e:
        response = e.response(req_id)
    entry.status = response.status
    return response


def _validated(request: web.Request, state: SandboxState, body: Any) -> MessagesCall:
    validate.check_headers(request.headers)
    if not isinstance(body, dict):
        raise invalid("There was an error parsing the body of your request. Expected a JSON object.")
    validate.check_top_level(body)
    uses_tools = check_messages(body["messages"])
    validate.check_tools(body, uses_tools)
    validate.check_thinking(body)
    validate.check_output_format(body)
    if validate.thinking_enabled(body):
        check_thinking_loop(body["messages"], state.signer, state.config.accept_foreign_signatures)
    validate.check_model(body["model"])
    return parse_call(body)


async def _answer(
    request: web.Request, state: SandboxState, body: Any, req_id: str, entry: LoggedRequest
) -> web.StreamResponse:
    call = _validated(request, state, body)
    entry.stream = call.stream
    try:
        fault = state.select_fault(request, call.prompt.text, PROVIDER)
    except FaultSyntaxError as e:
        raise invalid(f"x-sandbox-fault: {e}") from e
    if fault is not None:
        early = await _early_fault(request, fault, call.stream)
        if early is not None:
            return early
    completion = complete(plan_reply(call.prompt), call.max_tokens, call.stop_sequences)
    cache = CacheUsage()
    if call.cached:
        cache = state.anthropic_cache.breakpoints(list(call.segments), state.config.anthropic_cache_min_tokens)
    reply = build_reply(call, completion, cache, state.signer)
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
    await wait_generation(state.config, completion.output_tokens)
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
