"""Incremental SSE reader for upstream streams (Anthropic: event+data lines, LF; Gemini: data lines, CRLF).

Fed raw byte chunks as they arrive; yields complete events. Events end at a blank line (LF, CRLF or CR
line endings, mixed allowed). No maintained library parses SSE from an aiohttp POST response body without
taking over the connection, so this small state machine is ours; it follows the WHATWG event-stream rules
for the fields upstreams use (``event``, ``data``; comments and ``id``/``retry`` are skipped).
"""

from __future__ import annotations

from opentoken.providers.base import SSEEvent


class SSEParser:
    def __init__(self) -> None:
        self._buf = b""
        self._event: str | None = None
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        buf = self._buf + chunk if self._buf else chunk
        if b"\r" in buf:
            # normalise CRLF / CR to LF; keep a trailing CR (its LF may follow in the next chunk)
            tail = b"\r" if buf.endswith(b"\r") else b""
            buf = buf[: len(buf) - len(tail)].replace(b"\r\n", b"\n").replace(b"\r", b"\n") + tail
        events: list[SSEEvent] = []
        start = 0
        while True:
            nl = buf.find(b"\n", start)
            if nl < 0:
                break
            line = buf[start:nl]
            start = nl + 1
            if not line:
                if self._data:
                    events.append(SSEEvent(data="\n".join(self._data), event=self._event))
                self._event, self._data = None, []
                continue
            self._line(line)
        self._buf = buf[start:]
        return events

    def _line(self, line: bytes) -> None:
        if line.startswith(b"data:"):
            value = line[5:]
            self._data.append((value[1:] if value.startswith(b" ") else value).decode("utf-8"))
        elif line.startswith(b"event:"):
            value = line[6:]
            self._event = (value[1:] if value.startswith(b" ") else value).decode("utf-8")
        # comments (":"), id, retry and unknown fields are ignored

    def close(self) -> list[SSEEvent]:
        """End of stream: a final event without its blank line still counts."""
        events = self.feed(b"\n\n") if (self._buf or self._data) else []
        self._buf = b""
        return events
