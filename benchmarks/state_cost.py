"""What sharing the state costs: req/s per server CPU-second, memory vs --workers 2 vs Redis.

Each mode is one `mockllm serve` (its supervisor, workers and, for Redis, the redis-server
all counted as server CPU, read from /proc before and after each run), driven by the
bundled closed-loop load generator with the same connections and duration, rounds
interleaved so a busy machine hurts every mode alike. Workloads:

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

from benchmarks.loadgen import run_loadgen
from benchmarks.procs import free_port, wait_healthy
from benchmarks.rawhttp import chat_body

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


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes and all their descendants."""
    total = 0
    for pid in {p for root in pids for p in _tree(root)}:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / _TICK


def _redis(directory: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    exe = shutil.which("redis-server")
    if exe is None:
        sys.exit("redis-server is not installed (apt-get install -y redis-server)")
    proc = subprocess.Popen([exe, "--port", str(port), "--save", "", "--appendonly", "no",
                             "--dir", directory], stdout=subprocess.DEVNULL)
    time.sleep(0.3)
    return proc, port


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
        "workers2": ("memory", 2),
        "redis": (f"redis://127.0.0.1:{redis_port}/0", 1),
    }
    servers: dict[str, tuple[subprocess.Popen[bytes], int, list[int]]] = {}
    try:
        for name, (state, workers) in modes.items():
            config = Path(work) / f"{name}.yaml"
            config.write_text(CONFIG + f"server: {{state: \"{state}\", watch: false}}\n")
            port = free_port()
            env = {**os.environ, "MOCKLLM_DISABLE_PLUGIN_AUTOLOAD": "1"}
            proc = subprocess.Popen(
                [sys.executable, "-m", "mockllm", "serve", "--config", str(config),
                 "--port", str(port), "--workers", str(workers)],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_healthy(proc, port, timeout=120)
            pids = [proc.pid] + ([redis_proc.pid] if name == "redis" else [])
            servers[name] = (proc, port, pids)
        loads = {
            "chat": chat_body("gpt-4o-mini", False, 16),
            "chat-seq": chat_body("gpt-4o-mini", False, 16, prompt="seq"),
            "stream64": chat_body("gpt-4o-mini", True, 64),
        }
        totals: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.rounds):
            for load, body in loads.items():
                for name, (_, port, pids) in servers.items():
                    before = cpu_seconds(pids)
                    r = run_loadgen("127.0.0.1", port, body, args.connections, args.duration)
                    cpu = cpu_seconds(pids) - before
                    t = totals.setdefault((load, name), [0.0, 0.0, 0.0, 0.0])
                    t[0] += r["requests"]
                    t[1] += r["duration_s"]
                    t[2] += cpu
                    t[3] += r["errors"] + r["non2xx"]
        rows = []
        for (load, name), (n, secs, cpu, bad) in totals.items():
            base = totals[(load, "memory")]
            per_cpu = n / cpu if cpu else float("nan")
            rows.append({"load": load, "mode": name, "requests": int(n), "rps": n / secs,
                         "cpu_s": cpu, "req_per_cpu_s": per_cpu, "errors": int(bad),
                         "vs_memory": per_cpu / (base[0] / base[2]) if base[2] else None})
        print(json.dumps(rows, indent=2))
        print("\n| load | mode | req/s | server CPU-s | req per CPU-s | vs memory |")
        print("|---|---|---:|---:|---:|---:|")
        for r in rows:
            print(f"| {r['load']} | {r['mode']} | {r['rps']:.0f} | {r['cpu_s']:.1f} | "
                  f"{r['req_per_cpu_s']:.0f} | {r['vs_memory']:.2f} |")
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
