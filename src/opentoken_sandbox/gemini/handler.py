"""``POST /v1beta/models/{model}:{method}``: ``generateContent``, ``streamGenerateContent[?alt=sse]``,
``countTokens``, ``embedContent`` and ``batchEmbedContents``."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import orjson
from aiohttp import web

from opentoken_sandbox.faults import FaultSpec, FaultSyntaxError
from opentoken_sandbox.gemini import validate
from opentoken_sandbox.gemini.chunks import stream_frames
from opentoken_sandbox.gemini.count import count_tokens
from opentoken_sandbox.gemini.embed import embed_inputs, embed_reply
from opentoken_sandbox.gemini.errors import (
    CONTENT_TYPE,
    GeminiError,
    api_key_invalid,
    for_status,
    invalid,
    model_not_found,
    stream_error_frame,
)
from opentoken_sandbox.gemini.models import GeminiModel
from opentoken_sandbox.gemini.parse import GenerateCall, parse_call
from opentoken_sandbox.gemini.payload import check_payload, get
from opentoken_sandbox.gemini.render import build_reply, response_body
from opentoken_sandbox.gemini.signatures import check_signatures
from opentoken_sandbox.gemini.validate import parts_of
from opentoken_sandbox.scenario import Completion, complete, plan_reply
from opentoken_sandbox.state import STATE, LoggedRequest, SandboxState
from opentoken_sandbox.streaming import drop, send_stream, wait_first_byte, wait_generation

PROVIDER = "google"
INVALID_KEY = "invalid-key"
_GENERATE = ("generateContent", "streamGenerateContent")
_METHODS = (*_GENERATE, "countTokens", "embedContent", "batchEmbedContents")
_UNREGISTERED = (
    "Method doesn't allow unregistered callers (callers without established identity). Please use API Key "
    "or other form of API consumer identity to call this API."
)


async def models_action(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    model_name, _, method = request.match_info["target"].partition(":")
    raw = await request.read()
    try:
        body: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = None
    entry = state.log.record(request, PROVIDER, model_name, body)
    await wait_first_byte(state.config, None)
    model = GeminiModel(model_name)
    try:
        _check_caller(request, method, model)
        if method in _GENERATE:
            response = await _answer(request, state, body, model, method, entry)
        else:
            response = await _other(request, state, body, model, method)
    except GeminiError as e:
        response = e.response()
    entry.status = response.status
    return response


def _check_caller(request: web.Request, method: str, model: GeminiModel) -> None:
    key = request.headers.get("x-goog-api-key") or request.query.get("key")
    if not key:
        raise GeminiError(403, _UNREGISTERED)
    if key == INVALID_KEY:
        raise api_key_invalid()
    if method not in _METHODS:
        raise GeminiError(404, f"Method not found: {method or '(none)'}.")
    if method not in _GENERATE and not model.supports(method):
        raise model_not_found(model.name, method)


def _json(payload: dict[str, Any]) -> web.Response:
    return web.Response(body=orjson.dumps(payload, option=orjson.OPT_INDENT_2), headers={"content-type": CONTENT_TYPE})


async def _other(
    request: web.Request, state: SandboxState, body: Any, model: GeminiModel, method: str
) -> web.StreamResponse:
    """countTokens, embedContent, batchEmbedContents: validate, then faults (no stream), then the reply."""
    if method == "countTokens":
        counted = count_tokens(body, model)
        contents = get(body, "contents") or get(get(body, "generateContentRequest"), "contents") or []
        text = "\n".join(str(get(p, "text") or "") for c in contents for p in parts_of(c))
    else:
        items = embed_inputs(body, model, batch=method == "batchEmbedContents")
        text = "\n".join(item.text for item in items)
    try:
        fault = state.select_fault(request, text, PROVIDER)
    except FaultSyntaxError as e:
        raise invalid(f"x-sandbox-fault: {e}") from e
    if fault is not None:
        early = await _early_fault(request, fault, False, model.name)
        if early is not None:
            return early
    if method == "countTokens":
        return _json(counted)
    return _json(embed_reply(model, items, batch=method == "batchEmbedContents"))


def _validated(request: web.Request, state: SandboxState, body: Any, model: GeminiModel, method: str) -> GenerateCall:
    if not isinstance(body, dict):
        raise invalid("Invalid JSON payload received. Expected a JSON object.")
    check_payload(body)
    if not model.exists:
        raise model_not_found(model.name, method)
    contents = validate.check_contents(body)
    validate.check_tools(body)
    validate.check_generation(body, model)
    check_signatures(contents, model, state.signer, state.config.accept_foreign_signatures)
    return parse_call(body, model, method == "streamGenerateContent", request.query.get("alt") == "sse")


def _completions(call: GenerateCall) -> list[Completion]:
    reply = plan_reply(call.prompt)
    structured = call.prompt.output_schema is not None or call.prompt.json_mode or "[[json]]" in call.prompt.text
    out = []
    for index in range(call.candidates):
        variant = reply
        if index and reply.text and not structured:
            variant = dataclasses.replace(reply, text=f"Candidate {index + 1}: {reply.text}")
        out.append(complete(variant, call.max_tokens, call.stop_sequences, thinking_exhausts=call.thinking))
    return out


async def _answer(
    request: web.Request, state: SandboxState, body: Any, model: GeminiModel, method: str, entry: LoggedRequest
) -> web.StreamResponse:
    call = _validated(request, state, body, model, method)
    entry.stream = call.stream
    try:
        fault = state.select_fault(request, call.prompt.text, PROVIDER)
    except FaultSyntaxError as e:
        raise invalid(f"x-sandbox-fault: {e}") from e
    streaming = call.stream and call.sse
    if fault is not None:
        early = await _early_fault(request, fault, streaming, model.name)
        if early is not None:
            return early
    completions = _completions(call)
    cached = state.gemini_cache.implicit(list(call.segments), state.config.gemini_implicit_cache_min_tokens)
    reply = build_reply(call, completions, cached, state.signer)
    if streaming:
        return await send_stream(
            request,
            {"content-type": "text/event-stream", "content-disposition": "attachment"},
            stream_frames(reply),
            tokens_per_second=state.config.tokens_per_second,
            fault=fault,
            error_frame=stream_error_frame(fault.status if fault else None, model.name),
        )
    await wait_generation(state.config, sum(c.output_tokens for c in completions))
    if call.stream:  # streamGenerateContent without alt=sse: one JSON array of the chunks
        chunks = [frame.data[len(b"data: ") : -4] for frame in stream_frames(reply)]
        return web.Response(body=b"[" + b",\r\n".join(chunks) + b"]", headers={"content-type": CONTENT_TYPE})
    payload = orjson.dumps(response_body(reply), option=orjson.OPT_INDENT_2)
    return web.Response(body=payload, headers={"content-type": CONTENT_TYPE})


async def _early_fault(request: web.Request, fault: FaultSpec, stream: bool, model: str) -> web.StreamResponse | None:
    """Delay, drop or error before any reply byte; in-stream faults are left to ``send_stream``."""
    if fault.delay_ms:
        await asyncio.sleep(fault.delay_ms / 1000)
    if fault.drop_after is not None:
        return None if stream else drop(request)
    if fault.after_events is not None:
        if stream:
            return None
        raise for_status(fault.status or 503, model, fault.retry_after)
    if fault.status is not None:
        raise for_status(fault.status, model, fault.retry_after)
    return None
