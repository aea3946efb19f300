"""The measured phases. Each takes a started server (or a spec) and returns a plain dict."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import promtext
from benchmarks.loadgen import run_loadgen
from benchmarks.procs import CLIENT_CORE, Server, ServerSpec, pin_prefix
from benchmarks.rawhttp import (
    HttpConnection,
    Reply,
    build_request,
    chat_body,
    connect,
    fetch,
    percentile,
)
from benchmarks.wrk_driver import run_wrk

CHAT_PATH = "/v1/chat/completions"


def latency_header(name: str, ttft_ms: float, itl_ms: float) -> dict[str, str]:
    return {name: f"ttft={ttft_ms:g},itl={itl_ms:g}"} if name else {}


def verify(server: Server, stream_tokens: int) -> dict[str, Any]:
    """One chat and one stream request: what a single answer looks like (sizes, frames)."""

    async def check() -> dict[str, Any]:
        model = server.spec.model
        chat = await fetch(server.host, server.port, CHAT_PATH, chat_body(model, False, 64))
        stream = await fetch(
            server.host, server.port, CHAT_PATH, chat_body(model, True, stream_tokens)
        )
        return {
            "chat_status": chat.status,
            "chat_body_bytes": chat.body_bytes,
            "stream_status": stream.status,
            "stream_frames": stream.frames,
            "stream_tokens": stream.tokens,
            "stream_body_bytes": stream.body_bytes,
        }

    return asyncio.run(check())


def throughput(
    server: Server,
    mode: str,
    *,
    wrk: str | None,
    connections: int,
    duration: float,
    max_tokens: int,
    pin: bool,
) -> dict[str, Any]:
    """Closed-loop load on one server: wrk on the client core, else the bundled loadgen."""
    model = server.spec.model
    wall0, cpu0, wait0 = time.perf_counter(), server.cpu_s(), server.runqueue_wait_s()
    if wrk:
        url = f"http://{server.host}:{server.port}{CHAT_PATH}"
        result = run_wrk(
            wrk, url, mode, model, max_tokens, connections, duration, pin_prefix(CLIENT_CORE, pin)
        )
    else:
        body = chat_body(model, mode == "stream", max_tokens)
        result = run_loadgen(server.host, server.port, body, connections, duration)
    # Below ~0.9 the server was not the bottleneck (client limit, or a noisy neighbour on
    # its core); such a run says little about the server.
    wall = time.perf_counter() - wall0
    result["server_cpu_fraction"] = round((server.cpu_s() - cpu0) / wall, 3)
    result["server_runqueue_fraction"] = round((server.runqueue_wait_s() - wait0) / wall, 3)
    result["rss_kb_after"] = server.rss_kb()
    return result


def startup(spec: ServerSpec, log_dir: Path, pin: bool, trials: int) -> dict[str, Any]:
    """Spawn -> first answered chat request, polled every 10 ms; fresh process per trial."""
    times = []
    for _ in range(trials):
        server = Server(spec, log_dir, pin)
        with server:
            times.append(server.wait_ready())
    times.sort()
    return {"trials_s": times, "median_s": percentile(times, 50), "max_s": times[-1]}


def latency_config(model: str, ttft_ms: float, itl_ms: float) -> str:
    """A minimal mockllm config whose default latency is the one asked for (header fallback)."""
    return (
        "# written by benchmarks/run.py: server-side pacing when the header is not honoured\n"
        f"models:\n  - {{id: {model}, provider: openai}}\n"
        f"defaults:\n  latency: {{ttft_ms: {ttft_ms:g}, itl_ms: {itl_ms:g}}}\n"
    )


def probe_pacing(server: Server, ttft_ms: float, itl_ms: float, header_name: str) -> str | None:
    """None if a 3-token stream arrives paced (>= half the asked TTFT/ITL), else why not."""
    headers = latency_header(header_name, ttft_ms, itl_ms)
    body = chat_body(server.spec.model, True, 3)
    payload = build_request(server.host, server.port, CHAT_PATH, body, headers)

    async def go() -> str | None:
        conn = await connect(server.host, server.port, record_tokens=True)
        try:
            reply = await asyncio.wait_for(conn.send(payload), 10 + (ttft_ms + 3 * itl_ms) / 1000)
        finally:
            conn.close()
        if reply.status != 200 or len(reply.token_times) < 2:
            return f"probe stream: status {reply.status}, {len(reply.token_times)} tokens"
        ttft = reply.token_times[0] - reply.started
        itl = reply.token_times[1] - reply.token_times[0]
        if ttft < ttft_ms / 2000 or itl < itl_ms / 2000:
            return f"not paced: TTFT {ttft * 1000:.1f} ms, ITL {itl * 1000:.1f} ms"
        return None

    return asyncio.run(go())


async def _connect_many(
    host: str, port: int, count: int, parallel: int, record: bool
) -> tuple[list[HttpConnection], int]:
    """Connect ``count`` sockets, at most ``parallel`` handshakes at once (listen backlog)."""
    conns: list[HttpConnection] = []
    failures = 0
    gate = asyncio.Semaphore(parallel)

    async def one() -> None:
        nonlocal failures
        async with gate:
            try:
                conns.append(await asyncio.wait_for(connect(host, port, record), 30))
            except (TimeoutError, OSError):
                failures += 1

    await asyncio.gather(*(one() for _ in range(count)))
    return conns, failures


def idle_streams(
    server: Server,
    *,
    count: int,
    itl_ms: float,
    hold_s: float,
    header_name: str,
    tokens: int = 600,
) -> dict[str, Any]:
    """RSS growth while ``count`` streams sit open between slow (``itl_ms``) tokens."""
    headers = latency_header(header_name, 0, itl_ms)
    body = chat_body(server.spec.model, True, tokens)
    payload = build_request(server.host, server.port, CHAT_PATH, body, headers)

    async def go() -> dict[str, Any]:
        # Warm the streaming path once so lazily-built state is not billed to the streams.
        warm = await connect(server.host, server.port)
        warm.start(payload)
        await asyncio.wait_for(_first_token(warm), 10)
        warm.close()
        await asyncio.sleep(1.0)
        rss_before = server.rss_kb()
        t0 = time.perf_counter()
        conns, failures = await _connect_many(server.host, server.port, count, 256, False)
        replies = [conn.start(payload) for conn in conns]
        opened = await _count_first_tokens(conns, timeout=60)
        open_s = time.perf_counter() - t0
        await asyncio.sleep(hold_s)
        samples = [server.rss_kb()]
        for _ in range(4):
            await asyncio.sleep(0.25)
            samples.append(server.rss_kb())
        rss_open = max(samples)
        ended_early = sum(1 for r in replies if r.done())
        for conn in conns:
            conn.close()
        grown = rss_open - rss_before
        return {
            "requested": count,
            "open": opened,
            "connect_failures": failures,
            "ended_early": ended_early,
            "seconds_to_open": open_s,
            "rss_before_kb": rss_before,
            "rss_open_kb": rss_open,
            "kb_per_stream": grown / opened if opened else float("nan"),
            "mb_per_1000_streams": grown / opened * 1000 / 1024 if opened else float("nan"),
        }

    return asyncio.run(go())


async def _first_token(conn: HttpConnection) -> None:
    assert conn.first_token is not None
    await conn.first_token


async def _count_first_tokens(conns: list[HttpConnection], timeout: float) -> int:
    """How many streams delivered a first token within ``timeout`` (stragglers not counted)."""
    if not conns:
        return 0
    tasks = [asyncio.ensure_future(_first_token(c)) for c in conns]
    done, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:
        task.cancel()
    return sum(1 for t in done if not t.cancelled() and t.exception() is None)


def pacing(
    server: Server,
    *,
    count: int,
    ttft_ms: float,
    itl_ms: float,
    tokens: int,
    header_name: str,
    metrics_path: str = "/metrics",
    metric: str = "mockllm_pacing_error_seconds",
) -> dict[str, Any]:
    """Client-side pacing error of ``count`` concurrent paced streams, plus the server's view.

    error(i) = arrival of token frame i - (request write + TTFT + i * ITL). The client is one
    Python process on one core, so at high aggregate token rates part of the error is the
    client's own; run the same phase against the paced baseline to see that floor.
    """
    headers = latency_header(header_name, ttft_ms, itl_ms)
    body = chat_body(server.spec.model, True, tokens)
    payload = build_request(server.host, server.port, CHAT_PATH, body, headers)
    ttft, itl = ttft_ms / 1000, itl_ms / 1000

    async def scrape() -> dict[str, promtext.Histogram] | None:
        try:
            reply = await fetch(server.host, server.port, metrics_path)
        except (TimeoutError, OSError):
            return None
        if reply.status != 200:
            return None
        return promtext.histograms(reply.body.decode("utf-8", "replace"), metric)

    async def go() -> dict[str, Any]:
        # One stream first: the first request on a fresh server pays for lazy imports/caches.
        warm = await connect(server.host, server.port)
        await asyncio.wait_for(warm.send(payload), 30)
        warm.close()
        before = await scrape()
        # Connect first, then fire every request back to back: the burst is the test.
        conns, failures = await _connect_many(server.host, server.port, count, 256, True)
        wall0, client0, server0 = time.perf_counter(), time.process_time(), server.cpu_s()
        replies = [conn.start(payload) for conn in conns]
        done = await asyncio.gather(*replies, return_exceptions=True)
        wall = time.perf_counter() - wall0
        # A core near 100% busy means that side, not pacing logic, explains the error.
        busy = {
            "wall_s": round(wall, 3),
            "client_cpu_fraction": round((time.process_time() - client0) / wall, 3),
            "server_cpu_fraction": round((server.cpu_s() - server0) / wall, 3),
        }
        for conn in conns:
            conn.close()
        errors: list[float] = []
        # Split of the same error: token 0 alone (request queueing in the burst + TTFT), and
        # token i relative to token 0 (the ITL schedule itself).
        first: list[float] = []
        relative: list[float] = []
        short = bad = 0
        for reply in done:
            if not isinstance(reply, Reply) or reply.status != 200:
                bad += 1
                continue
            if reply.tokens != tokens:
                short += 1
            due = reply.started + ttft
            times = reply.token_times
            errors.extend(t - (due + i * itl) for i, t in enumerate(times))
            if times:
                first.append(times[0] - due)
                relative.extend(t - (times[0] + i * itl) for i, t in enumerate(times) if i)
        after = await scrape()
        return {
            "streams": count,
            "ttft_ms": ttft_ms,
            "itl_ms": itl_ms,
            "tokens": tokens,
            "failed_streams": bad + failures,
            "streams_with_wrong_token_count": short,
            "client": _summary_ms(errors),
            "client_first_token": _summary_ms(first),
            "client_relative_to_first_token": _summary_ms(relative),
            "cpu": busy,
            "server_histogram": _server_view(before, after, metric),
        }

    return asyncio.run(go())


def _summary_ms(values: list[float]) -> dict[str, float | int]:
    values.sort()
    n = len(values)
    ms: Callable[[float], float] = lambda v: round(v * 1000, 3)  # noqa: E731
    return {
        "samples": n,
        "mean_ms": ms(sum(values) / n) if n else float("nan"),
        "p50_ms": ms(percentile(values, 50)),
        "p99_ms": ms(percentile(values, 99)),
        "max_ms": ms(values[-1]) if n else float("nan"),
    }


def _server_view(
    before: dict[str, promtext.Histogram] | None,
    after: dict[str, promtext.Histogram] | None,
    metric: str,
) -> dict[str, Any]:
    if after is None:
        return {"available": False, "reason": "GET /metrics did not answer 200"}
    if metric not in after:
        return {"available": False, "reason": f"no histogram named {metric}"}
    hist = after[metric]
    if before and metric in before:
        hist = hist.minus(before[metric])  # only this phase's observations
    return {
        "available": True,
        "count": hist.count,
        "mean_ms": 1000 * hist.sum / hist.count if hist.count else float("nan"),
        "p50_ms": 1000 * hist.quantile(0.50),
        "p99_ms": 1000 * hist.quantile(0.99),
    }
