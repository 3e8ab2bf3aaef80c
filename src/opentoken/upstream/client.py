"""HTTP calls to providers over pooled keep-alive aiohttp sessions (one pool per base URL).

Transport failures become GatewayErrors here (connection -> UpstreamConnectionError, timeouts ->
UpstreamTimeout); HTTP error replies are handed to the provider's ``parse_error``. Provider keys travel only
in request headers and are never part of an error message or log line.

Time limits: ``Timeouts.connect`` bounds the TCP/TLS connect; the wait for the response headers and every
read is bounded by the request's ``deadline`` (a ``time.monotonic()`` instant: the total timeout); between
two reads of a stream at most ``UpstreamCall.idle`` may pass (``Timeouts.idle``). The wait for the first
token of a stream is the router's to bound (``opentoken.routing.calls``), as only it knows what counts as
content; it lifts the idle limit until then.

With tracing on (``propagate_trace``), every request carries the W3C ``traceparent`` of the current span
(the router's span for the attempt), so a provider that traces joins the client's trace.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp

from opentoken.catalog.model import Timeouts
from opentoken.core.errors import UpstreamConnectionError, UpstreamProtocolError, UpstreamTimeout
from opentoken.core.watchdog import Watchdog
from opentoken.providers.base import Provider, SSEEvent, UpstreamRequest
from opentoken.telemetry.tracing import inject
from opentoken.upstream.sse import SSEParser


@dataclass(frozen=True, slots=True)
class Deployment:
    """One place a model can be served from: a provider, a base URL and a credential.

    ``models`` are fnmatch patterns on public model ids (empty: every model of the provider); ``weight``
    is its share of the traffic among the deployments serving a model.
    """

    name: str
    provider: Provider
    base_url: str
    api_key: str
    weight: float = 1.0
    models: tuple[str, ...] = ()
    simulated: bool = False  # the built-in sandbox: its replies are marked as simulated


READ_BYTES = 64 * 1024
"""At most this much of a stream is taken per read: what one read's events and frames hold stays small when
the provider sends faster than the client reads (aiohttp may have buffered far more)."""


class UpstreamCall:
    """An upstream response whose status was 2xx; read it whole or as SSE events."""

    def __init__(self, resp: aiohttp.ClientResponse, timeouts: Timeouts, deadline: float, dog: Watchdog) -> None:
        self._resp = resp
        self._timeouts = timeouts
        self._deadline = deadline
        self._dog = dog  # bounds every wait of the call with one timer (the send's, carried on)
        self.status = resp.status
        self.idle: float | None = timeouts.idle  # longest gap between reads; None: only the deadline bounds it

    async def read(self) -> bytes:
        try:
            with self._dog.bound(None, self._deadline):
                return await self._resp.read()
        except TimeoutError as e:
            raise UpstreamTimeout(
                f"The provider did not finish its reply within the {self._timeouts.total:g} s total timeout."
            ) from e
        except aiohttp.ClientError as e:
            raise UpstreamConnectionError(f"The provider connection failed while reading: {type(e).__name__}") from e
        finally:
            self._dog.close()
            self._resp.release()

    async def reads(self) -> AsyncIterator[list[SSEEvent]]:
        """The stream's events, as a list per network read (a read that completes no event yields nothing):
        the layers above handle a read's events in one step, not one generator round trip per event."""
        parser = SSEParser()
        content = self._resp.content
        dog = self._dog  # each read within ``idle`` and the deadline: one timer per stream, not one per read
        deadline = self._deadline
        try:
            while True:
                idle = self.idle
                try:
                    with dog.bound(idle, deadline):
                        chunk = await content.read(READ_BYTES)
                except TimeoutError as e:
                    if idle is None or time.monotonic() >= deadline:
                        raise UpstreamTimeout(
                            f"The request exceeded its {self._timeouts.total:g} s total timeout mid-stream."
                        ) from e
                    raise UpstreamTimeout(f"The provider sent nothing for {idle:g} s mid-stream.") from e
                if not chunk:
                    break
                events = parser.feed(chunk)
                if events:
                    yield events
            tail = parser.close()
            if tail:
                yield tail
        except aiohttp.ClientError as e:
            raise UpstreamConnectionError(f"The provider connection broke mid-stream: {type(e).__name__}") from e
        finally:
            self.close()

    def close(self) -> None:
        self._dog.close()
        if not self._resp.closed:
            self._resp.close()


class UpstreamClient:
    def __init__(self, *, limit_per_host: int = 0, propagate_trace: bool = False) -> None:
        self._sessions: dict[str, aiohttp.ClientSession] = {}
        self._limit_per_host = limit_per_host
        self._propagate_trace = propagate_trace

    def _session(self, base_url: str) -> aiohttp.ClientSession:
        session = self._sessions.get(base_url)
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(
                limit=0, limit_per_host=self._limit_per_host, keepalive_timeout=60, enable_cleanup_closed=True
            )
            session = aiohttp.ClientSession(
                base_url=None,
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=None),
                auto_decompress=True,
                skip_auto_headers=("User-Agent",),
            )
            self._sessions[base_url] = session
        return session

    async def send(
        self, deployment: Deployment, request: UpstreamRequest, timeouts: Timeouts, deadline: float | None = None
    ) -> UpstreamCall:
        """POST the request; return the open 2xx response or raise the mapped GatewayError.

        ``deadline`` (``time.monotonic()`` seconds) ends the whole call; default: ``timeouts.total`` from now.
        """
        if deadline is None:
            deadline = time.monotonic() + timeouts.total
        url = deployment.base_url.rstrip("/") + request.path
        headers = {**request.headers, **deployment.provider.auth_headers(deployment.api_key)}
        if self._propagate_trace:
            inject(headers)
        session = self._session(deployment.base_url)
        client_timeout = aiohttp.ClientTimeout(total=None, connect=timeouts.connect, sock_connect=timeouts.connect)
        dog = Watchdog()  # the deadline's timer, kept by the call for its reads
        call = None
        try:
            with dog.bound(None, deadline):
                resp = await session.post(url, data=request.body, headers=headers, timeout=client_timeout)
                if resp.status >= 300:
                    try:
                        body = await resp.read()
                    finally:
                        resp.release()
                    raise deployment.provider.parse_error(resp.status, resp.headers, body)
            call = UpstreamCall(resp, timeouts, deadline, dog)
        except aiohttp.ConnectionTimeoutError as e:
            raise UpstreamTimeout(
                f"Could not connect to the provider ({deployment.name}) within {timeouts.connect:g} s."
            ) from e
        except TimeoutError as e:
            raise UpstreamTimeout(
                f"The provider did not answer within the {timeouts.total:g} s total timeout ({deployment.name})."
            ) from e
        except aiohttp.ClientError as e:
            raise UpstreamConnectionError(
                f"Could not reach the provider ({deployment.name}): {type(e).__name__}"
            ) from e
        finally:
            if call is None:
                dog.close()
        return call

    async def fetch(
        self, deployment: Deployment, request: UpstreamRequest, timeouts: Timeouts, max_bytes: int = 8 << 20
    ) -> bytes:
        """GET ``request.path`` and return the whole 2xx body (at most ``max_bytes``), or raise the mapped
        GatewayError; the whole call is bounded by ``timeouts.total``."""
        url = deployment.base_url.rstrip("/") + request.path
        headers = {**request.headers, **deployment.provider.auth_headers(deployment.api_key)}
        client_timeout = aiohttp.ClientTimeout(total=None, connect=timeouts.connect, sock_connect=timeouts.connect)
        try:
            async with (
                asyncio.timeout(timeouts.total),
                self._session(deployment.base_url).get(url, headers=headers, timeout=client_timeout) as resp,
            ):
                body = await resp.content.read(max_bytes + 1)
                while len(body) <= max_bytes and not resp.content.at_eof():
                    body += await resp.content.read(max_bytes + 1 - len(body))
        except TimeoutError as e:
            raise UpstreamTimeout(
                f"The provider ({deployment.name}) did not answer within {timeouts.total:g} s."
            ) from e
        except aiohttp.ClientError as e:
            raise UpstreamConnectionError(
                f"Could not reach the provider ({deployment.name}): {type(e).__name__}"
            ) from e
        if resp.status >= 300:
            raise deployment.provider.parse_error(resp.status, resp.headers, body)
        if len(body) > max_bytes:
            raise UpstreamProtocolError(f"The provider ({deployment.name}) sent more than {max_bytes} bytes.")
        return body

    async def close(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        for s in sessions:
            await s.close()
