"""When each token of an answer is due: the schedule a plan carries.

Token frame i is due at ``start + ttft + sum(itl[:i])``. Deadlines are absolute, so time spent
encoding or in the event loop is absorbed instead of accumulating as drift. Provider- and
HTTP-neutral: the engine builds a :class:`Pacing`, the stream response follows it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mockllm.faults import Fault
from mockllm.histogram import Histogram
from mockllm.schedulers import Clock, Scheduler, SleepScheduler

if TYPE_CHECKING:
    from mockllm.engine.load import Ticket

_SLEEP = SleepScheduler()


class Pacing:
    """When each token frame is due, relative to ``start`` (a ``clock()`` reading).

    ``itl`` is one inter-token latency for all tokens, or one per token (index 1 onwards uses
    ``itl[i - 1]``). With ``itl_sample`` each gap is drawn when first needed (a latency model);
    with ``load`` the request holds a load-model ticket: :meth:`acquire` waits for the slot
    (and restarts the schedule then, so queueing shows in TTFT), :meth:`release` frees it.
    ``errors`` receives send time minus due time of every token frame (a :class:`Histogram`);
    ``itl_sink`` the measured gap between token frames;
    ``queue_sink`` the time each load-model request waited for its slot.
    """

    __slots__ = ("start", "ttft", "itl", "fault", "errors", "itl_sink", "queue_sink", "load",
                 "clock", "scheduler", "hidden", "_sample", "_gaps", "_ci", "_coff",
                 "_acquired", "__weakref__")

    def __init__(
        self,
        start: float,
        ttft: float = 0.0,
        itl: float | list[float] = 0.0,
        fault: Fault | None = None,
        *,
        itl_sample: Callable[[], float] | None = None,
        load: Ticket | None = None,
        clock: Clock = time.monotonic,
        scheduler: Scheduler | None = None,
        errors: Any = None,
        itl_sink: Histogram | None = None,
        queue_sink: Histogram | None = None,
    ) -> None:
        self.start = start
        self.ttft = ttft
        self.itl = itl
        self.fault = fault
        self.errors = Histogram() if errors is None else errors
        self.itl_sink = itl_sink
        self.queue_sink = queue_sink
        self.load = load
        self.clock = clock
        self.scheduler = scheduler or (_SLEEP if clock is time.monotonic
                                       else SleepScheduler(clock))
        self._sample = itl_sample
        self._gaps: list[float] | None = (
            [] if itl_sample is not None else itl if isinstance(itl, list) else None
        )
        self._ci, self._coff = 0, ttft
        self._acquired = False
        #: Tokens made but not sent (hidden reasoning), before the first token frame.
        self.hidden = 0

    @property
    def idle(self) -> bool:
        return (self.ttft <= 0 and not self.itl and self._sample is None and self.fault is None
                and self.load is None)

    def hide(self, tokens: int) -> None:
        """The answer starts with ``tokens`` tokens that are not sent (reasoning an API
        counts but does not show): token frame i is due when token ``tokens + i`` is, so
        the first visible token waits for them at the ITL, as the real model's does, and
        the stream ends when the whole answer would have."""
        self.hidden = tokens

    def closing_due(self, sent: int) -> float | None:
        """When the frames after the last token frame may go, if later than at once: a
        stream that sent no token frame (all its tokens hidden, as in an answer cut by the
        limit inside its reasoning) ends when its last hidden token is due, as the whole
        answer waits (:meth:`wait_total`)."""
        return self.due(-1) if sent == 0 and self.hidden else None

    def due(self, i: int) -> float:
        """When token frame ``i`` (0-based, counting only frames sent) is due."""
        i += self.hidden
        gaps = self._gaps
        if gaps is None:
            return self.start + self.ttft + self.itl * i  # type: ignore[operator]
        if i < self._ci:
            self._ci, self._coff = 0, self.ttft
        sample = self._sample
        while self._ci < i:
            k = self._ci
            if k >= len(gaps):
                gaps.append(sample() if sample is not None else 0.0)
            self._coff += gaps[k]
            self._ci = k + 1
        return self.start + self._coff

    def linear(self) -> tuple[float, float, int] | None:
        """``(start + ttft, itl, hidden)`` when token frame i is due at
        ``start + ttft + itl * (i + hidden)`` (one constant ITL), else None."""
        if self._gaps is not None:
            return None
        return self.start + self.ttft, self.itl, self.hidden  # type: ignore[return-value]

    def total(self, tokens: int) -> float:
        """Seconds from ``start`` until the last of ``tokens`` tokens (hidden ones
        included) is due."""
        return self.due(max(tokens - 1, 0) - self.hidden) - self.start

    def take(self) -> bool:
        """:meth:`acquire` when that needs no wait (no load model, or a free slot): True
        when done, False when the caller must ``await acquire()``. No coroutine to make."""
        ticket = self.load
        if ticket is None or self._acquired:
            return True
        if not ticket.granted:
            return False
        self._acquired = True
        if self.queue_sink is not None:
            self.queue_sink.observe(0.0)
        self._scale(ticket)
        return True

    async def acquire(self) -> None:
        """Wait for this request's load-model slot (at once without a load model)."""
        if self.take():
            return
        ticket = self.load
        assert ticket is not None
        self._acquired = True
        await ticket.wait()
        queued_since, self.start = self.start, self.clock()
        # ``start`` moves to now: the model starts on it now; the wait is part of TTFT
        if self.queue_sink is not None:
            self.queue_sink.observe(self.start - queued_since)
        self._scale(ticket)

    def _scale(self, ticket: Ticket) -> None:
        factor = ticket.load.factor() if ticket.load.varies else 1.0
        if factor != 1.0:
            self.ttft *= factor
            if self._gaps is None and not isinstance(self.itl, list):
                self.itl *= factor
        self._ci, self._coff = 0, self.ttft

    def release(self) -> None:
        if self.load is not None:
            self.load.release()

    def __del__(self) -> None:
        # A plan dropped before its answer ran (an error after planning) must not keep a slot.
        ticket = self.load
        if ticket is not None and not ticket.released:
            ticket.release()

    async def wait(self, i: int) -> None:
        due = self.due(i)
        if due > self.clock():
            await self.scheduler.sleep_until(due)

    async def wait_total(self, tokens: int) -> None:
        """Non-streaming answers wait as long as the stream would have taken."""
        if self.idle:
            return
        await self.acquire()
        try:
            # the last token's index among all (a negative frame index when all are hidden)
            await self.wait(max(tokens - 1, 0) - self.hidden)
        finally:
            self.release()


def jittered(model: Any, rng: random.Random, load: Ticket | None) -> Callable[[], float]:
    """A gap sampler for :class:`Pacing`: ``model.sample(rng)`` times the load factor now."""
    sample = model.sample
    if load is None or not load.load.varies:
        return lambda: sample(rng)  # type: ignore[no-any-return,unused-ignore]
    factor = load.load.factor
    return lambda: sample(rng) * factor()  # type: ignore[no-any-return,unused-ignore]
