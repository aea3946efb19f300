"""Pacing accuracy under load: N concurrent paced streams against one mockllm worker.

    python -m benchmarks.pacing_bench [--streams 1000] [--ttft 100] [--itl 10]
        [--tokens 50] [--scheduler sleep|heap] [--rounds 1] [--against raw|none]
        [--baseline PATH] [--pin]

Starts ``mockllm serve`` (one worker, uvicorn's default loop: uvloop when installed) as a
subprocess and, with ``--against raw`` (the default), the floor ``benchmarks.raw_pacer`` (the
same pacing algorithm with no framework at all), and measures them in alternating rounds,
so the ratio between the two is taken under the same machine load. Each round opens every
stream at once from a raw asyncio client (protocol callbacks on uvloop when installed, no
HTTP library, so the client stays cheap), and reports the pacing error two ways:

* server: the ``mockllm_pacing_error_seconds`` histogram from ``GET /metrics`` (send time
  minus due time of every token frame, as the server sees it), scraped before and after;
* client: for token i of a stream, arrival time minus (request sent + TTFT + i * ITL): what a
  load tester would see, including connection set-up, request parsing and the network stack.
  The client's share of the error is printed too (its own read-loop lag), because on a small
  machine the client and the server share the CPU. ``--pin`` keeps them apart: every
  server on the first CPU, the client on the last.

Not part of the test suite; results go in docs/latency.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from prometheus_client.parser import text_string_to_metric_families

from benchmarks.procs import wait_healthy

TOKEN = b'"delta":{"content":'
T = TypeVar("T")


@dataclass
class Stream:
    sent: float = 0.0
    arrivals: list[float] = field(default_factory=list)
    done: bool = False


class Client(asyncio.Protocol):
    """One HTTP/1.1 request; stamps the arrival time of every token frame."""

    def __init__(self, request: bytes, stream: Stream, finished: asyncio.Future[None]) -> None:
        self.request, self.stream, self.finished = request, stream, finished
        self.tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.stream.sent = time.monotonic()
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        buf = self.tail + data
        n = buf.count(TOKEN)
        if n:
            self.stream.arrivals.extend([now] * n)
        self.tail = buf[-(len(TOKEN) - 1) :]
        if b"data: [DONE]" in buf or b"\r\n0\r\n\r\n" in buf:
            self.stream.done = True
            if not self.finished.done():
                self.finished.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.finished.done():
            self.finished.set_result(None)


def request_bytes(port: int, tokens: int) -> bytes:
    body = json.dumps(
        {
            "model": "bench",
            "stream": True,
            "max_tokens": tokens,
            "ignore_eos": True,
            "messages": [{"role": "user", "content": "hi"}],
        }
    )
    return (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"Connection: close\r\n\r\n{body}"
    ).encode()


async def run_round(port: int, streams: int, tokens: int) -> tuple[list[Stream], float]:
    loop = asyncio.get_running_loop()
    req = request_bytes(port, tokens)
    records = [Stream() for _ in range(streams)]
    futures: list[asyncio.Future[None]] = []
    lag: list[float] = []
    stop = False

    async def probe() -> None:  # how late the client's own loop runs a 1 ms timer
        while not stop:
            t = time.monotonic()
            await asyncio.sleep(0.001)
            lag.append(time.monotonic() - t - 0.001)

    probe_task = asyncio.ensure_future(probe())
    for rec in records:
        fut = loop.create_future()
        futures.append(fut)
        await loop.create_connection(lambda r=rec, f=fut: Client(req, r, f), "127.0.0.1", port)
    await asyncio.wait_for(asyncio.gather(*futures), timeout=120)
    stop = True
    await probe_task
    return records, (statistics.quantiles(lag, n=100)[98] if len(lag) > 2 else 0.0)


def pacing_histogram(port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "mockllm_pacing_error_seconds":
            continue
        for s in family.samples:
            key = s.labels.get("le", s.name.rsplit("_", 1)[-1])
            out[key] = s.value
    return out


def histogram_stats(
    before: dict[str, float], after: dict[str, float]
) -> tuple[float, float, float]:
    delta = {k: after[k] - before.get(k, 0.0) for k in after}
    count, total = delta.get("count", 0.0), delta.get("sum", 0.0)
    bounds = sorted((float(k), v) for k, v in delta.items() if k not in ("count", "sum"))
    rank, lower, lower_n, p99 = 0.99 * count, 0.0, 0.0, float("nan")
    for le, n in bounds:
        if n >= rank:
            p99 = (
                lower
                if le == float("inf")
                else lower
                + (le - lower) * ((rank - lower_n) / (n - lower_n) if n > lower_n else 1.0)
            )
            break
        lower, lower_n = le, n
    return count, (total / count if count else float("nan")), p99


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), to tell CPU-bound from starved."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _preexec(args: argparse.Namespace) -> Callable[[], None] | None:
    """What a server process does before it starts: ``--server-nice``, and with ``--pin`` the
    first CPU (the client takes the last one)."""
    nice, cpu = args.server_nice, getattr(args, "server_cpu", None)
    if not nice and cpu is None:
        return None

    def run() -> None:
        if nice:
            os.nice(nice)
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})

    return run


def start_raw(args: argparse.Namespace, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.raw_pacer", "--port", str(port),
         "--ttft", str(args.ttft), "--itl", str(args.itl), "--tokens", str(args.tokens)],
        cwd=Path(__file__).resolve().parent.parent,
        preexec_fn=_preexec(args),
    )
    wait_healthy(proc, port)
    return proc


def start_server(args: argparse.Namespace, port: int, source: str | None = None
                 ) -> subprocess.Popen[bytes]:
    """``mockllm serve`` on ``port``; ``source``: a checkout whose ``mockllm`` (first on
    ``PYTHONPATH``) is served instead of the installed one."""
    config = (
        "models: [{id: bench, tokenizer: cl100k_base}]\n"
        f"defaults: {{latency: {{ttft_ms: {args.ttft}, itl_ms: {args.itl}}}, "
        f"respond: {{generate: {{tokens: {args.tokens}}}}}}}\n"
    )
    path = Path(tempfile.mkdtemp()) / "pacing.yaml"
    path.write_text(config)
    env = dict(
        os.environ, MOCKLLM_PACING_SCHEDULER=args.scheduler, MOCKLLM_DISABLE_PLUGIN_AUTOLOAD="1"
    )
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (source, env.get("PYTHONPATH"))))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mockllm",
            "serve",
            "--config",
            str(path),
            "--port",
            str(port),
            "--log-level",
            "warning",
            *(["--http", args.http] if args.http else []),
        ],
        env=env,
        # ``-m`` puts the working directory first on sys.path, before PYTHONPATH
        cwd=source,
        # --server-nice N (root only for N < 0): shield the server from other load on a
        # shared machine, so the figures show mockllm rather than its neighbours.
        preexec_fn=_preexec(args),
    )
    wait_healthy(proc, port)
    return proc


def report(records: list[Stream], args: argparse.Namespace) -> dict[str, float]:
    ttft, itl = args.ttft / 1000, args.itl / 1000
    errors, ttft_errors, relative = [], [], []
    incomplete = 0
    for rec in records:
        if len(rec.arrivals) != args.tokens:
            incomplete += 1
        for i, t in enumerate(rec.arrivals):
            err = t - (rec.sent + ttft + i * itl)
            errors.append(err)
            if i == 0:
                ttft_errors.append(err)
            else:  # against the stream's own first token: the ITL schedule alone
                relative.append(t - (rec.arrivals[0] + i * itl))
    q = _quantiles(errors)
    r = _quantiles(relative)
    return {
        "tokens": len(errors),
        "incomplete_streams": incomplete,
        "mean_ms": statistics.fmean(errors) * 1000,
        "p50_ms": q[49] * 1000,
        "p99_ms": q[98] * 1000,
        "max_ms": max(errors) * 1000,
        "ttft_mean_ms": statistics.fmean(ttft_errors) * 1000,
        "ttft_p99_ms": _quantiles(ttft_errors)[98] * 1000,
        "after_first_mean_ms": statistics.fmean(relative) * 1000 if relative else 0.0,
        "after_first_p99_ms": r[98] * 1000,
    }


def _quantiles(xs: list[float]) -> list[float]:
    return statistics.quantiles(xs, n=100) if len(xs) > 2 else [float("nan")] * 99


def measure(name: str, proc: subprocess.Popen[bytes], port: int,
            args: argparse.Namespace) -> dict[str, float | str]:
    """One round against one server: its histogram, the client's view, both CPUs."""
    before = pacing_histogram(port)
    cpu0, wall0 = cpu_seconds(proc.pid), time.monotonic()
    client0 = client_cpu()
    records, client_lag = run_client(run_round(port, args.streams, args.tokens))
    cpu, wall = cpu_seconds(proc.pid) - cpu0, time.monotonic() - wall0
    client_cpu_s = client_cpu() - client0
    time.sleep(0.2)  # let the server finish observing
    count, mean, p99 = histogram_stats(before, pacing_histogram(port))
    client = report(records, args)
    return {
        "server": name,
        "scheduler": args.scheduler if name != "raw" else "-",
        "streams": args.streams,
        "server_tokens": count,
        "server_mean_ms": mean * 1000,
        "server_p99_ms": p99 * 1000,
        "server_cpu_s": cpu,
        "round_wall_s": wall,
        "client_cpu_s": client_cpu_s,
        "client_loop_lag_p99_ms": client_lag * 1000,
        **{f"client_{k}": v for k, v in client.items()},
    }


def client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_client(coro: Coroutine[Any, Any, T]) -> T:
    """uvloop when installed: the client shares the machine, so the cheaper the better."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def summary(rows: list[dict[str, float | str]]) -> dict[str, float]:
    """Medians per server and mockllm / raw ratios (> 1: mockllm is worse)."""
    keys = ("server_mean_ms", "server_p99_ms", "server_cpu_s", "client_after_first_p99_ms",
            "client_ttft_mean_ms")
    med = {
        (name, k): statistics.median(float(r[k]) for r in rows if r["server"] == name)
        for name in {str(r["server"]) for r in rows} for k in keys
    }
    out = {f"{name}_{k}": v for (name, k), v in med.items()}
    if ("raw", keys[0]) in med:
        for k in keys:
            raw = med[("raw", k)]
            out[f"ratio_{k}"] = med[("mockllm", k)] / raw if raw else float("nan")
            if ("baseline", k) in med:
                out[f"baseline_ratio_{k}"] = med[("baseline", k)] / raw if raw else float("nan")
    return out


def print_row(row: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(row), flush=True)
        return
    for k, v in row.items():
        print(f"{k:>34}: {v:.3f}" if isinstance(v, float) else f"{k:>34}: {v}")
    print(flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--ttft", type=float, default=100.0)
    parser.add_argument("--itl", type=float, default=10.0)
    parser.add_argument("--tokens", type=int, default=50)
    parser.add_argument("--scheduler", choices=["sleep", "heap"], default="heap")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--http", choices=["mockllm", "uvicorn"], default=None,
                        help="mockllm serve --http (default: the server's own default)")
    parser.add_argument("--against", choices=["raw", "none"], default="raw",
                        help="also measure benchmarks.raw_pacer, round for round")
    parser.add_argument("--server-nice", type=int, default=0,
                        help="nice increment for the server processes (negative needs root)")
    parser.add_argument("--json", action="store_true", help="one JSON line per round")
    parser.add_argument("--baseline", metavar="PATH", default=None,
                        help="also serve the mockllm of this checkout (say, `git archive` of "
                        "another commit), measured in the same alternating rounds")
    parser.add_argument("--pin", action="store_true",
                        help="every server on the first CPU, this client on the last (as "
                        "benchmarks.run pins the server and wrk): no round shares a core")
    args = parser.parse_args()
    if args.pin:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            parser.error("--pin needs two CPUs")
        args.server_cpu = cpus[0]
        os.sched_setaffinity(0, {cpus[-1]})
    servers: list[tuple[str, subprocess.Popen[bytes], int]] = []
    try:
        port = free_port()
        servers.append(("mockllm", start_server(args, port), port))
        if args.baseline:
            port = free_port()
            servers.append(("baseline", start_server(args, port, args.baseline), port))
        if args.against == "raw":
            port = free_port()
            servers.append(("raw", start_raw(args, port), port))
        for _, _, port in servers:
            run_client(run_round(port, 10, args.tokens))  # warm up
        rows = []
        for _ in range(args.rounds):
            for name, proc, port in servers:
                rows.append(measure(name, proc, port, args))
                print_row(rows[-1], args.json)
        print_row({"summary": "medians", **summary(rows)}, args.json)
    finally:
        for _, proc, _ in servers:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
