"""The cost of a paced stream's later tokens, on a fake clock: no load, no timing noise.

    python -m benchmarks.token_profile [--target mockllm|raw] [--streams 1000]
        [--tokens 50] [--groups 10] [--rounds 3] [--profile | --callgrind]

``mockllm``: pacing_bench's requests are fed to the own HTTP layer
(``mockllm.http.protocol.HttpProtocol``, the app as ``mockllm serve`` starts it) on
transports that drop what is written. ``raw``: ``benchmarks.raw_pacer``'s streams on the same
transports (the floor). The streams start in ``--groups`` groups 1 ms apart (all of a
group due at once, as a burst's streams share the timer's ticks); once every stream waits
for its first token, the clock jumps from one deadline to the next and the heap's timer
callback is called by hand, so every token goes out on time, one write each, whatever the
machine's load (under valgrind too). Printed: CPU (``time.process_time``) of the token
phase (the first token to the end of every stream) per stream and per token; ``--profile``
adds cProfile's table of the token phase.

``--callgrind`` runs this twice under ``valgrind --tool=callgrind``, with 1 token and with
``--tokens``, counting the instructions of the token phase alone (``--collect-atstart=no
--toggle-collect='*_operator_call*'``: the phase is the only call of ``operator.call``), and
prints the instructions per stream (1 token: the first token and the end) and per later token
(the difference over the later tokens of every stream, the warm-up round's included).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import operator
import pstats
import re
import subprocess
import sys
import tempfile
import time
import types
from functools import partial
from typing import Any

from benchmarks.paced_profile import _app, _Sink, new_loop
from mockllm.schedulers import HeapScheduler


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now


def _fake_time(clock: FakeClock) -> Any:
    """The ``time`` module with ``monotonic`` replaced (for modules that call it by name)."""
    ns = types.SimpleNamespace(**{k: getattr(time, k) for k in dir(time) if not k.startswith("__")})
    ns.monotonic = clock
    return ns


def _drive(sched: HeapScheduler, clock: FakeClock, histograms: list[Any]) -> int:
    """Run every timer callback on time, jumping the clock; returns how many fires ran.
    The ``histograms`` then count what they were given (as a scrape would make them)."""
    heap = sched._heap
    fires = 0
    while heap:
        if sched._timer is not None:
            sched._timer.cancel()
            sched._timer = None
        clock.now = max(clock.now, heap[0][0])
        sched._fire()
        fires += 1
    if sched._timer is not None:
        sched._timer.cancel()
        sched._timer = None
    for hist in histograms:
        getattr(hist, "fold", lambda: None)()
    return fires


async def _settle(pred: Any) -> None:
    for _ in range(100000):
        if pred():
            return
        await asyncio.sleep(0)
    raise RuntimeError("the streams never settled")


class MockTarget:
    def __init__(self, args: argparse.Namespace, clock: FakeClock) -> None:
        import mockllm.engine.engine as engine_mod
        import mockllm.stream_response as sr_mod

        loop = asyncio.get_event_loop()
        self.app = _app(args.ttft, args.itl, args.tokens)
        runtime = self.app.context.timing
        self.sched = HeapScheduler(loop, clock)
        runtime.clock, runtime.scheduler = clock, self.sched
        runtime.ready_at = 0.0
        engine_mod.time = _fake_time(clock)  # type: ignore[attr-defined]
        sr_mod.time = _fake_time(clock)  # type: ignore[attr-defined]
        from benchmarks.pacing_bench import request_bytes
        from mockllm.http.protocol import HttpProtocol, ServerState

        self.state = ServerState(self.app, loop)
        self.ends: list[float] = []
        self.request = request_bytes(8000, args.tokens)
        self.proto = HttpProtocol

    def start(self, n: int) -> None:
        for _ in range(n):
            proto = self.proto(self.state)
            proto.connection_made(_Sink(_drop))
            proto.data_received(self.request)

    def waiting(self, n: int) -> bool:
        return len(self.sched._heap) >= n

    def done(self) -> bool:
        return not self.state.tasks

    def histograms(self) -> list[Any]:
        timing = self.app.context.timing
        return [timing.pacing_errors, *timing.itl.values()]


class RawTarget:
    def __init__(self, args: argparse.Namespace, clock: FakeClock) -> None:
        from benchmarks import raw_pacer

        loop = asyncio.get_event_loop()
        raw_pacer.time = _fake_time(clock)  # type: ignore[attr-defined]
        self.pacer = raw_pacer.Pacer(loop)
        self.sched = HeapScheduler(loop, clock)
        self.pacer.at = self.sched.call_at  # type: ignore[method-assign]
        self.args = args
        self.stream = raw_pacer.Stream
        self.ends: list[float] = []

    def start(self, n: int) -> None:
        for _ in range(n):
            self.stream(self.pacer, _Sink(_drop), self.args)  # type: ignore[arg-type]

    def waiting(self, n: int) -> bool:
        return len(self.sched._heap) >= n

    def done(self) -> bool:
        return True

    def histograms(self) -> list[Any]:
        return [self.pacer.errors]


def _drop(data: bytes) -> None:
    pass


async def _round(target: Any, clock: FakeClock, n: int, groups: int,
                 prof: cProfile.Profile | None = None) -> tuple[float, int]:
    per = max(n // groups, 1)
    started = 0
    while started < n:
        k = min(per, n - started)
        target.start(k)
        started += k
        await _settle(partial(target.waiting, started))
        clock.now += 0.001
    if prof is not None:
        prof.enable()
    t0 = time.process_time()
    # operator.call: a C function called nowhere else, so that callgrind can count this
    # phase alone (--collect-atstart=no --toggle-collect='*_operator_call*')
    fires = operator.call(_drive, target.sched, clock, target.histograms())
    cpu = time.process_time() - t0
    if prof is not None:
        prof.disable()
    t1 = time.process_time()
    await _settle(target.done)
    target.ends.append(time.process_time() - t1)
    return cpu, fires


def _callgrind(args: argparse.Namespace) -> None:
    counts = []
    for tokens in (1, args.tokens):
        with tempfile.TemporaryDirectory() as tmp:
            cmd = ["valgrind", "--tool=callgrind", "--collect-atstart=no",
                   "--toggle-collect=*_operator_call*", f"--callgrind-out-file={tmp}/cg.out",
                   sys.executable, "-m", "benchmarks.token_profile", "--target", args.target,
                   "--streams", str(args.streams), "--tokens", str(tokens), "--rounds", "1",
                   "--groups", str(args.groups), "--ttft", str(args.ttft), "--itl",
                   str(args.itl)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stderr
        found = re.search(r"Collected : ([\d,]+)", out)
        assert found is not None, out
        counts.append(int(found.group(1).replace(",", "")))
    streams = args.streams + min(args.streams, 200)  # the warm-up round is counted too
    later = (counts[1] - counts[0]) / (streams * (args.tokens - 1))
    print(f"{args.target}: instructions (callgrind, token phase): {counts[0] / streams / 1e3:.1f}k"
          f" a stream of 1 token, {later / 1e3:.2f}k a later token ({args.tokens} tokens)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", choices=("mockllm", "raw"), default="mockllm")
    ap.add_argument("--streams", type=int, default=1000)
    ap.add_argument("--tokens", type=int, default=50)
    ap.add_argument("--ttft", type=int, default=100)
    ap.add_argument("--itl", type=int, default=10)
    ap.add_argument("--groups", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--callgrind", action="store_true",
                    help="instructions per stream and per later token, under valgrind")
    args = ap.parse_args()
    if args.callgrind:
        _callgrind(args)
        return
    loop = new_loop()
    clock = FakeClock()
    target: Any = (MockTarget if args.target == "mockllm" else RawTarget)(args, clock)
    loop.run_until_complete(_round(target, clock, min(args.streams, 200), args.groups))  # warm
    cpus = []
    for _ in range(args.rounds):
        cpu, fires = loop.run_until_complete(_round(target, clock, args.streams, args.groups))
        cpus.append(cpu)
    best = min(cpus)
    per_stream = best / args.streams * 1e6
    print(f"{args.target}: token phase (first token to end), best of {args.rounds}: "
          f"{per_stream:.1f} us a stream, {per_stream / args.tokens:.2f} us a token "
          f"({fires} timer callbacks a round); then the streams' tasks end: "
          f"{min(target.ends[1:]) / args.streams * 1e6:.1f} us a stream")
    if args.profile:
        prof = cProfile.Profile()
        loop.run_until_complete(_round(target, clock, args.streams, args.groups, prof))
        pstats.Stats(prof).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
