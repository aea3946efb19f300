"""CPU of one counted round trip (a sequence step's ``HINCRBY``) to the embedded store.

The store (``--workers``' own) runs in a thread of this process, the link
(``mockllm.state.link``, the request path's client) in the main thread; each thread's CPU
is read from /proc, so a busy machine inflates the figures less than wall time:

    python -m benchmarks.state_roundtrip [--calls 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from pathlib import Path

import redis

from mockllm.state.embedded import running
from mockllm.state.link import Link
from mockllm.state.resp import pack

_TICK = os.sysconf("SC_CLK_TCK")


def _other_threads_cpu() -> float:
    me, total = threading.get_native_id(), 0
    for task in Path("/proc/self/task").glob("*"):
        if int(task.name) != me:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / _TICK


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with running() as url:
        link = Link(redis.Redis.from_url(url, protocol=2).connection_pool)
        command = pack(b"HINCRBY", b"mockllm:counts", b"bench", b"1")
        for _ in range(1000):
            link.call(command, 1)
        for _ in range(args.rounds):
            store, caller, wall = _other_threads_cpu(), time.thread_time(), time.perf_counter()
            for _ in range(args.calls):
                link.call(command, 1)
            n = args.calls
            print(f"store thread {1e6 * (_other_threads_cpu() - store) / n:.1f} µs CPU, "
                  f"caller {1e6 * (time.thread_time() - caller) / n:.1f} µs CPU, "
                  f"wall {1e6 * (time.perf_counter() - wall) / n:.1f} µs per round trip")


if __name__ == "__main__":
    main()
