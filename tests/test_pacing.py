"""Pacing on a fake clock: absolute deadlines (no drift), jitter, the error histogram,
the schedulers, and TCP_NODELAY on a live server's socket."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from mockllm.app import build_app
from mockllm.engine.latency import LogNormal
from mockllm.engine.load import LoadModel
from mockllm.engine.schema import LoadConfig
from mockllm.faults import Fault
from mockllm.histogram import BACKLOG, LATENCY_BUCKETS, PACING_ERROR_BUCKETS, Histogram
from mockllm.pacing import Pacing, jittered
from mockllm.schedulers import HeapScheduler, SleepScheduler
from mockllm.stream_response import StreamResponse
from mockllm.testing import test_context

from .stream_helpers import Ctx, Raw, frames


class FakeClock:
    """A clock only sleeping (or simulated work) moves; sleeps return at once."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep_until(self, deadline: float) -> None:
        self.sleeps.append(deadline)
        self.now = max(self.now, deadline)


async def run(pacing: Pacing, clock: FakeClock, tokens: int, work: float = 0.0
              ) -> list[tuple[bytes, float]]:
    """Send a stream; each send costs ``work`` seconds of fake time. (body, time) pairs."""
    sent: list[tuple[bytes, float]] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body" and message["body"]:
            # one send may carry several frames; each is on the wire at the same time
            sent.extend((f, clock.now) for f in message["body"].split(b"|") if f)
            clock.now += work

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()  # the client never leaves
        return {"type": "http.disconnect"}

    await StreamResponse(Raw(Ctx()), frames(tokens), pacing)({}, receive, send)
    return sent


def token_times(sent: list[tuple[bytes, float]]) -> list[float]:
    return [t for body, t in sent if body.startswith(b"t")]


@pytest.mark.anyio
async def test_tokens_go_out_on_absolute_deadlines_without_drift() -> None:
    clock = FakeClock()
    start = clock.now
    pacing = Pacing(start, 0.1, 0.01, clock=clock, scheduler=clock)
    # every send costs 3 ms: sleep-after-send would drift 3 ms per token, absolute deadlines
    # absorb it
    sent = await run(pacing, clock, 50, work=0.003)
    times = token_times(sent)
    assert times == pytest.approx([start + 0.1 + 0.01 * i for i in range(50)])
    assert [b for b, _ in sent][:2] == [b"role", b"t0"]  # non-token frames ride with a token
    assert sent[-2:] == [(b"usage", times[-1]), (b"END", times[-1])]
    assert pacing.errors.count == 50 and pacing.errors.max == pytest.approx(0.0)


@pytest.mark.anyio
async def test_late_tokens_catch_up_instead_of_shifting_the_schedule() -> None:
    clock = FakeClock()
    start = clock.now
    itl = Histogram(LATENCY_BUCKETS)
    pacing = Pacing(start, 0.0, 0.01, clock=clock, scheduler=clock, itl_sink=itl)
    # 25 ms per send: slower than the ITL, so every token is late, but the lateness is
    # measured against the original schedule and recorded.
    sent = await run(pacing, clock, 5, work=0.025)
    times = token_times(sent)
    # token 0 leaves at once; each send takes 25 ms, so by then tokens 1 and 2 are overdue
    # and leave together in one write, and so on: a late stream catches up
    assert times == pytest.approx([start, start + 0.025, start + 0.025, start + 0.05,
                                   start + 0.05])
    assert pacing.errors.count == 5
    assert pacing.errors.sum == pytest.approx(0.015 + 0.005 + 0.02 + 0.01)
    assert pacing.errors.max == pytest.approx(0.02)
    # one gap per token after the first; tokens that left together count a gap of 0
    assert itl.count == 4 and itl.sum == pytest.approx(0.05)


def test_due_with_per_token_list_and_random_access() -> None:
    p = Pacing(10.0, 1.0, [0.1, 0.2, 0.3])
    assert [p.due(i) for i in range(4)] == pytest.approx([11.0, 11.1, 11.3, 11.6])
    assert p.due(1) == pytest.approx(11.1)  # going back recomputes
    assert p.total(4) == pytest.approx(1.6)
    assert not p.idle and Pacing(0.0).idle


def test_linear_is_the_same_schedule_as_due() -> None:
    p = Pacing(12.345, 0.1, 0.007)
    p.hide(3)
    base, itl, hidden = p.linear()  # type: ignore[misc]
    assert [base + itl * (i + hidden) for i in range(100)] == [p.due(i) for i in range(100)]
    assert Pacing(0.0, 0.1, [0.1, 0.2]).linear() is None  # a gap per token: ask due()


def test_take_needs_no_wait_without_a_load_model_or_with_a_free_slot() -> None:
    assert Pacing(0.0, 0.1, 0.01).take()
    load = LoadModel(LoadConfig(max_concurrent=1, queue_size=1))
    first = Pacing(0.0, 0.1, 0.01, load=load.admit(1))
    second = Pacing(0.0, 0.1, 0.01, load=load.admit(1))
    assert first.take() and first.take()  # taken once; again is a no-op
    assert not second.take()  # queued: the caller must await acquire()
    first.release()
    second.release()


def test_sampled_gaps_are_drawn_once_and_repeatable() -> None:
    def sched(seed: int) -> list[float]:
        p = Pacing(0.0, 0.2, 0.0, itl_sample=jittered(LogNormal(10, 0.5), random.Random(seed),
                                                       None))
        out = [p.due(i) for i in range(20)]
        assert [p.due(i) for i in range(20)] == out  # re-reading does not redraw
        return out

    assert sched(5) == sched(5) != sched(6)
    gaps = [b - a for a, b in zip(sched(5), sched(5)[1:], strict=False)]
    assert 0.005 < sum(gaps) / len(gaps) < 0.02


@pytest.mark.anyio
async def test_wait_total_waits_for_the_last_token() -> None:
    clock = FakeClock()
    p = Pacing(clock.now, 0.1, 0.01, clock=clock, scheduler=clock)
    await p.wait_total(50)
    assert clock.sleeps == [pytest.approx(1000.0 + 0.1 + 0.49)]


@pytest.mark.anyio
async def test_faults_still_work_on_the_paced_path() -> None:
    clock = FakeClock()
    p = Pacing(clock.now, 0.0, 0.01, Fault("truncate"), clock=clock, scheduler=clock)
    sent = await run(p, clock, 3)
    assert [b for b, _ in sent] == [b"role", b"t0", b"t1", b"t2"]
    p = Pacing(clock.now, 0.0, 0.01, Fault("malformed", after=2), clock=clock, scheduler=clock)
    sent = await run(p, clock, 2)
    assert [b for b, _ in sent] == [b"role", b"t0", b'{"malformed": tr', b"t1", b"usage",
                                    b"END"]


def test_histogram_buckets_and_quantiles() -> None:
    h = Histogram()
    for x in [0.0005] * 90 + [0.004] * 9 + [2.0]:
        h.observe(x)
    assert h.count == 100 and len(h) == 100
    assert h.counts[PACING_ERROR_BUCKETS.index(0.0005)] == 90  # le is inclusive
    assert h.counts[-1] == 1  # +Inf
    assert 0.003 < h.quantile(0.99) <= 0.005
    assert h.mean == pytest.approx((0.045 + 0.036 + 2.0) / 100)


def test_samples_kept_by_add_count_as_observed_ones_when_read() -> None:
    rng = random.Random(7)
    xs = [rng.choice([0.0001, 0.0005, 1.0, 2.0, -0.001, 0.0]) if rng.random() < 0.3
          else rng.expovariate(300) for _ in range(3 * BACKLOG)]
    for bounds in (PACING_ERROR_BUCKETS, LATENCY_BUCKETS):
        observed, added = Histogram(bounds), Histogram(bounds)
        for i, x in enumerate(xs):
            observed.observe(x)
            added.add(x)
            if i == 100:  # a read in between counts what was kept so far
                assert added.count == 101 and not added.pending
        assert len(added.pending) == len(xs) - 101
        assert added.counts == observed.counts and not added.pending
        assert added.count == observed.count and added.max == observed.max
        assert added.sum == pytest.approx(observed.sum)


def test_folds_from_two_threads_count_every_sample_once() -> None:
    """A server thread adds and folds while another thread reads (folds too)."""
    h = Histogram()
    n = 100_000

    def server() -> None:
        for _ in range(n):
            h.add(0.001)
            if len(h.pending) >= BACKLOG:
                h.fold()

    thread = threading.Thread(target=server)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        thread.start()
        while thread.is_alive():
            assert h.count <= n
        thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert h.count == n and h.counts[PACING_ERROR_BUCKETS.index(0.001)] == n


@pytest.mark.anyio
async def test_a_long_stream_keeps_no_more_than_the_backlog_uncounted() -> None:
    """On the heap, a token at a time (the pump's steady state): the samples it keeps for
    the histograms are counted whenever BACKLOG of them wait."""
    clock = FakeClock()
    sched = HeapScheduler(asyncio.get_running_loop(), clock)
    errors, itl = Histogram(), Histogram(LATENCY_BUCKETS)
    p = Pacing(clock.now, 0.001, 0.001, clock=clock, scheduler=sched, errors=errors,
               itl_sink=itl)
    kept: list[int] = []
    real = errors.add

    def add(x: float) -> None:
        real(x)
        kept.append(max(len(errors.pending), len(itl.pending)))

    errors.add = add
    task = asyncio.ensure_future(run(p, clock, 3 * BACKLOG))
    while not task.done():
        while sched._heap:  # every token on time, one at a time
            clock.now = sched._heap[0][0]
            sched._fire()
        await asyncio.sleep(0)
    assert len(token_times(await task)) == 3 * BACKLOG
    assert len(kept) == 3 * BACKLOG and max(kept) <= BACKLOG
    assert errors.count == 3 * BACKLOG and itl.count == 3 * BACKLOG - 1


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["sleep", "heap"])
async def test_real_schedulers_wake_every_stream_never_early(kind: str) -> None:
    loop = asyncio.get_running_loop()
    sched = HeapScheduler(loop) if kind == "heap" else SleepScheduler()
    now = time.monotonic()
    woke: list[int] = []

    async def one(i: int, deadline: float) -> None:
        await sched.sleep_until(deadline)
        assert time.monotonic() >= deadline  # never early
        woke.append(i)

    deadlines = [now + 0.002 * ((i * 7) % 10) for i in range(30)]
    await asyncio.gather(*(one(i, d) for i, d in enumerate(deadlines)))
    assert sorted(woke) == list(range(30))  # (order is not asserted: a stalled CI machine
    # may find several deadlines passed at once)


@contextlib.contextmanager
def serve(loop: str) -> Iterator[tuple[uvicorn.Server, str]]:
    config = uvicorn.Config(build_app(test_context()), host="127.0.0.1", port=0, loop=loop,
                            log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield server, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_accepted_sockets_have_tcp_nodelay(loop: str) -> None:
    """Both loops set TCP_NODELAY on accepted TCP sockets; checked on a live stream."""
    with serve(loop) as (server, url), httpx.Client(timeout=60) as client:
        body = {"model": "gpt-4o-mini", "stream": True, "max_tokens": 3,
                "messages": [{"role": "user", "content": "hi"}]}
        with client.stream("POST", url + "/v1/chat/completions", json=body,
                           headers={"x-mockllm-latency-ms": "ttft=200,itl=50"}) as response:
            flags = []
            for proto in list(server.server_state.connections):
                sock = proto.transport.get_extra_info("socket")  # type: ignore[attr-defined]
                flags.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            chunks = list(response.iter_lines())
    assert flags and all(flags), flags
    assert chunks[-2] == "data: [DONE]"


def test_batched_catch_up_frames_parse_with_the_sdk_stream_helpers(tmp_path: Any) -> None:
    """ITL 0.05 ms: most tokens are overdue by the time the previous write is done, so they
    leave several per write. The SDKs' stream helpers must see every event all the same."""
    import anthropic
    import openai

    from mockllm.testing import run_server

    path = tmp_path / "fast.yaml"
    path.write_text("models: [{id: m}]\n"
                    "defaults: {latency: {ttft_ms: 5, itl_ms: 0.05}, "
                    "respond: {generate: {tokens: 200}}}\n")
    with run_server(test_context(config_path=str(path))) as live:
        client = openai.OpenAI(base_url=live.openai_url, api_key="k", max_retries=0)
        with client.chat.completions.stream(
            model="m", messages=[{"role": "user", "content": "hi"}],
            stream_options={"include_usage": True},
        ) as stream:
            pieces = [e.delta for e in stream if e.type == "content.delta" and e.delta]
            final = stream.get_final_completion()
        assert len(pieces) == 200
        assert final.usage is not None and final.usage.completion_tokens == 200
        assert final.choices[0].message.content == "".join(pieces)

        claude = anthropic.Anthropic(base_url=live.url, api_key="k", max_retries=0)
        with claude.messages.stream(model="m", max_tokens=200,
                                    messages=[{"role": "user", "content": "hi"}]) as astream:
            text = "".join(astream.text_stream)
            message = astream.get_final_message()
        assert message.usage.output_tokens == 200
        assert message.content[0].type == "text" and message.content[0].text == text
        errors = live.context.timing.pacing_errors
        assert errors.count == 400  # every token of both streams was measured
