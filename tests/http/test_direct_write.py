"""A paced stream on the own HTTP layer writes its later tokens straight to the transport
(``RequestCycle.write_chunk``), not through ``send``: the same bytes in the same writes, and
wherever ``send`` has more to do (flow control, a client gone, the last chunk) it still
goes through ``send``."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pytest

from benchmarks.paced_profile import _Sink
from mockllm.http.cycle import RequestCycle
from mockllm.http.protocol import HttpProtocol, ServerState
from mockllm.pacing import Pacing
from mockllm.schedulers import HeapScheduler
from mockllm.stream_response import StreamResponse
from tests.stream_helpers import Ctx, Raw, frames

REQUEST = b"GET /stream HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
EXPECTED = b"role|" + b"".join(b"t%d|" % i for i in range(12)) + b"usage|END|"


class Sink(_Sink):
    """The benchmarks' dropping transport, keeping what is written."""

    def __init__(self, on_write: Any = None) -> None:
        self.writes: list[bytes] = []

        def record(data: Any) -> None:
            self.writes.append(bytes(data))
            if on_write is not None:
                on_write(len(self.writes))

        super().__init__(record)


def body_of(writes: list[bytes]) -> bytes:
    """The chunked body after the head, unframed."""
    data = b"".join(writes)
    data = data[data.index(b"\r\n\r\n") + 4:]
    out = b""
    while True:
        size, _, rest = data.partition(b"\r\n")
        n = int(size, 16)
        if n == 0:
            assert rest == b"\r\n"
            return out
        out += rest[:n]
        assert rest[n:n + 2] == b"\r\n"
        data = rest[n + 2:]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def serve(sink: Sink, itl: float = 0.002, clock: FakeClock | None = None,
                sched: HeapScheduler | None = None) -> tuple[HttpProtocol, ServerState]:
    loop = asyncio.get_running_loop()
    if sched is None:
        sched = HeapScheduler(loop)
    now = clock or time.monotonic

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        pacing = Pacing(now(), 0.003, itl, clock=now, scheduler=sched)
        await StreamResponse(Raw(Ctx()), frames(12), pacing)(scope, receive, send)

    state = ServerState(app, loop)
    proto = HttpProtocol(state)
    proto.connection_made(sink)
    proto.data_received(REQUEST)
    return proto, state


async def until_done(state: ServerState) -> None:
    for _ in range(6000):  # a bound for a busy machine, never a race
        if not state.tasks:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the stream never ended")


@pytest.mark.anyio
async def test_the_same_bytes_in_the_same_writes_as_through_send(
        monkeypatch: pytest.MonkeyPatch) -> None:
    direct = Sink()
    _, state = await serve(direct)
    await until_done(state)
    monkeypatch.setattr(RequestCycle, "body_writer", lambda self: None)
    sent = Sink()
    _, state = await serve(sent)
    await until_done(state)
    assert body_of(direct.writes) == body_of(sent.writes) == EXPECTED
    # at most one write a token (role with the first, usage and the end with the last; a
    # busy machine makes tokens fall due together), the head apart
    for writes in (direct.writes, sent.writes):
        assert len(writes) <= 13
        assert all(re.search(rb"\nt\d|\|t\d", w) for w in writes[1:])  # a token each


@pytest.mark.anyio
async def test_only_the_later_tokens_skip_send(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bool] = []
    real = RequestCycle.write_chunk

    def spy(self: RequestCycle, body: bytes, more: bool) -> bool:
        done = real(self, body, more)
        calls.append(done)
        return done

    monkeypatch.setattr(RequestCycle, "write_chunk", spy)
    sink = Sink()
    # A fake clock and the heap's callback called by hand: every token on time, alone,
    # however busy the machine.
    clock = FakeClock()
    sched = HeapScheduler(asyncio.get_running_loop(), clock)
    _, state = await serve(sink, clock=clock, sched=sched)
    for _ in range(6000):
        if not state.tasks:
            break
        while sched._heap:
            clock.now = sched._heap[0][0]
            sched._fire()
        await asyncio.sleep(0.001)
    # one write a token; the last completes the response, so it goes through send
    assert calls == [True] * 11 + [False]
    assert body_of(sink.writes) == EXPECTED


@pytest.mark.anyio
async def test_flow_control_holds_the_writes_until_the_transport_drains() -> None:
    proto: HttpProtocol | None = None
    paused_at: list[int] = []

    def on_write(n: int) -> None:
        if n == 4:  # the head and three token writes: the transport is full
            assert proto is not None
            proto.pause_writing()
            paused_at.append(n)

    sink = Sink(on_write)
    proto, state = await serve(sink, itl=0.001)
    while not paused_at:
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.05)  # the whole schedule falls due: nothing may be written
    assert len(sink.writes) == 4
    proto.resume_writing()
    await until_done(state)
    assert body_of(sink.writes) == EXPECTED
    # what fell due while paused went out together, not one write per token
    assert len(sink.writes) <= 6


@pytest.mark.anyio
async def test_nothing_is_written_after_the_client_left() -> None:
    proto: HttpProtocol | None = None

    def on_write(n: int) -> None:
        if n == 3:
            assert proto is not None
            proto.connection_lost(None)

    sink = Sink(on_write)
    proto, state = await serve(sink)
    await until_done(state)
    assert len(sink.writes) == 3
