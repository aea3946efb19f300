"""Sending frames, released on absolute deadlines.

Token frame i is due at ``start + ttft + sum(itl[:i])``. Deadlines are absolute, so time spent
encoding or in the event loop is absorbed instead of accumulating as drift. For every token
frame the actual send time minus the due time goes into a fixed-bucket :class:`Histogram`
(``mockllm_pacing_error_seconds``), so memory stays bounded however long the server runs.

Waiting uses one scheduler per event loop: ``heap`` (one timer armed for the earliest deadline
of a shared heap; a paced stream is a :class:`~mockllm.pump.Pump` stepped straight from that
timer) or ``sleep`` (each wait is an ``asyncio.sleep``, i.e. one ``loop.call_at`` per token).
A stream with a fault takes the plain coroutine path (:meth:`StreamResponse._paced`).
docs/latency.md has the measurements behind the default.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import os
import random
import time
import weakref
from bisect import bisect_left
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, Protocol

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from mockllm.observe import Observation
from mockllm.pump import Pump

if TYPE_CHECKING:
    from mockllm.engine.load import Ticket
    from mockllm.transport import Frame, Transport

FaultKind = Literal["disconnect", "malformed", "stall", "truncate", "error"]
Clock = Callable[[], float]


@dataclass(frozen=True)
class Fault:
    """A deliberate failure of a stream.

    ``after`` counts frames sent before the fault fires. ``disconnect`` closes the connection
    mid-stream, ``malformed`` sends a frame that is not valid JSON and goes on, ``stall`` waits
    ``seconds`` before going on, ``truncate`` ends the stream cleanly without its final frames
    (finish reason, usage) or terminator. ``error`` is rendered by the endpoint as the API's
    mid-stream error event (``status`` and ``message`` say which error).
    """

    kind: FaultKind
    after: int = 0
    seconds: float = 0.0
    status: int = 500
    message: str | None = None


def cut_at_token(frames: Iterable[Frame], tokens: int) -> list[Frame]:
    """The frames a stream sends before its token frame number ``tokens`` (0-based): where an
    ``error`` fault with ``after: tokens`` breaks in. Closing frames (``final``) never come
    before the error, so an ``after`` past the answer's length breaks in after its last token.
    """
    out: list[Frame] = []
    seen = 0
    for frame in frames:
        if frame.final or (frame.token and seen == tokens):
            break
        seen += frame.token
        out.append(frame)
    return out


MALFORMED = b'{"malformed": tr'

#: Bucket bounds (seconds) of the pacing error histogram: fine below 10 ms, where it matters.
PACING_ERROR_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01,
                        0.015, 0.02, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
#: Bucket bounds of latency histograms (TTFT, ITL, e2e); vLLM's, so dashboards line up.
LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5,
                   5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0)


class Histogram:
    """Cumulative-free bucket counts with fixed bounds: O(1) memory, one bisect per sample.

    ``append`` is an alias of ``observe``, so it stands where a list of errors used to.
    """

    __slots__ = ("bounds", "counts", "sum", "count", "max")

    def __init__(self, bounds: Sequence[float] = PACING_ERROR_BUCKETS) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)  # the last one is +Inf
        self.sum = 0.0
        self.count = 0
        self.max = float("-inf")

    def observe(self, x: float, n: int = 1) -> None:
        self.counts[bisect_left(self.bounds, x)] += n
        self.sum += x * n
        self.count += n
        if x > self.max:
            self.max = x

    append = observe

    def __len__(self) -> int:
        return self.count

    @property
    def mean(self) -> float:
        return self.sum / self.count if self.count else 0.0

    def quantile(self, q: float) -> float:
        """Linear interpolation inside the bucket, as PromQL's ``histogram_quantile``."""
        if not self.count:
            return 0.0
        rank, seen, lower = q * self.count, 0, 0.0
        for bound, n in zip(self.bounds, self.counts, strict=False):
            if n and seen + n >= rank:
                return lower + (bound - lower) * (rank - seen) / n
            seen += n
            lower = bound
        return self.bounds[-1]


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
    :class:`~mockllm.pump.Pump` steps from it directly); :meth:`sleep_until` is the awaitable
    form for code that waits in a task.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, clock: Clock = time.monotonic) -> None:
        self.loop, self.clock = loop, clock
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._armed = float("inf")
        # uvloop's timers tick in whole milliseconds against a cached clock: a timer for less
        # than a tick fires at once, early, and the loop would spin re-arming it until the
        # deadline. Arming at least one tick ahead costs < 1 ms of lateness and, measured
        # with 1,000 streams, cut the scheduling CPU by 3x and the p99 error to under 2 ms.
        self.tick = 0.001 if type(loop).__module__.startswith("uvloop") else 0.0

    def call_at(self, deadline: float, callback: Callable[[], None]) -> None:
        """Run ``callback()`` from the timer once the clock has passed ``deadline``."""
        heapq.heappush(self._heap, (deadline, next(self._seq), callback))
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
        heap, clock = self._heap, self.clock
        now = clock()
        try:
            while heap:
                if heap[0][0] > now:
                    # Running the callbacks takes time: look at the clock again before
                    # waiting a whole tick for entries that have come due meanwhile.
                    now = clock()
                    if heap[0][0] > now:
                        break
                heapq.heappop(heap)[2]()
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


class LoopHeapScheduler:
    """The :class:`HeapScheduler` of whichever loop is running (tests run several loops)."""

    def sleep_until(self, deadline: float) -> Awaitable[None]:
        return self.for_running_loop().sleep_until(deadline)

    def call_at(self, deadline: float, callback: Callable[[], None]) -> None:
        self.for_running_loop().call_at(deadline, callback)

    @staticmethod
    def for_running_loop() -> HeapScheduler:
        """The running loop's heap (a stream looks it up once, not per token)."""
        loop = asyncio.get_running_loop()
        sched = _heaps.get(loop)
        if sched is None:
            sched = _heaps[loop] = HeapScheduler(loop)
        return sched


def default_scheduler() -> Scheduler:
    """``MOCKLLM_PACING_SCHEDULER=heap|sleep`` (read at start-up); ``heap`` by default."""
    if os.environ.get("MOCKLLM_PACING_SCHEDULER", "heap") == "sleep":
        return SleepScheduler()
    return LoopHeapScheduler()


_SLEEP = SleepScheduler()


class Pacing:
    """When each token frame is due, relative to ``start`` (a ``clock()`` reading).

    ``itl`` is one inter-token latency for all tokens, or one per token (index 1 onwards uses
    ``itl[i - 1]``). With ``itl_sample`` each gap is drawn when first needed (a latency model);
    with ``load`` the request holds a load-model ticket: :meth:`acquire` waits for the slot
    (and restarts the schedule then, so queueing shows in TTFT), :meth:`release` frees it.
    ``errors`` receives send time minus due time of every token frame (a :class:`Histogram`,
    or anything with ``append``); ``itl_sink`` the measured gap between token frames;
    ``queue_sink`` the time each load-model request waited for its slot.
    """

    __slots__ = ("start", "ttft", "itl", "fault", "errors", "itl_sink", "queue_sink", "load",
                 "clock", "scheduler", "_sample", "_gaps", "_ci", "_coff", "_acquired",
                 "__weakref__")

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

    @property
    def idle(self) -> bool:
        return (self.ttft <= 0 and not self.itl and self._sample is None and self.fault is None
                and self.load is None)

    def due(self, i: int) -> float:
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

    def total(self, tokens: int) -> float:
        """Seconds from ``start`` until the last of ``tokens`` tokens is due."""
        return self.due(max(tokens - 1, 0)) - self.start

    async def acquire(self) -> None:
        """Wait for this request's load-model slot (at once without a load model)."""
        ticket = self.load
        if ticket is None or self._acquired:
            return
        self._acquired = True
        if not ticket.granted:
            await ticket.wait()
            queued_since, self.start = self.start, self.clock()
            # ``start`` moves to now: the model starts on it now; the wait is part of TTFT
            if self.queue_sink is not None:
                self.queue_sink.observe(self.start - queued_since)
        elif self.queue_sink is not None:
            self.queue_sink.observe(0.0)
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
            await self.wait(max(tokens - 1, 0))
        finally:
            self.release()


def jittered(model: Any, rng: random.Random, load: Ticket | None) -> Callable[[], float]:
    """A gap sampler for :class:`Pacing`: ``model.sample(rng)`` times the load factor now."""
    sample = model.sample
    if load is None or not load.load.varies:
        return lambda: sample(rng)  # type: ignore[no-any-return,unused-ignore]
    factor = load.load.factor
    return lambda: sample(rng) * factor()  # type: ignore[no-any-return,unused-ignore]


class StreamResponse(Response):
    """A minimal ASGI response for paced frames (cheaper than StreamingResponse)."""

    def __init__(
        self,
        transport: Transport,
        frames: Iterable[Frame],
        pacing: Pacing | None,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.transport = transport
        self.frames = frames
        self.pacing = pacing
        self.status_code = status
        raw = [(b"content-type", transport.media_type.encode()), (b"cache-control", b"no-cache")]
        for k, v in (headers or {}).items():
            raw.append((k.lower().encode("latin-1"), v.encode("latin-1")))
        self.raw_headers = raw
        self.background = None
        #: Set by the endpoint; completed and handed to the observers after the last frame.
        self.observation: Observation | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        pacing = self.pacing
        if pacing is None or pacing.idle:
            await send({"type": "http.response.start", "status": self.status_code,
                        "headers": self.raw_headers})
            try:
                await self._fast(send)
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            finally:
                self._observe(pacing)
            return
        runtime = getattr(self.transport.context, "timing", None)
        if runtime is not None:
            runtime.active_streams += 1
        complete = True
        # A client that goes away frees its slot (or queue place) at once, as a real server
        # aborts the sequence; uvicorn would otherwise drop the sends silently until the
        # schedule ends. One watcher task per paced stream, nothing per token.
        task = asyncio.current_task()
        gone = False

        async def watch() -> None:
            nonlocal gone
            while (await receive())["type"] != "http.disconnect":
                pass
            gone = True
            if task is not None:
                task.cancel()

        watcher = asyncio.ensure_future(watch())
        try:
            await send({"type": "http.response.start", "status": self.status_code,
                        "headers": self.raw_headers})
            await pacing.acquire()
            if pacing.fault is None:
                # The pump's last write ends the response; ending it also reads as a
                # disconnect, so the watcher goes first.
                await Pump(self, send, pacing, on_end=watcher.cancel).run()
            else:
                complete = await self._paced(send, pacing)
                watcher.cancel()
                if complete:
                    await send({"type": "http.response.body", "body": b"",
                                "more_body": False})
                # else: a disconnect fault; the response stays incomplete, the server closes it
        except asyncio.CancelledError:
            if not gone or task is None:
                raise
            task.uncancel()  # our own cancellation: the client left, nothing more to send
        finally:
            watcher.cancel()
            pacing.release()
            if runtime is not None:
                runtime.active_streams -= 1
            self._observe(pacing)

    def _observe(self, pacing: Pacing | None) -> None:
        obs = self.observation
        if obs is None:
            return
        obs.end = time.monotonic()
        if obs.first_token is None:
            obs.first_token = obs.end if pacing is None or pacing.idle else None
        self.transport.context.observe(obs)

    async def _fast(self, send: Send) -> None:
        encode = self.transport.encode
        for frame in self.frames:
            await send({"type": "http.response.body", "body": encode(frame), "more_body": True})
        if self.transport.terminator:
            await send({"type": "http.response.body", "body": self.transport.terminator,
                        "more_body": True})

    async def _paced(self, send: Send, pacing: Pacing) -> bool:
        encode = self.transport.encode
        fault = pacing.fault
        errors = pacing.errors.append
        itl_sink = pacing.itl_sink
        clock = pacing.clock
        pending: list[bytes] = []
        sent = tokens = 0
        last = 0.0

        async def out(body: bytes) -> bool:
            nonlocal sent
            if fault is not None and sent == fault.after:
                if fault.kind == "disconnect":
                    return False
                if fault.kind == "malformed":
                    await send(_body(encode_malformed(self.transport)))
                elif fault.kind == "stall":
                    await asyncio.sleep(fault.seconds)
            sent += 1
            await send(_body(body))
            return True

        for frame in self.frames:
            if fault is not None and fault.kind == "truncate" and frame.final:
                return True
            if not frame.token:
                pending.append(encode(frame))
                continue
            due = pacing.due(tokens)
            if due > clock():
                await pacing.scheduler.sleep_until(due)
            now = clock()
            errors(now - due)
            if tokens == 0:
                if self.observation is not None:
                    self.observation.first_token = now
            elif itl_sink is not None:
                itl_sink.observe(now - last)
            last = now
            tokens += 1
            if pending:
                for body in pending:
                    if not await out(body):
                        return False
                pending.clear()
            if not await out(encode(frame)):
                return False
        for body in pending:
            if not await out(body):
                return False
        # No terminator after a truncated stream or a mid-stream error: both end the answer.
        if self.transport.terminator and not (
            fault is not None and fault.kind in ("truncate", "error")
        ):
            return await out(self.transport.terminator)
        return True


def _body(body: bytes) -> dict[str, Any]:
    return {"type": "http.response.body", "body": body, "more_body": True}


def encode_malformed(transport: Transport) -> bytes:
    from mockllm.transport import Frame

    return transport.encode(Frame(None, MALFORMED))
