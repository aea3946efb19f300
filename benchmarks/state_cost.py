"""What sharing the state costs: req/s per server CPU-second, memory vs --workers 2 vs Redis.

Each mode is one `mockllm serve` (its supervisor, workers and, for Redis, the redis-server
all counted as server CPU, read from /proc before and after each run), driven by the
bundled closed-loop load generator (on uvloop) with the same connections and duration,
rounds interleaved so a busy machine hurts every mode alike. Modes:

- ``memory``: one worker, ``state: memory`` (the reference);
- ``unshared2``: two uvicorn workers each with its own memory state
  (``benchmarks.unshared_workers``; not one server). It is what two processes cost
  whatever the state: ``workers2`` over ``unshared2`` is the shared state's own share;
- ``workers2``: ``--workers 2`` (the embedded store in a thread of the supervisor);
- ``redis``: one worker on ``state: redis://`` (the redis-server's CPU counted too).

The per-role columns split each mode's CPU per request into the process ``serve`` started
(one worker's, or the supervisor's with the embedded store), its children (the workers) and
the redis-server. Workloads:

- ``chat``: non-stream chat on the embedded defaults (no rule: no store round trip; the
  journal goes in batches);
- ``chat-seq``: non-stream chat answered by a sequence rule (one exact count per request:
  the round trip the shared modes cannot batch);
- ``stream64``: 64-token streams (the journal entry is one per stream, never per token).

    python -m benchmarks.state_cost [--duration 3] [--rounds 2] [--connections 16]

Needs ``redis-server`` on PATH (Debian's package) for the Redis mode.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.loadgen import run_loadgen
from benchmarks.procs import free_port, wait_healthy
from benchmarks.rawhttp import chat_body, install_uvloop

_TICK = os.sysconf("SC_CLK_TCK")

CONFIG = """
rules:
  - name: seq
    match: {last_user: {contains: seq}}
    respond: {sequence: [{text: one}, {text: two}, {text: three}], cycle: true}
"""


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
    return out


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def cpu_by_role(server: int, redis: int | None) -> tuple[float, float, float]:
    """CPU seconds of the server's own process, of its descendants (workers), of redis."""
    own = _cpu(server)
    children = sum(_cpu(p) for p in _tree(server) if p != server)
    return own, children, _cpu(redis) if redis is not None else 0.0


def _redis(directory: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    exe = shutil.which("redis-server")
    if exe is None:
        sys.exit("redis-server is not installed (apt-get install -y redis-server)")
    proc = subprocess.Popen([exe, "--port", str(port), "--save", "", "--appendonly", "no",
                             "--dir", directory], stdout=subprocess.DEVNULL)
    time.sleep(0.3)
    return proc, port


def _rows(totals: dict[tuple[str, str], list[float]],
          rounds: dict[tuple[str, str], list[float]]) -> list[dict[str, Any]]:
    def per_cpu(key: tuple[str, str]) -> float:
        t = totals[key]
        return t[0] / t[2] if t[2] else float("nan")

    rows = []
    for (load, name), (n, secs, cpu, bad, own, kids, red) in totals.items():
        mine = per_cpu((load, name))
        spread = rounds.get((load, name), [float("nan")])
        rows.append({"load": load, "mode": name, "requests": int(n), "rps": n / secs,
                     "cpu_s": cpu, "req_per_cpu_s": mine, "errors": int(bad),
                     "vs_memory": mine / per_cpu((load, "memory")),
                     "vs_unshared2": mine / per_cpu((load, "unshared2")),
                     "round_min": min(spread), "round_max": max(spread),
                     "us_per_req": [1e6 * v / n if n else float("nan")
                                    for v in (own, kids, red)]})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=3.0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--connections", type=int, default=16)
    args = ap.parse_args(argv)
    work = tempfile.mkdtemp(prefix="mockllm-state-cost-")
    redis_proc, redis_port = _redis(work)
    modes = {
        "memory": ("memory", 1),
        "unshared2": ("memory", 2),
        "workers2": ("memory", 2),
        "redis": (f"redis://127.0.0.1:{redis_port}/0", 1),
    }
    servers: dict[str, tuple[subprocess.Popen[bytes], int, int | None]] = {}
    try:
        for name, (state, workers) in modes.items():
            config = Path(work) / f"{name}.yaml"
            config.write_text(CONFIG + f"server: {{state: \"{state}\", watch: false}}\n")
            port = free_port()
            env = {**os.environ, "MOCKLLM_DISABLE_PLUGIN_AUTOLOAD": "1"}
            argv = ([sys.executable, "-m", "benchmarks.unshared_workers", "--config",
                     str(config), "--port", str(port), "--workers", str(workers)]
                    if name == "unshared2" else
                    [sys.executable, "-m", "mockllm", "serve", "--config", str(config),
                     "--port", str(port), "--workers", str(workers)])
            proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            wait_healthy(proc, port, timeout=120)
            servers[name] = (proc, port, redis_proc.pid if name == "redis" else None)
        loads = {
            "chat": chat_body("gpt-4o-mini", False, 16),
            "chat-seq": chat_body("gpt-4o-mini", False, 16, prompt="seq"),
            "stream64": chat_body("gpt-4o-mini", True, 64),
        }
        install_uvloop()
        totals: dict[tuple[str, str], list[float]] = {}
        rounds: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.rounds):
            for load, body in loads.items():
                for name, (proc, port, redis_pid) in servers.items():
                    before = cpu_by_role(proc.pid, redis_pid)
                    r = run_loadgen("127.0.0.1", port, body, args.connections, args.duration)
                    after = cpu_by_role(proc.pid, redis_pid)
                    roles = [b - a for a, b in zip(before, after, strict=True)]
                    t = totals.setdefault((load, name), [0.0] * 7)
                    for i, v in enumerate([r["requests"], r["duration_s"], sum(roles),
                                           r["errors"] + r["non2xx"], *roles]):
                        t[i] += v
                    if sum(roles):
                        rounds.setdefault((load, name), []).append(r["requests"] / sum(roles))
        rows = _rows(totals, rounds)
        print(json.dumps(rows, indent=2))
        print("\n| load | mode | req/s | req per CPU-s | vs memory | vs unshared2 | per-round "
              "range | µs/req own · children · redis |")
        print("|---|---|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            own, kids, red = r["us_per_req"]
            print(f"| {r['load']} | {r['mode']} | {r['rps']:.0f} | {r['req_per_cpu_s']:.0f} | "
                  f"{r['vs_memory']:.2f} | {r['vs_unshared2']:.2f} | "
                  f"{r['round_min']:.0f}–{r['round_max']:.0f} | "
                  f"{own:.1f} · {kids:.1f} · {red:.1f} |")
        return 0
    finally:
        for proc, _, _ in servers.values():
            proc.terminate()
            proc.wait(30)
        redis_proc.terminate()
        redis_proc.wait(30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
