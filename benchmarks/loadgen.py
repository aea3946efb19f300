"""Bundled closed-loop load generator, used only when ``wrk`` is not installed.

Same model as wrk: ``connections`` keep-alive connections, each sending the next request as
soon as the previous response is complete, for ``duration`` seconds. Its result dict has the
same keys as :func:`benchmarks.wrk_driver.run_wrk`, so reports do not care which tool ran.

Standalone: ``python -m benchmarks.loadgen --port 8001 --stream --duration 5``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from benchmarks.rawhttp import build_request, chat_body, connect, install_uvloop, percentile


async def closed_loop(
    host: str,
    port: int,
    payload: bytes,
    connections: int,
    duration: float,
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    non2xx = 0
    frames = 0
    tokens = 0
    deadline = 0.0

    async def worker() -> None:
        nonlocal errors, non2xx, frames, tokens
        try:
            conn = await connect(host, port)
        except OSError:
            errors += 1
            return
        try:
            while time.perf_counter() < deadline:
                try:
                    reply = await asyncio.wait_for(conn.send(payload), 10)
                except (TimeoutError, OSError, ConnectionError):
                    errors += 1
                    conn.close()
                    conn = await connect(host, port)
                    continue
                latencies.append(reply.finished - reply.started)
                frames += reply.frames
                tokens += reply.tokens
                if not 200 <= reply.status < 300:
                    non2xx += 1
        finally:
            conn.close()

    start = time.perf_counter()
    deadline = start + duration
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    n = len(latencies)
    return {
        "tool": "loadgen",
        "requests": n,
        "duration_s": elapsed,
        "rps": n / elapsed if elapsed else 0.0,
        "errors": errors,
        "non2xx": non2xx,
        "frames": frames,
        "tokens": tokens,
        "latency_ms": {
            "mean": 1000 * sum(latencies) / n if n else float("nan"),
            "p50": 1000 * percentile(latencies, 50),
            "p90": 1000 * percentile(latencies, 90),
            "p99": 1000 * percentile(latencies, 99),
            "max": 1000 * latencies[-1] if n else float("nan"),
        },
    }


def run_loadgen(
    host: str,
    port: int,
    body: bytes,
    connections: int,
    duration: float,
    path: str = "/v1/chat/completions",
) -> dict[str, Any]:
    payload = build_request(host, port, path, body)
    return asyncio.run(closed_loop(host, port, payload, connections, duration))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="closed-loop HTTP/1.1 load generator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--model", default="gpt-4o-mini")
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args(argv)
    install_uvloop()
    body = chat_body(args.model, args.stream, args.max_tokens)
    result = run_loadgen(args.host, args.port, body, args.connections, args.duration)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
