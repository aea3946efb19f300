"""What may a paced request and a token cost before a burst leaves issue 19's bounds?

The raw floor (``benchmarks/raw_pacer.py``) is run as it is and with extra CPU spun per
request (``--request-us``) and per write of tokens (``--token-us``), in interleaved rounds of
``benchmarks.pacing_bench``'s burst (1,000 streams, TTFT 100 ms, ITL 10 ms, 50 tokens). Each
variant's mean client TTFT error and server CPU per round are reported against the plain
floor's from the same rounds, so the table says how much per-request and per-token cost the
targets (TTFT error <= 3x the floor, CPU <= 1.5x) leave room for on this machine::

    python -m benchmarks.pacing_budget --rounds 3 --request-us 0,40,80,120,160 --token-us 0
    python -m benchmarks.pacing_budget --rounds 3 --request-us 0 --token-us 0,5,10

Each variant is a cross of the two lists. Compare with mockllm's own costs
(``benchmarks.paced_profile``: CPU per stream to the first token, and per later token).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import subprocess
import sys
from pathlib import Path

from benchmarks.pacing_bench import free_port, measure, run_client, run_round
from benchmarks.procs import wait_healthy

KEYS = ("client_ttft_mean_ms", "server_cpu_s", "client_after_first_p99_ms")


def start(args: argparse.Namespace, request_us: float, token_us: float
          ) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.raw_pacer", "--port", str(port),
         "--ttft", str(args.ttft), "--itl", str(args.itl), "--tokens", str(args.tokens),
         "--request-us", str(request_us), "--token-us", str(token_us)],
        cwd=Path(__file__).resolve().parent.parent)
    wait_healthy(proc, port)
    return proc, port


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--streams", type=int, default=1000)
    ap.add_argument("--ttft", type=float, default=100.0)
    ap.add_argument("--itl", type=float, default=10.0)
    ap.add_argument("--tokens", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--request-us", type=_floats, default=[0.0, 40.0, 80.0, 120.0, 160.0])
    ap.add_argument("--token-us", type=_floats, default=[0.0])
    ap.add_argument("--scheduler", default="heap")  # read by pacing_bench.measure
    args = ap.parse_args(argv)
    variants = [(0.0, 0.0)] + [v for v in itertools.product(args.request_us, args.token_us)
                               if v != (0.0, 0.0)]
    servers = []
    rows: dict[tuple[float, float], list[dict[str, float | str]]] = {v: [] for v in variants}
    try:
        for v in variants:
            servers.append((v, *start(args, *v)))
        for _, _, port in servers:
            run_client(run_round(port, 10, args.tokens))  # warm up
        for r in range(args.rounds):
            for v, proc, port in servers:
                rows[v].append(measure("raw", proc, port, args))
                row = rows[v][-1]
                print(f"round {r + 1} request_us={v[0]:g} token_us={v[1]:g}: "
                      + ", ".join(f"{k} {float(row[k]):.3f}" for k in KEYS), flush=True)
    finally:
        for _, proc, _ in servers:
            proc.terminate()
            proc.wait(10)
    med = {v: {k: statistics.median(float(x[k]) for x in rs) for k in KEYS}
           for v, rs in rows.items()}
    floor = med[(0.0, 0.0)]
    print("\n| request µs | token µs | TTFT error mean ms | vs floor | server CPU s | vs floor "
          "| after-first p99 ms | vs floor |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for v in variants:
        m = med[v]
        cells = []
        for k in KEYS:
            ratio = m[k] / floor[k] if floor[k] else float("nan")
            cells += [f"{m[k]:.3f}", f"{ratio:.2f}"]
        print(f"| {v[0]:g} | {v[1]:g} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
