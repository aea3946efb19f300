"""The load model: slots, the bounded queue, refusals, the time factor, and queueing counted
in TTFT (fake clock), plus a live refusal in OpenAI's envelope through the SDK."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from pathlib import Path
from typing import Any

import openai
import pytest

from mockllm.engine.load import LoadModel
from mockllm.engine.schema import LoadConfig
from mockllm.errors import ApiError
from mockllm.histogram import LATENCY_BUCKETS, Histogram
from mockllm.pacing import Pacing
from mockllm.testing import run_server, test_context


class FakeClock:
    """Simulated time: sleepers wait in a heap; time jumps to the earliest deadline only when
    every task is blocked (a tiny discrete-event loop)."""

    def __init__(self) -> None:
        self.now = 0.0
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def __call__(self) -> float:
        return self.now

    def sleep_until(self, deadline: float) -> asyncio.Future[None]:
        fut = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, (deadline, next(self._seq), fut))
        return fut

    async def run(self, *coros: Any) -> None:
        tasks = [asyncio.ensure_future(c) for c in coros]
        while not all(t.done() for t in tasks):
            for _ in range(10):
                await asyncio.sleep(0)
            if self._heap:
                deadline, _, fut = heapq.heappop(self._heap)
                self.now = max(self.now, deadline)
                fut.set_result(None)
        await asyncio.gather(*tasks)


def test_slots_then_queue_then_refusal() -> None:
    load = LoadModel(LoadConfig(max_concurrent=2, queue_size=1, reject_status=503))
    a, b = load.admit(), load.admit()
    assert a.granted and b.granted and load.running == 2
    c = load.admit()
    assert not c.granted and load.waiting == 1
    with pytest.raises(ApiError) as err:
        load.admit()
    assert err.value.status == 503 and err.value.headers == {"retry-after": "1"}
    a.release()
    assert c.granted and load.running == 2 and load.waiting == 0
    a.release()  # a second release does nothing
    assert load.running == 2


def test_fifo_and_a_queued_request_that_leaves() -> None:
    load = LoadModel(LoadConfig(max_concurrent=1, queue_size=5))
    first = load.admit()
    q = [load.admit() for _ in range(3)]
    q[0].release()  # gave up while queued (client went away)
    assert load.waiting == 2
    first.release()
    assert [t.granted for t in q] == [False, True, False]
    q[1].release()
    assert q[2].granted and load.running == 1 and load.waiting == 0


def test_unbounded_load_only_counts() -> None:
    load = LoadModel(None)
    tickets = [load.admit(10) for _ in range(100)]
    assert all(t.granted for t in tickets) and load.running == 100
    assert load.factor() == 1.0 and load.kv_cache_usage() == 0.0


def test_time_factor_and_kv_cache_usage() -> None:
    load = LoadModel(LoadConfig(max_concurrent=5, time_factor_under_load=3.0,
                                kv_cache_tokens=1000))
    assert load.factor() == 1.0
    tickets = [load.admit(100) for _ in range(3)]
    assert load.factor() == pytest.approx(1.0 + 2.0 * 2 / 4)
    assert load.kv_cache_usage() == pytest.approx(0.3)
    tickets += [load.admit(100) for _ in range(2)]
    assert load.factor() == pytest.approx(3.0)
    plain = LoadModel(LoadConfig(max_concurrent=4))
    plain.admit()
    assert plain.kv_cache_usage() == pytest.approx(0.25)


@pytest.mark.anyio
async def test_queueing_counts_in_ttft_and_the_schedule_starts_at_the_slot() -> None:
    """max_concurrent 2, 5 requests at t=0, TTFT 100 ms, ITL 10 ms, 11 tokens (200 ms each):
    requests 3-4 start at 200 ms, request 5 at 400 ms; their first tokens follow 100 ms later."""
    clock = FakeClock()
    load = LoadModel(LoadConfig(max_concurrent=2, queue_size=10))
    first_tokens: dict[int, float] = {}
    queued = Histogram(LATENCY_BUCKETS)

    async def one(i: int) -> None:
        pacing = Pacing(0.0, 0.1, 0.01, load=load.admit(), clock=clock, scheduler=clock,
                        queue_sink=queued)
        await pacing.acquire()
        try:
            for tok in range(11):
                await pacing.wait(tok)
                if tok == 0:
                    first_tokens[i] = clock.now
        finally:
            pacing.release()

    await clock.run(*(one(i) for i in range(5)))
    ttfts = sorted(first_tokens.values())
    assert ttfts == pytest.approx([0.1, 0.1, 0.3, 0.3, 0.5])
    assert queued.count == 5 and queued.sum == pytest.approx(0.2 + 0.2 + 0.4)
    assert load.running == 0 and load.waiting == 0


@pytest.mark.anyio
async def test_non_streaming_wait_acquires_and_releases() -> None:
    clock = FakeClock()
    load = LoadModel(LoadConfig(max_concurrent=1))
    p = Pacing(0.0, 0.1, 0.01, load=load.admit(), clock=clock, scheduler=clock)
    await clock.run(p.wait_total(11))
    assert clock.now == pytest.approx(0.2) and load.running == 0


def test_a_dropped_plan_gives_its_slot_back() -> None:
    load = LoadModel(LoadConfig(max_concurrent=1))
    p: Any = Pacing(0.0, 0.1, load=load.admit())
    assert load.running == 1
    del p
    assert load.running == 0


def test_load_config_is_checked(tmp_path: Path) -> None:
    from mockllm.config import ConfigError

    path = tmp_path / "bad.yaml"
    path.write_text("models: [{id: m, load: {max_concurrent: 0, time_factor_under_load: 0.5}}]\n")
    with pytest.raises(ConfigError) as err:
        test_context(config_path=str(path))
    assert "models[0].load.max_concurrent: must be 1 or more" in str(err.value)
    assert "models[0].load.time_factor_under_load: must be 1 or more" in str(err.value)


def test_full_queue_is_a_429_in_openais_envelope(tmp_path: Path) -> None:
    import httpx

    path = tmp_path / "load.yaml"
    path.write_text(
        "models: [{id: busy, load: {max_concurrent: 1, queue_size: 0}}]\n"
        "defaults: {latency: {ttft_ms: 0, itl_ms: 1000}, respond: {generate: {tokens: 60}}}\n"
    )
    body = {"model": "busy", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with run_server(test_context(config_path=str(path))) as live, \
            httpx.Client(timeout=60) as http, \
            openai.OpenAI(base_url=live.openai_url, api_key="k", max_retries=0) as client:
        load = live.context.timing.loads["busy"]
        # The holder streams for a minute, so it holds the only slot for as long as the
        # test needs it, however slow the machine; closing it frees the slot.
        with http.stream("POST", live.openai_url + "/chat/completions", json=body) as holder:
            lines = holder.iter_lines()  # keep it: dropping the iterator closes the response
            next(lines)
            assert load.running == 1
            with pytest.raises(openai.RateLimitError) as err:
                client.chat.completions.create(model="busy",
                                               messages=[{"role": "user", "content": "hi"}])
        deadline = time.monotonic() + 60
        while load.running and time.monotonic() < deadline:
            time.sleep(0.005)
        assert err.value.status_code == 429
        assert err.value.response.headers["retry-after"] == "1"
        body = err.value.body
        assert isinstance(body, dict) and "overloaded" in body["message"]
        assert load.running == 0  # the holder gave its slot back


def test_a_client_that_leaves_frees_its_slot_and_its_queue_place(tmp_path: Path) -> None:
    import httpx

    path = tmp_path / "leave.yaml"
    path.write_text(
        "models: [{id: busy, load: {max_concurrent: 1, queue_size: 4}}]\n"
        "defaults: {latency: {ttft_ms: 50, itl_ms: 50}, respond: {generate: {tokens: 400}}}\n"
    )
    body = {"model": "busy", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with run_server(test_context(config_path=str(path))) as live, \
            httpx.Client(timeout=60) as client:
        load = live.context.timing.loads["busy"]

        def wait_for(cond: Any) -> None:
            deadline = time.monotonic() + 60
            while not cond() and time.monotonic() < deadline:
                time.sleep(0.005)
            assert cond()

        url = live.openai_url + "/chat/completions"
        with client.stream("POST", url, json=body) as first:
            lines = first.iter_lines()  # keep it: dropping the iterator closes the response
            next(lines)  # streaming: holds the only slot for 20 s
            with httpx.Client(timeout=60) as other, other.stream("POST", url, json=body):
                wait_for(lambda: load.waiting == 1)
            wait_for(lambda: load.waiting == 0)  # the queued client left
            assert load.running == 1
        wait_for(lambda: load.running == 0)  # the streaming client left


def test_a_reload_keeps_the_queue_of_an_unchanged_load_model(tmp_path: Path) -> None:
    from mockllm.config import load_file

    path = tmp_path / "r.yaml"
    path.write_text("models: [{id: a, load: {max_concurrent: 2}}, {id: b, load: "
                    "{max_concurrent: 2}}]\n")
    ctx = test_context(config_path=str(path))
    a, b = ctx.timing.loads["a"], ctx.timing.loads["b"]
    a.admit()
    path.write_text("models: [{id: a, load: {max_concurrent: 2}}, {id: b, load: "
                    "{max_concurrent: 3}}]\n")
    ctx.apply_config(load_file(path))
    assert ctx.engine.timing is not None
    assert ctx.engine.timing.loads["a"] is a and a.running == 1  # same slots, same queue
    assert ctx.engine.timing.loads["b"] is not b  # a new limit: a new model
    assert ctx.engine.timing.loads["b"].max_concurrent == 3
