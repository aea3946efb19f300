"""Waiting for absolute deadlines: one scheduler per event loop.

``heap`` (the default) keeps one heap of (deadline, callback) per loop and one timer for its
earliest deadline; a paced stream is a :class:`~mockllm.pump.Pump` stepped straight from that
timer. ``sleep`` makes each wait its own ``asyncio.sleep`` (one ``loop.call_at`` per token).
docs/latency.md has the measurements behind the default.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
import weakref
from collections.abc import Awaitable, Callable
from functools import partial
from heapq import heappop, heappush
from typing import Protocol

Clock = Callable[[], float]


class Scheduler(Protocol):
    def sleep_until(self, deadline: float) -> Awaitable[None]: ...


class SleepScheduler:
    """Each wait is its own ``asyncio.sleep`` (one timer handle in the loop's heap)."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.clock = clock

    async def sleep_until(self, deadline: float) -> None:
        clock = self.clock
        # uvloop's timers have 1 ms resolution and use the loop's cached time, so they can
        # fire a little early: sleep again for what is left.
        while (delay := deadline - clock()) > 0:
            await asyncio.sleep(delay)


class HeapScheduler:
    """One heap of (deadline, callback) per loop and a single timer for its earliest deadline.

    :meth:`call_at` runs a callback once its deadline has passed (a paced stream's
    :class:`~mockllm.pump.Pump` steps from it directly); a callback that returns a deadline
    is queued again for it, so a stream's next token costs no ``call_at`` (and no new bound
    method). :meth:`sleep_until` is the awaitable form for code that waits in a task.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, clock: Clock = time.monotonic) -> None:
        self.loop, self.clock = loop, clock
        self._heap: list[tuple[float, int, Callable[[], float | None]]] = []
        self._seq = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._armed = float("inf")
        # uvloop's timers tick in whole milliseconds against a cached clock: a timer for less
        # than a tick fires at once, early, and the loop would spin re-arming it until the
        # deadline. Arming at least one tick ahead costs < 1 ms of lateness and, measured
        # with 1,000 streams, cut the scheduling CPU by 3x and the p99 error to under 2 ms.
        self.tick = 0.001 if type(loop).__module__.startswith("uvloop") else 0.0

    def call_at(self, deadline: float, callback: Callable[[], float | None]) -> None:
        """Run ``callback()`` from the timer once the clock has passed ``deadline``; if it
        returns a deadline, run it again then."""
        heappush(self._heap, (deadline, next(self._seq), callback))
        if deadline < self._armed:
            self._arm(deadline)

    def sleep_until(self, deadline: float) -> asyncio.Future[None]:
        # A bare future, no coroutine: the cheapest thing a task can wait on. It is
        # resolved only once the clock has passed ``deadline`` (never early).
        fut: asyncio.Future[None] = self.loop.create_future()
        if deadline <= self.clock():
            fut.set_result(None)
        else:
            self.call_at(deadline, partial(_wake, fut))
        return fut

    def _arm(self, deadline: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._armed = deadline
        self._timer = self.loop.call_later(max(deadline - self.clock(), self.tick), self._fire)

    def _fire(self) -> None:
        # While the callbacks run, ``_armed`` stays at -inf: what they push is armed once,
        # below, instead of cancelling and re-creating the loop's timer for every push.
        self._timer, self._armed = None, float("-inf")
        heap, clock, seq = self._heap, self.clock, self._seq
        now = clock()
        try:
            while heap:
                if heap[0][0] > now:
                    # Running the callbacks takes time: look at the clock again before
                    # waiting a whole tick for entries that have come due meanwhile.
                    now = clock()
                    if heap[0][0] > now:
                        break
                callback = heappop(heap)[2]
                again = callback()
                if again is not None:
                    heappush(heap, (again, next(seq), callback))
        finally:  # a callback that raised must not leave the heap without a timer
            self._armed = float("inf")
            if heap:
                self._arm(heap[0][0])


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


_heaps: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, HeapScheduler] = (
    weakref.WeakKeyDictionary()
)
#: The heap looked up last: WeakKeyDictionary.get makes a weak reference per call.
_last: HeapScheduler | None = None


class LoopHeapScheduler:
    """The :class:`HeapScheduler` of whichever loop is running (tests run several loops)."""

    def sleep_until(self, deadline: float) -> Awaitable[None]:
        return self.for_running_loop().sleep_until(deadline)

    def call_at(self, deadline: float, callback: Callable[[], float | None]) -> None:
        self.for_running_loop().call_at(deadline, callback)

    @staticmethod
    def for_running_loop() -> HeapScheduler:
        """The running loop's heap (a stream looks it up once, not per token)."""
        global _last
        loop = asyncio.get_running_loop()
        last = _last
        if last is not None and last.loop is loop:  # the one loop of a server
            return last
        sched = _heaps.get(loop)
        if sched is None:
            sched = _heaps[loop] = HeapScheduler(loop)
        _last = sched
        return sched


def default_scheduler() -> Scheduler:
    """``MOCKLLM_PACING_SCHEDULER=heap|sleep`` (read at start-up); ``heap`` by default."""
    if os.environ.get("MOCKLLM_PACING_SCHEDULER", "heap") == "sleep":
        return SleepScheduler()
    return LoopHeapScheduler()
