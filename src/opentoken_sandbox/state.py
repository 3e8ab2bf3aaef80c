"""Per-app mutable state: the request log, queued faults, prompt caches and the signer."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from opentoken_sandbox.config import SandboxConfig
from opentoken_sandbox.faults import FAULT_HEADER, FaultQueue, FaultSpec, fault_in_text, parse_fault
from opentoken_sandbox.prompt_cache import PrefixCache
from opentoken_sandbox.signing import Signer

SECRET_HEADERS = frozenset(
    {"x-api-key", "x-goog-api-key", "authorization", "proxy-authorization", "cookie", "set-cookie"}
)


@dataclass
class LoggedRequest:
    seq: int
    time: float
    method: str
    path: str
    query: dict[str, str]
    provider: str
    model: str | None
    headers: dict[str, str]
    body: Any
    stream: bool = False
    status: int | None = None
    closed_at: float | None = None  # when the client connection closed before the reply was complete

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "provider": self.provider,
            "model": self.model,
            "stream": self.stream,
            "status": self.status,
            "closed_at": self.closed_at,
            "headers": self.headers,
            "body": self.body,
        }


class ConnectionWatch:
    """Notes (``closed_at``) when a client connection closes while its request is still being answered.

    One task polls the open requests every ``INTERVAL`` seconds while there are any (aiohttp has no
    callback for a lost connection unless handlers are cancelled, which the simulated replies must not be).
    """

    INTERVAL = 0.005

    def __init__(self) -> None:
        self._open: dict[int, tuple[LoggedRequest, web.BaseRequest]] = {}
        self._task: asyncio.Task[None] | None = None

    def add(self, entry: LoggedRequest, request: web.BaseRequest) -> None:
        self._open[entry.seq] = (entry, request)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        try:
            while self._open:
                await asyncio.sleep(self.INTERVAL)
                now = time.time()
                for seq, (entry, request) in list(self._open.items()):
                    transport = request.transport
                    if entry.status is not None:
                        del self._open[seq]
                    elif transport is None or transport.is_closing():
                        entry.closed_at = now
                        del self._open[seq]
        finally:
            self._task = None


class RequestLog:
    def __init__(self, size: int) -> None:
        self._entries: deque[LoggedRequest] = deque(maxlen=size)
        self._seq = 0
        self._watch = ConnectionWatch()

    def record(self, request: web.Request, provider: str, model: str | None, body: Any) -> LoggedRequest:
        self._seq += 1
        headers = {str(k): ("REDACTED" if k.lower() in SECRET_HEADERS else v) for k, v in request.headers.items()}
        query = {k: ("REDACTED" if k == "key" else v) for k, v in request.query.items()}
        entry = LoggedRequest(
            self._seq, time.time(), request.method, request.path, query, provider, model, headers, body
        )
        self._entries.append(entry)
        self._watch.add(entry, request)
        return entry

    def entries(self, provider: str | None = None) -> list[LoggedRequest]:
        return [e for e in self._entries if provider is None or e.provider == provider]

    def clear(self) -> int:
        n = len(self._entries)
        self._entries.clear()
        return n


@dataclass
class SandboxState:
    config: SandboxConfig
    log: RequestLog
    signer: Signer
    faults: FaultQueue = field(default_factory=FaultQueue)
    anthropic_cache: PrefixCache = field(default_factory=lambda: PrefixCache(10_000))
    gemini_cache: PrefixCache = field(default_factory=lambda: PrefixCache(10_000))
    model_lists: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # provider -> model list served

    @classmethod
    def create(cls, config: SandboxConfig) -> SandboxState:
        return cls(
            config=config,
            log=RequestLog(config.max_logged_requests),
            signer=Signer(config.signing_secret),
            anthropic_cache=PrefixCache(config.max_cache_entries),
            gemini_cache=PrefixCache(config.max_cache_entries),
        )

    def select_fault(self, request: web.Request, prompt_text: str, provider: str) -> FaultSpec | None:
        """Header first, then a prompt marker, then the queue. Raises FaultSyntaxError on a bad header."""
        header = request.headers.get(FAULT_HEADER)
        if header:
            return parse_fault(header)
        marked = fault_in_text(prompt_text)
        if marked is not None:
            return marked
        return self.faults.take(provider)


STATE = web.AppKey("opentoken_sandbox_state", SandboxState)
