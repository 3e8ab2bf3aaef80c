"""The Anthropic Messages ingress next to the Chat Completions path, on one gateway (section ``messages``).

The same gateway, the same Claude model and the same sandbox reply, reached two ways: ``POST
/v1/chat/completions`` (translated to the Messages API and back) and ``POST /v1/messages`` (passed through:
the client's body relayed with the model mapped, the reply relayed event by event). Each gets the workload
of the ``compare`` section (saturation, fixed-rate latency, stream saturation), so the report shows what the
pass-through adds or saves against the chat-completions path.
"""

from __future__ import annotations

from typing import Any

from bench.config import MODEL, anthropic_body, openai_target
from bench.loadgen import Target
from bench.measure import Result
from bench.procs import running
from bench.servers import start_gateway


def messages_target(base: str, key: str) -> Target:
    headers = {"content-type": "application/json", "x-api-key": key, "anthropic-version": "2023-06-01"}
    body, stream_body = anthropic_body("hi", stream=False), anthropic_body("hi", stream=True)
    return Target("messages", base + "/v1/messages", headers, _public(body), _public(stream_body))


def _public(body: bytes) -> bytes:
    """The workload's Messages body with the gateway's public model id."""
    import orjson

    data: dict[str, Any] = orjson.loads(body)
    data["model"] = MODEL
    return orjson.dumps(data)


def section(ctx: Any) -> Result:
    from bench.phases import _workload, fresh_key

    key = fresh_key(ctx, "messages")
    results: Result = {}
    with running(
        [start_gateway("gateway-messages", ctx.server_core, ctx.log_dir, ctx.db("messages"), ctx.upstream.url, key)]
    ) as (gw,):
        results["chat_completions"] = _workload(ctx, gw, openai_target("gateway", gw.url, key))
        results["messages_passthrough"] = _workload(ctx, gw, messages_target(gw.url, key))
    return results
