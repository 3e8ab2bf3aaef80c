"""``x-opentoken-worker``: which worker process of ``serve --workers N`` answered (only when N > 1)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

WORKER_HEADER = b"x-opentoken-worker"


def worker_header(number: int) -> tuple[bytes, bytes]:
    return (WORKER_HEADER, str(number).encode())


class WorkerHeader:
    def __init__(self, app: ASGIApp, number: int) -> None:
        self.app = app
        self._header = worker_header(number)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = self._header

        async def send_with_worker(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        await self.app(scope, receive, send_with_worker)
