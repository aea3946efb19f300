"""The pump: a paced stream stepped from the heap scheduler's timer, on a real event loop.

What matters is what the server receives: every frame once and in order, the response ended
by the last write, nothing sent after a failure or a cancellation, and a send held up by flow
control never overtaken by the next one.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from mockllm.pacing import Pacing
from mockllm.pump import Pump
from mockllm.schedulers import HeapScheduler
from mockllm.stream_response import StreamResponse
from mockllm.watch import DisconnectWatch

from .stream_helpers import Ctx, Raw, frames


def _pump(response: StreamResponse, send: Any, pacing: Pacing,
          on_end: Any = None) -> Pump:
    """The pump a StreamResponse runs: its frames, its transport's encoder and terminator."""
    transport = response.transport
    return Pump(response.frames, transport.encode, transport.terminator, send, pacing,
                observation=response.observation, on_end=on_end)


def tokens_in(body: bytes) -> int:
    return sum(part.startswith(b"t") for part in body.split(b"|"))


EXPECTED = b"role|" + b"".join(b"t%d|" % i for i in range(12)) + b"usage|END|"


def setup(ttft: float = 0.003, itl: float = 0.002
          ) -> tuple[StreamResponse, Pacing, HeapScheduler]:
    sched = HeapScheduler(asyncio.get_running_loop())
    pacing = Pacing(time.monotonic(), ttft, itl, scheduler=sched)
    return StreamResponse(Raw(Ctx()), frames(12), pacing), pacing, sched


@pytest.mark.anyio
async def test_every_frame_once_in_order_and_the_last_write_ends_the_response() -> None:
    response, pacing, _ = setup()
    messages: list[dict[str, Any]] = []
    ended: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await _pump(response, send, pacing, on_end=lambda: ended.append(len(messages))).run()
    assert b"".join(m["body"] for m in messages) == EXPECTED
    assert [m["more_body"] for m in messages] == [True] * (len(messages) - 1) + [False]
    assert messages[-1]["body"].endswith(b"usage|END|")  # no write of its own for the end
    assert ended == [len(messages) - 1]  # on_end runs just before the last write
    assert pacing.errors.count == 12 and pacing.errors.max >= 0  # never early
    # each token was due when it went out
    first = messages[0]["body"]
    assert first.startswith(b"role|t0|")


@pytest.mark.anyio
async def test_a_send_held_by_flow_control_is_never_overtaken() -> None:
    response, pacing, _ = setup(ttft=0.0, itl=0.002)
    release = asyncio.Event()
    held = asyncio.Event()
    active = 0
    overlaps = 0
    bodies: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        nonlocal active, overlaps
        active += 1
        overlaps += active > 1
        if len(bodies) == 2:  # the third write waits for the transport to drain
            held.set()
            await release.wait()
        bodies.append(message["body"])
        active -= 1

    task = asyncio.ensure_future(_pump(response, send, pacing).run())
    await held.wait()
    # Hold the write until the whole schedule (12 tokens at 2 ms) has fallen due, however
    # slow the machine: what is checked below does not depend on how long that took.
    await asyncio.sleep(0.03)
    assert len(bodies) == 2 and not task.done()
    release.set()
    await task
    assert overlaps == 0
    assert b"".join(bodies) == EXPECTED
    # everything was due at the release: the tokens not yet written left together, in one
    # catch-up write, not one write per token
    assert len([body for body in bodies[3:] if tokens_in(body)]) <= 1


@pytest.mark.anyio
async def test_a_failing_send_fails_the_stream_and_nothing_more_is_sent() -> None:
    response, pacing, _ = setup()
    calls = 0

    async def send(message: dict[str, Any]) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("transport gone")

    with pytest.raises(RuntimeError, match="transport gone"):
        await _pump(response, send, pacing).run()
    await asyncio.sleep(0.03)  # past the whole schedule
    assert calls == 2


@pytest.mark.anyio
async def test_a_cancelled_stream_stops_sending() -> None:
    response, pacing, sched = setup(ttft=0.0, itl=0.05)
    bodies: list[bytes] = []
    started = asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        bodies.append(message["body"])
        started.set()

    task = asyncio.ensure_future(_pump(response, send, pacing).run())
    # Cancel once sending has begun, however slow the machine: no race with the schedule.
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    sent = len(bodies)
    assert 0 < sent < 12
    await asyncio.sleep(0.12)  # the stale timer entry fires and does nothing
    assert len(bodies) == sent


@pytest.mark.anyio
async def test_streams_sharing_one_heap_each_keep_their_own_schedule() -> None:
    sched = HeapScheduler(asyncio.get_running_loop())
    start = time.monotonic()
    out: dict[int, list[float]] = {}

    async def one(i: int) -> None:
        pacing = Pacing(start, 0.002 * i, 0.003, scheduler=sched)
        times = out.setdefault(i, [])

        async def send(message: dict[str, Any]) -> None:
            times.extend([time.monotonic()] * tokens_in(message["body"]))

        await _pump(StreamResponse(Raw(Ctx()), frames(12), pacing), send, pacing).run()
        # never early: token k was sent at or after its due time
        for k, t in enumerate(times):
            assert t >= pacing.due(k)

    await asyncio.gather(*(one(i) for i in range(20)))
    assert all(len(v) == 12 for v in out.values())


class CountingLoop:
    """Just enough of a loop for HeapScheduler: counts the timers it is asked to create."""

    def __init__(self) -> None:
        self.timers = 0
        self.cancelled = 0

    def call_later(self, delay: float, callback: Any) -> Any:
        self.timers += 1
        loop = self

        class Handle:
            def cancel(self) -> None:
                loop.cancelled += 1

        return Handle()


def test_callbacks_that_push_during_a_fire_arm_the_timer_once() -> None:
    now = [100.0]
    loop = CountingLoop()
    sched = HeapScheduler(loop, clock=lambda: now[0])  # type: ignore[arg-type]
    ran: list[int] = []

    def stream(i: int) -> Any:
        def step() -> None:
            ran.append(i)
            sched.call_at(now[0] + 0.01 + i * 1e-5, lambda: ran.append(-i))  # the next token

        return step

    for i in range(100):
        sched.call_at(100.001, stream(i))
    assert loop.timers == 1  # one timer for the earliest deadline
    now[0] = 100.002
    sched._fire()
    assert sorted(ran) == list(range(100))
    # 100 callbacks each pushed a later deadline while the heap was firing: one new timer,
    # not one per push (which would also cancel 99 of them)
    assert loop.timers == 2 and loop.cancelled == 0
    now[0] = 100.05
    sched._fire()
    assert len(ran) == 200 and loop.timers == 2  # nothing left to arm


# -- the disconnect watcher -------------------------------------------------------------


async def _request_task(watch_of: Any) -> tuple[asyncio.Task[None], list[Any]]:
    """A task that builds a watcher on itself and then waits, as a stream does."""
    made: list[Any] = []

    async def request() -> None:
        made.append(watch_of(asyncio.current_task()))
        await asyncio.sleep(60)

    task = asyncio.ensure_future(request())
    while not made:
        await asyncio.sleep(0)
    return task, made


@pytest.mark.anyio
async def test_the_watcher_cancels_the_request_when_the_client_leaves() -> None:
    left = asyncio.Event()
    calls = 0

    async def receive() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:  # a late body chunk first: the watcher listens on
            await asyncio.sleep(0)
            return {"type": "http.request", "body": b"", "more_body": False}
        await left.wait()
        return {"type": "http.disconnect"}

    task, made = await _request_task(lambda t: DisconnectWatch(receive, t))
    await asyncio.sleep(0.01)
    assert not task.done() and not made[0].gone
    left.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert made[0].gone and calls == 2


@pytest.mark.anyio
async def test_a_cancelled_watcher_leaves_nothing_waiting() -> None:
    event = asyncio.Event()

    async def receive() -> dict[str, Any]:
        await event.wait()
        return {"type": "http.disconnect"}

    watch = DisconnectWatch(receive, asyncio.current_task())
    assert len(event._waiters) == 1  # type: ignore[attr-defined]  # stepped at once, no task
    watch.cancel()
    watch.cancel()  # idempotent
    assert not event._waiters  # type: ignore[attr-defined]  # the receive was closed
    event.set()
    await asyncio.sleep(0.01)
    assert not watch.gone  # and the current task was not cancelled


@pytest.mark.anyio
async def test_a_receive_that_is_not_a_coroutine_is_awaited_in_a_task() -> None:
    fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    task, made = await _request_task(lambda t: DisconnectWatch(lambda: fut, t))
    fut.set_result({"type": "http.disconnect"})
    with pytest.raises(asyncio.CancelledError):
        await task
    assert made[0].gone


@pytest.mark.anyio
async def test_a_receive_that_fails_stops_the_watch_and_nothing_else() -> None:
    async def receive() -> dict[str, Any]:
        await asyncio.sleep(0)
        raise RuntimeError("server gone")

    task, made = await _request_task(lambda t: DisconnectWatch(receive, t))
    await asyncio.sleep(0.01)
    assert not task.done() and not made[0].gone
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
