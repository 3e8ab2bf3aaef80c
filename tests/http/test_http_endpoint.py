"""The plain-ASGI chat endpoint's body reader and stream sender (the parts that replace Starlette's)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator

import pytest
from starlette.requests import ClientDisconnect
from starlette.types import Message

from opentoken.core.errors import RequestTooLarge
from opentoken.http.disconnect import Watch
from opentoken.http.endpoint import read_body, send_stream


def receiver(*messages: Message) -> tuple[list[Message], object]:
    queue = list(messages)

    async def receive() -> Message:
        if queue:
            return queue.pop(0)
        await asyncio.Event().wait()  # like a server: nothing more until the client disconnects
        raise AssertionError("unreachable")

    return queue, receive


async def test_body_in_several_chunks_is_joined() -> None:
    _, receive = receiver(
        {"type": "http.request", "body": b"ab", "more_body": True},
        {"type": "http.request", "body": b"cd", "more_body": False},
    )
    assert await read_body(receive, None, 10) == b"abcd"  # type: ignore[arg-type]


async def test_declared_length_over_the_limit_is_refused_before_reading() -> None:
    queue, receive = receiver({"type": "http.request", "body": b"x" * 20})
    with pytest.raises(RequestTooLarge):
        await read_body(receive, "20", 10)  # type: ignore[arg-type]
    assert len(queue) == 1


async def test_streamed_body_over_the_limit_is_refused() -> None:
    _, receive = receiver(
        {"type": "http.request", "body": b"x" * 6, "more_body": True},
        {"type": "http.request", "body": b"x" * 6, "more_body": False},
    )
    with pytest.raises(RequestTooLarge):
        await read_body(receive, None, 10)  # type: ignore[arg-type]


async def test_disconnect_while_reading_the_body() -> None:
    _, receive = receiver({"type": "http.request", "body": b"x", "more_body": True}, {"type": "http.disconnect"})
    with pytest.raises(ClientDisconnect):
        await read_body(receive, None, 10)  # type: ignore[arg-type]


async def test_stream_frames_ready_together_go_in_one_send_in_order_and_the_response_ends() -> None:
    async def frames() -> AsyncIterator[bytes]:
        yield b"data: 1\n\n"
        yield b"data: 2\n\n"  # made from the same upstream read as the first
        await asyncio.sleep(0)  # the next read
        yield b"data: 3\n\n"

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    _, receive = receiver()
    await send_stream(frames(), [(b"x-a", b"1")], receive, send)  # type: ignore[arg-type]
    assert sent[0] == {"type": "http.response.start", "status": 200, "headers": [(b"x-a", b"1")]}
    assert [m.get("body") for m in sent[1:]] == [b"data: 1\n\ndata: 2\n\n", b"data: 3\n\n", b""]
    assert sent[-1]["more_body"] is False


class SlowStream:
    """One frame, then a slow upstream that only a disconnect ends (it must cancel the wait); and a client."""

    def __init__(self) -> None:
        self.upstream_waiting = asyncio.Event()
        self.closed: list[str] = []
        self.sent: list[Message] = []

    async def frames(self) -> AsyncIterator[bytes]:
        try:
            yield b"data: first\n\n"
            self.upstream_waiting.set()
            await asyncio.sleep(30)
            yield b"data: never\n\n"
        except asyncio.CancelledError:
            self.closed.append("cancelled")
            raise

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    def ended_quietly(self, task: asyncio.Future[None]) -> bool:
        first_only = [m.get("body") for m in self.sent[1:]] == [b"data: first\n\n"]
        return self.closed == ["cancelled"] and first_only and not task.cancelled()


async def test_client_leaving_mid_stream_closes_the_frames_and_ends_quietly() -> None:
    stream = SlowStream()
    gone = asyncio.Event()

    async def receive() -> Message:
        await gone.wait()
        return {"type": "http.disconnect"}

    task = asyncio.ensure_future(send_stream(stream.frames(), [], receive, stream.send))
    await stream.upstream_waiting.wait()
    gone.set()
    await asyncio.wait_for(task, 2)
    assert stream.ended_quietly(task)


class Hook:
    """A server's ``ON_DISCONNECT`` hook (``opentoken.http.disconnect``), driven by the test."""

    def __init__(self, gone: bool = False) -> None:
        self.gone = gone
        self.callback: object = None
        self.calls: list[bool] = []  # True: a callback registered, False: forgotten

    def __call__(self, callback: object, watch: bool) -> bool:
        if watch and self.gone:
            return False
        self.calls.append(watch)
        if watch:
            self.callback = callback
        elif self.callback is callback:
            self.callback = None
        return True

    def lose(self) -> None:
        self.gone = True
        callback, self.callback = self.callback, None
        assert callable(callback)
        callback()


async def test_with_the_server_hook_a_client_leaving_mid_stream_cancels_without_a_watcher_task() -> None:
    stream = SlowStream()

    async def receive() -> Message:
        raise AssertionError("with the server's hook, nothing waits in receive")

    hook = Hook()
    tasks_before = len(asyncio.all_tasks())
    task = asyncio.ensure_future(send_stream(stream.frames(), [], receive, stream.send, on_disconnect=hook))
    await stream.upstream_waiting.wait()
    assert len(asyncio.all_tasks()) == tasks_before + 1  # the stream's own task, no watcher
    hook.lose()
    await asyncio.wait_for(task, 2)
    assert stream.ended_quietly(task)
    assert hook.calls == [True, False]  # registered, then forgotten at the end (a no-op after the loss)


async def test_with_the_server_hook_a_finished_stream_forgets_its_callback() -> None:
    async def frames() -> AsyncIterator[bytes]:
        yield b"data: 1\n\n"

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    hook = Hook()
    await send_stream(frames(), [], receiver()[1], send, on_disconnect=hook)  # type: ignore[arg-type]
    assert hook.calls == [True, False]
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


async def test_with_the_server_hook_a_client_already_gone_gets_no_body_and_the_frames_are_closed() -> None:
    closed: list[str] = []

    async def frames() -> AsyncGenerator[bytes]:
        try:
            yield b"data: 1\n\n"
        finally:
            closed.append("closed")

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    stream = frames()
    await stream.asend(None)  # started: closing it runs its cleanup
    await send_stream(stream, [], receiver()[1], send, on_disconnect=Hook(gone=True))  # type: ignore[arg-type]
    assert [m["type"] for m in sent] == ["http.response.start"]  # the head went out before the hook said so
    assert closed == ["closed"]


async def test_a_watch_on_the_server_hook_cancels_the_request_when_its_client_leaves_before_the_response() -> None:
    hook = Hook()
    _, receive = receiver({"type": "http.request", "body": b"{}", "more_body": False})

    async def request() -> str:
        watch = Watch(asyncio.current_task(), receive, hook)  # type: ignore[arg-type]
        await watch.receive()  # the body: from now on the hook watches
        try:
            await asyncio.sleep(30)  # a slow upstream
        except asyncio.CancelledError:
            assert watch.cancelled
            return "cancelled by the watch"
        finally:
            watch.stop()
        return "answered"

    tasks_before = len(asyncio.all_tasks())
    task = asyncio.ensure_future(request())
    await asyncio.sleep(0.02)  # past ARM_AFTER: a watcher task would exist by now
    assert len(asyncio.all_tasks()) == tasks_before + 1
    assert hook.calls == [True]
    hook.lose()
    assert await asyncio.wait_for(task, 2) == "cancelled by the watch"


async def test_a_watch_on_the_server_hook_forgets_its_callback_when_the_response_starts() -> None:
    hook = Hook()
    _, receive = receiver({"type": "http.request", "body": b"{}", "more_body": False})
    watch = Watch(asyncio.current_task(), receive, hook)  # type: ignore[arg-type]
    await watch.receive()
    registered = hook.callback
    assert registered is not None
    watch.stop()
    assert hook.calls == [True, False] and hook.callback is None
