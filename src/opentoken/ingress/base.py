"""What every ingress codec implements, and the response headers every ingress sends the same way."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from opentoken.core.chat import ChatRequest
from opentoken.core.errors import GatewayError
from opentoken.core.result import StreamEvent
from opentoken.outcome import Completed, MeteredStream, Served

P = TypeVar("P")


@dataclass(slots=True)
class Rendered:
    """A whole reply: status, headers (beyond content type and length) and body."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


class Codec(Protocol[P]):
    """One wire API. ``P`` is what its parser keeps about a request (the canonical request and whatever the
    codec needs to render replies and errors for it: the client's field spellings, index maps, options)."""

    name: str  # recorded in the ledger as the ingress a call came through

    def credentials(self, headers: Mapping[str, str]) -> str | None:
        """The ``Authorization`` value to authenticate with (``Bearer <key>``), from this API's auth headers."""
        ...

    def parse(self, body: bytes, headers: Mapping[str, str]) -> P:
        """Validate the body (``headers``: the request's, lower-case names); raise ``InvalidRequest`` (with
        ``param`` in this API's syntax) when it is not valid."""
        ...

    def request(self, parsed: P) -> ChatRequest: ...

    def ignored(self, parsed: P) -> tuple[str, ...]:
        """Request fields accepted but not acted on (reported to the client and in the ledger)."""
        ...

    def render(self, parsed: P, done: Completed, request_id: str) -> Rendered: ...

    def stream(self, parsed: P, stream: MeteredStream, request_id: str) -> AsyncIterator[bytes]:
        """The reply as this API's stream, each item one or more whole frames (those of one upstream read go
        together); a ``GatewayError`` from ``stream`` becomes its error frame."""
        ...

    def headers(self, parsed: P, served: Served) -> dict[str, str]:
        """Response headers of a served call (see ``served_headers`` for the ones every API shares)."""
        ...

    def error(self, err: GatewayError, parsed: P | None, request_id: str | None = None) -> Rendered:
        """``err`` in this API's error shape and status; ``parsed`` is None when the body could not be parsed."""
        ...


def render_read(batch: list[StreamEvent], event: Callable[[StreamEvent], list[bytes]]) -> bytes:
    """The frames ``event`` makes of one upstream read's events, as one piece of bytes (empty when none)."""
    return b"".join([frame for ev in batch for frame in event(ev)])


def served_headers(served: Served) -> dict[str, str]:
    """Headers every ingress sends for a served call: rate limits, lifecycle, provider, attempts, simulation."""
    headers = {
        **served.limit_headers,
        **served.notices,  # Deprecation / Sunset / successor Link, and which model answered for a retired one
        "x-opentoken-provider": served.model.provider,
        "x-opentoken-attempts": str(served.attempts),
    }
    if served.simulated:
        headers["x-opentoken-simulated"] = "true"
    return headers


_REPORTABLE = re.compile(r"^[A-Za-z0-9_.\-\[\]]{1,64}$")
MAX_REPORTED = 16


def name_list(names: tuple[str, ...]) -> str:
    """Field names for a response header, safe whoever chose them: names that are not plain identifiers (a
    client may send any JSON key: non-Latin-1, CR/LF, thousands of them) are counted, not echoed, and at most
    ``MAX_REPORTED`` names are listed, then ``+N more``."""
    shown = [n for n in names if _REPORTABLE.match(n)][:MAX_REPORTED]
    rest = len(names) - len(shown)
    return ",".join([*shown, f"+{rest} more"] if rest else shown)
