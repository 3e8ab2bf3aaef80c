"""The playground: a chat through the real chat-completions path for the signed-in key (so it is limited,
routed and metered like any call), streamed back to the page as the API's own SSE frames."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from opentoken.core.errors import GatewayError, InvalidRequest
from opentoken.http.disconnect import disconnect_hook
from opentoken.http.endpoint import IngressEndpoint, read_body
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


class PlaygroundChat:
    """``POST /console/playground/chat`` as a plain ASGI app: the session and its CSRF header are checked, the
    playground's form becomes an OpenAI chat body, and the chat-completions endpoint serves it for the
    signed-in key exactly as it serves ``POST /v1/chat/completions`` (same parsing, pipeline, metering, SSE)."""

    def __init__(self, console: Console, endpoint: IngressEndpoint[Any]) -> None:
        self.console = console
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        viewer = await self.console.sessions.viewer(request)
        if viewer is None or viewer.key is None:
            await _refuse(send, 401, "Sign in with an API key first.", "no_session")
            return
        if not csrf_ok(viewer.csrf, request.headers.get("x-csrf-token")):
            await _refuse(send, 403, "Missing or wrong CSRF token.", "csrf")
            return
        try:
            raw = await read_body(receive, request.headers.get("content-length"), MAX_BODY)
            try:
                call = msgspec.json.decode(raw, type=PlaygroundCall)
            except msgspec.DecodeError as e:
                raise InvalidRequest(f"Invalid playground request: {e}") from e
            body = chat_body(call)
        except GatewayError as e:
            await _refuse(send, e.status, e.message, e.code or "invalid_request")
            return
        request_id = scope["state"]["request_id"]
        await self.endpoint.respond(viewer.key, body, request_id, receive, send, None, disconnect_hook(scope))


async def _refuse(send: Send, status: int, message: str, code: str) -> None:
    body = msgspec.json.encode({"error": {"message": message, "type": "invalid_request_error", "code": code}})
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
