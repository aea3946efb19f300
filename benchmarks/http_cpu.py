"""Server CPU per request of ``mockllm serve`` on each of its HTTP servers (``--http
mockllm`` and ``--http uvicorn``), same commit, interleaved rounds.

CPU per request (the server process's utime + stime from /proc over the measured load,
divided by the requests answered) moves far less than requests per second when other
work shares the machine, which is why this is the figure to compare on a busy host. The
server is pinned to core 0 and wrk (-t1) to core 1, as in ``benchmarks.run``::

    python -m benchmarks.http_cpu --rounds 3 --duration 5 --servers baseline,uvicorn,mockllm
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import scenarios
from benchmarks.procs import Server, ServerSpec, pinning_available
from benchmarks.wrk_driver import find_wrk


def _spec(http: str) -> ServerSpec:
    if http == "baseline":  # the bare Starlette app under uvicorn (benchmarks/baseline_app.py)
        return ServerSpec(name="baseline", argv=[sys.executable, "-m", "benchmarks.baseline_app",
                                                 "--host", "{host}", "--port", "{port}"],
                          cwd=str(Path(__file__).resolve().parent.parent))
    return ServerSpec(name=f"mockllm-{http}",
                      argv=[sys.executable, "-m", "mockllm", "serve", "--http", http,
                            "--host", "{host}", "--port", "{port}"],
                      env={"MOCKLLM_DISABLE_PLUGIN_AUTOLOAD": "1"})


def measure(http: str, modes: list[str], args: argparse.Namespace, log_dir: Path,
            wrk: str | None, pin: bool) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    kw: dict[str, Any] = dict(wrk=wrk, connections=args.connections,
                              max_tokens=args.stream_tokens, pin=pin)
    with Server(_spec(http), log_dir, pin) as server:
        server.wait_ready()
        for mode in modes:
            if args.warmup > 0:
                scenarios.throughput(server, mode, duration=args.warmup, **kw)
            cpu0 = server.cpu_s()
            r = scenarios.throughput(server, mode, duration=args.duration, **kw)
            cpu = server.cpu_s() - cpu0
            bad = r["errors"] + r["non2xx"]
            out[mode] = {"rps": r["rps"], "requests": r["requests"], "bad": bad,
                         "cpu_us": cpu / max(1, r["requests"]) * 1e6,
                         "cpu_fraction": r["server_cpu_fraction"]}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--stream-tokens", type=int, default=64)
    ap.add_argument("--modes", default="chat,stream")
    ap.add_argument("--servers", default="uvicorn,mockllm",
                    help="comma-separated: uvicorn, mockllm (mockllm serve --http ...) and "
                         "baseline (the bare Starlette app)")
    ap.add_argument("--no-pin", action="store_true")
    args = ap.parse_args(argv)
    pin = pinning_available() and not args.no_pin
    wrk = find_wrk(False)
    modes = args.modes.split(",")
    servers = args.servers.split(",")
    log_dir = Path(tempfile.mkdtemp(prefix="mockllm-http-cpu-"))
    runs: dict[str, list[dict[str, dict[str, float]]]] = {s: [] for s in servers}
    for n in range(args.rounds):
        for http in servers:
            result = measure(http, modes, args, log_dir, wrk, pin)
            runs[http].append(result)
            for mode, r in result.items():
                print(f"round {n + 1} {http:8} {mode:6} {r['rps']:8.0f}/s  "
                      f"{r['cpu_us']:6.1f} us CPU/request  (server cpu {r['cpu_fraction']:.2f}"
                      f", {int(r['bad'])} errors)", flush=True)
    print(f"\nmedians of {args.rounds} rounds ({'wrk' if wrk else 'loadgen'}, "
          f"{'pinned' if pin else 'not pinned'}, {args.connections} connections)")
    print("| load | " + " | ".join(f"{s} us/req | {s} req/s" for s in servers) + " |")
    for mode in modes:
        cells = []
        for s in servers:
            cells.append(f"{statistics.median(r[mode]['cpu_us'] for r in runs[s]):.1f}")
            cells.append(f"{statistics.median(r[mode]['rps'] for r in runs[s]):.0f}")
        print(f"| {mode} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
