"""The Python floor: a pass-through on the gateway's own server stack and upstream client.

Same uvicorn (uvloop + httptools), same Starlette routing and the same ``UpstreamClient`` (pooled keep-alive
aiohttp) as the gateway, but no authentication, no limits, no metering and no real translation: the OpenAI
body is reshaped into an Anthropic Messages body with a dict edit, the reply's first text block is wrapped in
a minimal ``chat.completion``, and streams are relayed byte for byte. The benchmark reports the gateway
against this floor, so what the gateway's features cost is visible apart from what Python HTTP costs.

    python -m bench.passthrough --port 8100 --upstream http://127.0.0.1:8090
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from opentoken.catalog.model import Timeouts
from opentoken.providers.base import UpstreamRequest
from opentoken.providers.registry import all_providers
from opentoken.upstream.client import Deployment, UpstreamClient

JSON = "application/json"


def _anthropic_body(body: dict[str, Any]) -> bytes:
    model = str(body.get("model", "")).partition("/")[2]
    out = {"model": model, "messages": body["messages"], "max_tokens": body.get("max_tokens") or 1024}
    if body.get("stream"):
        out["stream"] = True
    return orjson.dumps(out)


def _completion(raw: bytes, model: str) -> bytes:
    reply = orjson.loads(raw)
    text = "".join(b.get("text", "") for b in reply.get("content", ()))
    usage = reply.get("usage", {})
    prompt, completion = usage.get("input_tokens", 0), usage.get("output_tokens", 0)
    return orjson.dumps(
        {
            "id": "chatcmpl-" + reply.get("id", ""),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
        }
    )


def _h1_chat(upstream: str) -> tuple[Any, Any]:
    """The same pass-through over the prototype client in ``bench.proposals.h1client`` (no aiohttp)."""
    from urllib.parse import urlsplit

    from bench.proposals.h1client import H1Pool

    parts = urlsplit(upstream)
    pool = H1Pool(parts.hostname or "127.0.0.1", parts.port or 80)
    headers = [
        (b"content-type", b"application/json"),
        (b"anthropic-version", b"2023-06-01"),
        (b"x-api-key", b"passthrough"),
    ]

    async def chat(request: Request) -> Response:
        body = orjson.loads(await request.body())
        reply = await pool.post("/v1/messages", headers, _anthropic_body(body))
        if not body.get("stream"):
            return Response(_completion(await reply.read(), body["model"]), media_type=JSON)
        return StreamingResponse(reply.chunks(), media_type="text/event-stream")

    async def close() -> None:
        pool.close()

    return chat, close


def build_app(upstream: str, client_kind: str = "aiohttp") -> Starlette:
    if client_kind == "h1":
        return _app(*_h1_chat(upstream))
    client = UpstreamClient()
    provider = all_providers()["anthropic"]
    deployment = Deployment(name="passthrough", provider=provider, base_url=upstream, api_key="passthrough")
    timeouts = Timeouts()
    headers = {"content-type": JSON, "anthropic-version": "2023-06-01"}

    async def chat(request: Request) -> Response:
        body = orjson.loads(await request.body())
        stream = bool(body.get("stream"))
        upstream_request = UpstreamRequest(
            path="/v1/messages", body=_anthropic_body(body), headers=headers, stream=stream
        )
        call = await client.send(deployment, upstream_request, timeouts)
        if not stream:
            return Response(_completion(await call.read(), body["model"]), media_type=JSON)

        async def relay() -> AsyncIterator[bytes]:
            try:
                async for chunk in call._resp.content.iter_any():
                    yield chunk
            finally:
                call.close()

        return StreamingResponse(relay(), media_type="text/event-stream")

    return _app(chat, client.close)


def _app(chat: Any, close: Any) -> Starlette:
    async def healthz(request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type=JSON)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await close()

    return Starlette(
        routes=[Route("/v1/chat/completions", chat, methods=["POST"]), Route("/healthz", healthz)],
        lifespan=lifespan,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="base URL of the sandbox (Anthropic Messages API)")
    parser.add_argument("--client", choices=("aiohttp", "h1"), default="aiohttp", help="upstream HTTP client")
    args = parser.parse_args()
    uvicorn.run(
        build_app(args.upstream, args.client),
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
