"""Driving a paced stream from the scheduler's timer, with no task wake-up per token.

A paced stream used to be a coroutine that awaited a future per token: for every token the
timer resolved the future, the loop scheduled the task, the task resumed the coroutine, and
the coroutine awaited the server's ``send``. With 1,000 streams that is 100,000 wake-ups a
second, and profiling showed them to cost as much as the rest of the per-token work.

A :class:`Pump` is the same stream as a state machine. :meth:`Pump.advance` sends whatever
is due and says when the next token is due; the scheduler calls it again then, straight from
its timer callback. The ASGI ``send`` coroutine is driven by hand (``coro.send(None)``): it
completes at once unless the server applies flow control, and only then is it finished in a
task, with the stream held until it is done. The request's own task just awaits the end.

Frames that are due go out together in one write: a token with the frames that wait for it
(role, finish, usage), and, when the stream has fallen behind, every token that is already
overdue. On the wire that is the same events, but a late stream catches up with one write
instead of one per token, so overload does not feed on itself. The last write also ends the
HTTP response (``more_body: False``), so the chunked terminator needs no write of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterable, Iterator
from functools import partial
from itertools import chain
from types import CoroutineType
from typing import TYPE_CHECKING, Any

from starlette.types import Send

from mockllm.histogram import BACKLOG

if TYPE_CHECKING:
    from mockllm.frames import Frame
    from mockllm.histogram import Histogram
    from mockllm.observe import Observation
    from mockllm.pacing import Pacing

CallAt = Callable[[float, Callable[[], float | None]], None]
#: ``write(body, more)``: what the server's ``send`` of a body message does, without the
#: coroutine and the message; False, with nothing done, where ``send`` must do it.
BodyWrite = Callable[[bytes, bool], bool]


class Pump:
    """One paced stream without faults. Run it with ``await Pump(...).run()``.

    It gets the frames, the transport's ``encode`` and ``terminator``, the ASGI ``send`` and
    the schedule; ``observation`` (if any) gets the first token's time. ``write`` (the own
    HTTP layer's, when no middleware wraps ``send``) writes a body without the ASGI message.
    """

    __slots__ = ("send", "pacing", "on_end", "frames", "encode", "terminator", "observation",
                 "ready", "held", "dues", "tokens", "last", "pending", "pending_due",
                 "blocked", "done", "call_at", "stopped", "flushed", "closing", "linear",
                 "write", "errors", "errors_kept", "itl_sink", "itl_add", "itl_kept")

    def __init__(self, frames: Iterable[Frame], encode: Callable[[Frame], bytes],
                 terminator: bytes, send: Send, pacing: Pacing, *,
                 observation: Observation | None = None,
                 on_end: Callable[[], object] | None = None,
                 write: BodyWrite | None = None) -> None:
        self.send, self.pacing, self.write = send, pacing, write
        #: The histograms a write feeds, found once: a sample is a list's append (the
        #: histogram counts it when read), and what they keep is folded in at BACKLOG.
        self.errors, self.errors_kept = _adder(pacing.errors)
        self.itl_sink: Histogram | None = pacing.itl_sink
        self.itl_add: Callable[[float], None] | None = None
        self.itl_kept = _NOTHING_KEPT
        if self.itl_sink is not None:
            self.itl_add, self.itl_kept = _adder(self.itl_sink)
        #: Called just before the write that ends the response (ending it wakes receive()).
        self.on_end = on_end
        self.frames: Iterator[Frame] = iter(frames)
        self.encode = encode
        self.terminator = terminator
        self.observation = observation
        self.ready: list[bytes] = []  # due frames, up to and including the last due token
        self.held: list[bytes] = []  # frames after that token, waiting for the next token
        self.dues: list[float] = []  # due times of the tokens in ``ready``
        self.tokens = 0
        self.last = -1.0  # when the previous batch of tokens went out
        self.pending: Frame | None = None  # the token frame being waited for
        self.pending_due = 0.0
        #: An ASGI send that suspended (flow control); nothing is sent until it is done.
        self.blocked: asyncio.Future[None] | None = None
        self.done: asyncio.Future[None] | None = None
        self.call_at: CallAt | None = None
        self.stopped = False
        self.flushed = 0  # frames written so far
        self.closing = True  # the closing frames may still have to wait (Pacing.closing_due)
        #: The schedule as (start + ttft, itl, hidden) when it is one constant ITL (the pacing
        #: has been acquired: its schedule no longer moves), else None: ask Pacing.due.
        self.linear = pacing.linear()

    async def run(self) -> None:
        """Send the whole stream; returns after the last write (or raises what failed)."""
        scheduler = self.pacing.scheduler
        here = getattr(scheduler, "for_running_loop", None)
        sched = here() if here else scheduler
        call_at: CallAt | None = getattr(sched, "call_at", None)
        if call_at is None:  # a scheduler that can only be awaited (a test's fake clock)
            while (due := self.advance()) is not None:
                if self.blocked is not None:
                    await self.blocked
                await self.pacing.scheduler.sleep_until(due)
            if self.blocked is not None:
                await self.blocked
            return
        self.call_at = call_at
        # The heap knows its loop (the running one): asking asyncio again costs a getpid()
        # system call on Python 3.11.
        loop = getattr(sched, "loop", None) or asyncio.get_running_loop()
        self.done = loop.create_future()
        due = self._tick()
        if due is not None:
            call_at(due, self._tick)
        try:
            await self.done
        finally:
            # Cancelled (the client left) or failed: a timer entry may still point here.
            self.stopped = True
            if self.blocked is not None:
                self.blocked.cancel()

    def _tick(self) -> float | None:
        """The scheduler's callback: the pending token is due. Returns when to call it
        again (the heap queues it again itself), None when the stream waits no more.

        The steady state (every token after the first) is done here, in one frame: the
        token waited for is due, nothing waits with it, and the frame after it is the next
        token, not yet due; one write, no lists. Anything else is :meth:`advance`'s, with
        the frame already taken."""
        if self.stopped:
            return None
        try:
            pending = self.pending
            if pending is None or self.held:
                return self._then(self.advance())
            pacing, done = self.pacing, self.pending_due
            self.pending = None
            body = self.encode(pending)
            try:
                frame: Frame | None = next(self.frames)
            except StopIteration:
                frame = None
            except BaseException:
                self.ready.append(body)  # made, not written: unsent() has it
                self.dues.append(done)
                raise
            if frame is not None and frame.token:
                linear, tokens = self.linear, self.tokens
                # Pacing.due's own arithmetic, in the same order (so the same float)
                due = (pacing.due(tokens) if linear is None
                       else linear[0] + linear[1] * (tokens + linear[2]))
                now = pacing.clock()  # also the moment the bytes are handed to the server
                if due > now:
                    self.tokens = tokens + 1
                    self.pending, self.pending_due = frame, due
                    self.flushed += 1
                    self.errors(now - done)
                    last, self.last = self.last, now
                    if last < 0:
                        if self.observation is not None:
                            self.observation.first_token = now
                    elif self.itl_add is not None:
                        self.itl_add(now - last)
                    if len(self.errors_kept) >= BACKLOG or len(self.itl_kept) >= BACKLOG:
                        self._fold()
                    write = self.write
                    if write is not None and write(body, True):
                        return due
                    self._send(body, True)
                    return self._then(due)
            self.ready.append(body)
            self.dues.append(done)
            return self._then(self._advance(frame, True))
        except BaseException as exc:  # noqa: BLE001 (handed to the awaiting task)
            self._finish(exc)
            return None

    def _then(self, due: float | None) -> float | None:
        """After a step: wait for a send that suspended, or end, or go on at ``due``."""
        if self.blocked is not None:
            self.blocked.add_done_callback(lambda f: self._unblocked(f, due))
            return None
        if due is None:
            self._finish(None)
        return due

    def _unblocked(self, fut: asyncio.Future[None], due: float | None) -> None:
        self.blocked = None
        exc = None if fut.cancelled() else fut.exception()
        if exc is not None or due is None or self.stopped:
            self._finish(exc)
        else:
            self.call_at(due, self._tick)  # type: ignore[misc]

    def _finish(self, exc: BaseException | None) -> None:
        done = self.done
        if done is not None and not done.done():
            if exc is None:
                done.set_result(None)
            else:
                done.set_exception(exc)

    def advance(self) -> float | None:
        """Send every frame that is due. Returns when the next token is due, None at the end."""
        return self._advance(None, False)

    def _advance(self, peeked: Frame | None, took: bool) -> float | None:
        """:meth:`advance`; ``took``: the pending token is in ``ready`` already and the
        frame after it was taken from the frames (``peeked``, None when there was none)."""
        pacing = self.pacing
        clock, ready, held, dues, encode = pacing.clock, self.ready, self.held, self.dues, \
            self.encode
        frames: Iterator[Frame] = self.frames
        if took and peeked is not None:
            frames = chain((peeked,), frames)
        pending = self.pending
        if pending is not None:  # the token waited for is due now
            if held:
                ready += held
                held.clear()
            ready.append(encode(pending))
            dues.append(self.pending_due)
            self.pending = None
        linear, tokens = self.linear, self.tokens
        for frame in frames:
            if not frame.token:
                held.append(encode(frame))
                continue
            # Pacing.due's own arithmetic, in the same order (so the same float), uncalled
            due = (pacing.due(tokens) if linear is None
                   else linear[0] + linear[1] * (tokens + linear[2]))
            tokens += 1
            if due > clock():
                self.tokens = tokens
                if ready:
                    self._flush(True)
                self.pending, self.pending_due = frame, due
                return due
            if held:
                ready += held
                held.clear()
            ready.append(encode(frame))
            dues.append(due)
        self.tokens = tokens
        if self.closing:
            self.closing = False
            closing = pacing.closing_due(tokens)
            if closing is not None and closing > clock():
                if ready:
                    self._flush(True)
                return closing
        terminator = self.terminator
        if terminator:
            held.append(terminator)
        ready += held
        held.clear()
        if self.on_end is not None:
            self.on_end()
        self._flush(False)
        return None

    def unsent(self) -> tuple[bytes, int]:
        """After a failure: the frames made but not yet written (the due ones, then those
        held for the next token), and how many frames were made in all."""
        parts = [*self.ready, *self.held]
        return b"".join(parts), self.flushed + len(parts)

    def _flush(self, more: bool) -> None:
        """Hand the due frames to the server in one write, noting their tokens' times."""
        ready, dues, pacing = self.ready, self.dues, self.pacing
        now = pacing.clock()  # the moment the bytes are handed to the server
        body = ready[0] if len(ready) == 1 else b"".join(ready)
        self.flushed += len(ready)
        ready.clear()
        if dues:  # pacing errors, the first token, the gap since the last write
            observe = self.errors
            for due in dues:
                observe(now - due)
            itl_sink = self.itl_sink
            if self.last < 0:
                obs = self.observation
                if obs is not None:
                    obs.first_token = now
            elif itl_sink is not None:
                itl_sink.observe(now - self.last)
            if itl_sink is not None and len(dues) > 1:  # tokens sent together: no gap
                itl_sink.observe(0.0, len(dues) - 1)
            if len(self.errors_kept) >= BACKLOG:
                self._fold()
            dues.clear()
            self.last = now
        write = self.write
        if write is None or not write(body, more):
            self._send(body, more)

    def _fold(self) -> None:
        for hist in (self.pacing.errors, self.itl_sink):
            fold = getattr(hist, "fold", None)
            if fold is not None:
                fold()

    def _send(self, body: bytes, more: bool) -> None:
        """The ASGI send of a body message, driven by hand."""
        aw = self.send({"type": "http.response.body", "body": body, "more_body": more})
        if type(aw) is not CoroutineType:  # another kind of awaitable: let the loop run it
            self.blocked = asyncio.ensure_future(aw)
        else:
            # Iterating the coroutine, not ``aw.send(None)``: a send that returns at once
            # (no flow control) ends the loop without a StopIteration to raise and catch.
            for yielded in aw.__await__():
                self.blocked = asyncio.ensure_future(_finish_send(aw, yielded))
                break


_NOTHING_KEPT: list[float] = []


def _adder(hist: Any) -> tuple[Callable[[float], None], list[float]]:
    """The cheapest way to give ``hist`` a sample, and the samples it keeps uncounted (a
    :class:`~mockllm.histogram.Histogram`'s ``add`` and ``pending``; else ``observe``)."""
    add = getattr(hist, "add", None)
    if add is None:
        return hist.observe, _NOTHING_KEPT
    return add, hist.pending


async def _finish_send(coro: Coroutine[Any, Any, None], yielded: Any) -> None:
    """Finish an ASGI send that suspended, as a Task would have: wait for what it yielded
    (an asyncio future, or None for a bare yield), then resume it, until it returns."""
    try:
        while True:
            if yielded is None:
                await asyncio.sleep(0)
            elif not yielded.done():
                # Wait for it without taking its result: the send reads that itself.
                waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                yielded.add_done_callback(partial(_settle, waiter))
                await waiter
            try:
                yielded = coro.send(None)
            except StopIteration:
                return
    except BaseException:
        coro.close()
        raise


def _settle(waiter: asyncio.Future[None], _: object) -> None:
    if not waiter.done():
        waiter.set_result(None)
