"""The pacing schedulers alone: N streams of deadlines, no sockets, on uvloop and asyncio.

    python -m benchmarks.pacing_schedulers [--streams 1000] [--rounds 3]

Each stream waits for 50 absolute deadlines (TTFT 100 ms, ITL 10 ms; the streams start 10 µs
apart, as requests arriving in a burst do). Reported: the process CPU time the waiting cost,
and the wake-up error (actual minus due) mean, p99 and minimum (negative = early). This is
what decided the default scheduler (docs/latency.md).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable

import uvloop

from mockllm.schedulers import HeapScheduler, Scheduler, SleepScheduler


async def run(make: Callable[[asyncio.AbstractEventLoop], Scheduler], streams: int) -> str:
    sched = make(asyncio.get_running_loop())
    errors: list[float] = []

    async def stream(start: float) -> None:
        for i in range(50):
            due = start + 0.1 + 0.01 * i
            if due > time.monotonic():
                await sched.sleep_until(due)
            errors.append(time.monotonic() - due)

    cpu0, now = time.process_time(), time.monotonic()
    await asyncio.gather(*(stream(now + k * 0.00001) for k in range(streams)))
    cpu = time.process_time() - cpu0
    errors.sort()
    return (f"cpu {cpu:.3f} s  mean {sum(errors) / len(errors) * 1000:.2f} ms  "
            f"p99 {errors[int(len(errors) * 0.99)] * 1000:.2f} ms  "
            f"min {errors[0] * 1000:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    kinds: dict[str, Callable[[asyncio.AbstractEventLoop], Scheduler]] = {
        "sleep": lambda loop: SleepScheduler(),
        "heap": lambda loop: HeapScheduler(loop),
    }
    for loop_name, runner in (("uvloop", uvloop.run), ("asyncio", asyncio.run)):
        for _ in range(args.rounds):
            for name, make in kinds.items():
                print(f"{loop_name:8} {name:6}", runner(run(make, args.streams)), flush=True)


if __name__ == "__main__":
    main()
