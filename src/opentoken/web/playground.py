"""The playground: a chat through the real chat-completions path for the signed-in key (so it is limited,
routed and metered like any call), streamed back to the page as the API's own SSE frames."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from opentoken.core.errors import GatewayError, InvalidRequest
from opentoken.http.errors import error_response
from opentoken.web.console import Console
from opentoken.web.i18n import N_
from opentoken.web.session import Viewer, csrf_ok

EFFORTS = {
    "": N_("Model default"),
    "none": N_("None"),
    "minimal": N_("Minimal"),
    "low": N_("Low"),
    "medium": N_("Medium"),
    "high": N_("High"),
}
MAX_BODY = 1024 * 1024


class Turn(msgspec.Struct, forbid_unknown_fields=True):
    role: Literal["user", "assistant"]
    content: str


class PlaygroundCall(msgspec.Struct, forbid_unknown_fields=True):
    model: str
    messages: list[Turn]
    system: str = ""
    temperature: float | None = None
    max_tokens: int | None = None
    reasoning_effort: str = ""


def chat_body(call: PlaygroundCall) -> bytes:
    """The OpenAI chat-completions body for ``call`` (streamed, with usage in the last chunk)."""
    messages: list[dict[str, str]] = [{"role": "system", "content": call.system}] if call.system.strip() else []
    messages += [{"role": t.role, "content": t.content} for t in call.messages]
    body: dict[str, Any] = {
        "model": call.model,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if call.temperature is not None:
        body["temperature"] = call.temperature
    if call.max_tokens is not None:
        body["max_tokens"] = call.max_tokens
    if call.reasoning_effort:
        if call.reasoning_effort not in EFFORTS:
            raise InvalidRequest(f"unknown reasoning effort {call.reasoning_effort!r}", param="reasoning_effort")
        body["reasoning_effort"] = call.reasoning_effort
    return msgspec.json.encode(body)


async def page(console: Console, request: Request, viewer: Viewer) -> Response:
    key = viewer.key
    if key is None:
        return console.problem(request, 404, "")
    models = [m for m in console.catalog if m.enabled and key.allows(m.id)]
    return console.page(request, "console/playground.html", {"models": models, "efforts": EFFORTS}, viewer=viewer)


async def chat(console: Console, request: Request) -> Response:
    viewer = await console.sessions.viewer(request)
    if viewer is None or viewer.key is None:
        return JSONResponse({"error": {"message": "Sign in with an API key first.", "code": "no_session"}}, 401)
    if not csrf_ok(viewer.csrf, request.headers.get("x-csrf-token")):
        return JSONResponse({"error": {"message": "Missing or wrong CSRF token.", "code": "csrf"}}, 403)
    raw = await request.body()
    try:
        if len(raw) > MAX_BODY:
            raise InvalidRequest("The playground request is too large.", param="messages")
        try:
            call = msgspec.json.decode(raw, type=PlaygroundCall)
        except msgspec.DecodeError as e:
            raise InvalidRequest(f"Invalid playground request: {e}") from e
        request_id = request.scope["state"]["request_id"]
        reply = await console.pipeline.run_for_key(viewer.key, chat_body(call), request_id)
    except GatewayError as e:
        return error_response(e)
    headers = {**reply.headers, "cache-control": "no-store", "x-accel-buffering": "no"}
    if reply.stream is None:
        return Response(reply.body, media_type="application/json", headers=headers)
    return StreamingResponse(reply.stream, media_type="text/event-stream; charset=utf-8", headers=headers)
