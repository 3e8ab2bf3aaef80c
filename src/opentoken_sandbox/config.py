"""Sandbox settings: pacing, signing and cache thresholds."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_SIGNING_SECRET = b"opentoken-sandbox-signing-secret"


@dataclass(frozen=True)
class SandboxConfig:
    """How the simulated upstream behaves.

    latency_ms: time before the first byte of every provider response.
    tokens_per_second: stream pacing (0 = unthrottled); non-stream replies wait for the whole output.
    signing_secret: HMAC key for Anthropic thinking signatures and Gemini thought signatures.
    accept_foreign_signatures: accept signatures that were not made by a sandbox (for example the real
        provider signatures inside recorded fixtures); signatures in the sandbox format are always verified.
    anthropic_cache_min_tokens: shortest prefix that a cache_control breakpoint can cache.
    gemini_implicit_cache_min_tokens: shortest repeated prefix reported as an implicit cache hit.
    pad_stream_json: pad Anthropic SSE data lines with spaces before the final brace, as the real API does.
    max_logged_requests: size of the request log ring.
    control: serve the control surface (``/_sandbox/*``: the request log with every prompt, the fault
        queue, the cache) and honour fault injection by the ``x-sandbox-fault`` header and ``[[fault:...]]``
        prompt markers. On for the standalone ``opentoken sandbox`` and the tests; the sandbox that
        ``opentoken serve`` embeds as its default upstream turns it off unless the operator turns it on.
    """

    latency_ms: float = 0
    tokens_per_second: float = 0
    signing_secret: bytes = DEFAULT_SIGNING_SECRET
    accept_foreign_signatures: bool = True
    anthropic_cache_min_tokens: int = 0
    gemini_implicit_cache_min_tokens: int = 1024
    pad_stream_json: bool = True
    max_logged_requests: int = 1000
    max_cache_entries: int = 10_000
    control: bool = True
