"""Memory soak (issue 16): does one worker's RSS level off under days-of-traffic shapes?

One ``mockllm serve`` process gets ``--count`` mixed requests, every one different from the
last so no cache is ever warm by luck: chat with distinct seeds and long outputs, embeddings
with distinct inputs, Responses with ``store: true`` (the default), and streamed chat. RSS
(VmRSS) is read after the warm-up (by then every cache and store is at its budget,
``server.memory``) and at the end; the growth between the two is the figure, target < 20 MB.

    python -m benchmarks.soak                       # 100,000 requests, ~10-20 min
    python -m benchmarks.soak --count 5000          # a quick look (figures not comparable)
    python -m benchmarks.soak --json out.json

Run it on a quiet machine (``uptime`` load < 1).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from benchmarks.procs import free_port, wait_healthy

TARGET_MB = 20.0
FAST = {"x-mockllm-latency-ms": "ttft=0,itl=0"}
KINDS = ("chat", "embeddings", "responses", "stream")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def request(i: int) -> tuple[str, dict[str, object]]:
    """The i-th request: kinds in turn, each with its own seed or input."""
    kind = KINDS[i % len(KINDS)]
    if kind == "chat":
        return "/v1/chat/completions", {
            "model": "gpt-4o", "seed": i, "max_tokens": 2000 + i % 2000, "ignore_eos": True,
            "messages": [{"role": "user", "content": f"tell me a long story, number {i}"}]}
    if kind == "embeddings":
        return "/v1/embeddings", {
            "model": "text-embedding-3-small",
            "input": [f"passage {i}-{j} about river {i % 977} and city {j}" for j in range(4)]}
    if kind == "responses":
        return "/v1/responses", {"model": "gpt-4o", "input": f"question {i}: explain tides",
                                 "max_output_tokens": 1000, "ignore_eos": True}
    return "/v1/chat/completions", {
        "model": "gpt-4o", "seed": i, "max_tokens": 500, "ignore_eos": True, "stream": True,
        "messages": [{"role": "user", "content": f"stream number {i}"}]}


async def _one(client: httpx.AsyncClient, i: int) -> None:
    path, body = request(i)
    if body.get("stream"):
        async with client.stream("POST", path, json=body, headers=FAST) as r:
            async for _ in r.aiter_bytes():
                pass
            r.raise_for_status()
        return
    r = await client.post(path, json=body, headers=FAST)
    r.raise_for_status()


async def drive(base: str, start: int, stop: int, concurrency: int) -> None:
    """Requests ``start`` to ``stop`` over ``concurrency`` keep-alive connections."""
    nxt = start

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal nxt
        while nxt < stop:
            i, nxt = nxt, nxt + 1
            await _one(client, i)

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.soak",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=100_000, help="requests in all")
    ap.add_argument("--warmup", type=int, default=0,
                    help="requests before the first RSS reading (default: a fifth of --count)")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--json", default="", help="also write the figures to this file")
    args = ap.parse_args(argv)
    warmup = args.warmup or args.count // 5
    port = free_port()
    env = {**os.environ, "MOCKLLM_DISABLE_PLUGIN_AUTOLOAD": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "mockllm", "serve", "--host", "127.0.0.1",
                             "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(proc, port, timeout=60)
        start_mb = rss_mb(proc.pid)
        t0 = time.perf_counter()
        asyncio.run(drive(base, 0, warmup, args.concurrency))
        warm_mb = rss_mb(proc.pid)
        samples = [(warmup, round(warm_mb, 1))]
        step = max((args.count - warmup) // 8, 1)
        for lo in range(warmup, args.count, step):
            asyncio.run(drive(base, lo, min(lo + step, args.count), args.concurrency))
            samples.append((min(lo + step, args.count), round(rss_mb(proc.pid), 1)))
            print(f"  {samples[-1][0]:>7} requests: RSS {samples[-1][1]} MB", flush=True)
        end_mb = rss_mb(proc.pid)
        took = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    growth = end_mb - warm_mb
    out = {"count": args.count, "warmup": warmup, "seconds": round(took, 1),
           "rss_start_mb": round(start_mb, 1), "rss_after_warmup_mb": round(warm_mb, 1),
           "rss_end_mb": round(end_mb, 1), "growth_mb": round(growth, 1),
           "samples": samples, "load_average": round(os.getloadavg()[0], 2),
           "pass": growth < TARGET_MB}
    print(f"load average {out['load_average']} (figures need a quiet machine, < 1)")
    print(f"{args.count} requests in {out['seconds']} s: RSS {out['rss_start_mb']} MB at start, "
          f"{out['rss_after_warmup_mb']} MB after {warmup} (warm-up), {out['rss_end_mb']} MB "
          f"at the end: growth {out['growth_mb']} MB (target < {TARGET_MB:g} MB: "
          f"{'PASS' if out['pass'] else 'FAIL'})")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0 if out["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
