"""The load model: a model serves at most ``max_concurrent`` sequences at once.

Requests past that wait in a bounded FIFO queue; the schedule of a queued request starts when
it gets a slot, so the wait shows in the TTFT its client measures. When the queue is full the
request is refused *at plan time* (synchronously), so the client gets a clean 429/503/529 in
its provider's envelope before any stream starts.

Admission is split in two because planning is synchronous and waiting is not:
:meth:`LoadModel.admit` (plan time) takes a slot or a queue place, or raises;
:meth:`Ticket.wait` (before the first token) waits for the slot; :meth:`Ticket.release`
(after the last token, or on any exit) frees it and hands it to the next in line.

Without a ``load`` config a model still gets an unbounded LoadModel, used only by paced
requests, so ``vllm:num_requests_running`` counts them. Zero-latency requests never touch it.
"""

from __future__ import annotations

import asyncio
from collections import deque

from mockllm.engine.schema import LoadConfig
from mockllm.errors import ApiError


class Ticket:
    """One request's claim on a slot. Release it exactly once (extra calls do nothing)."""

    __slots__ = ("load", "tokens", "granted", "released", "_future")

    def __init__(self, load: LoadModel, tokens: int, granted: bool) -> None:
        self.load = load
        self.tokens = tokens
        self.granted = granted
        self.released = False
        self._future: asyncio.Future[None] | None = None

    async def wait(self) -> None:
        """Wait until the slot is granted (returns at once when it already is)."""
        if self.granted:
            return
        self._future = asyncio.get_running_loop().create_future()
        await self._future

    def _grant(self) -> None:
        self.granted = True
        if self._future is not None and not self._future.done():
            self._future.set_result(None)

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        self.load._release(self)


class LoadModel:
    """Running and waiting sequences of one model, and the time factor under load."""

    def __init__(self, config: LoadConfig | None = None) -> None:
        self.config = config
        self.max_concurrent = config.max_concurrent if config is not None else 0
        self.queue_size = config.queue_size if config is not None else 0
        factor = config.time_factor_under_load if config is not None else 1.0
        # factor(running) = 1 + slope * (running - 1): 1 alone, time_factor at max_concurrent.
        self._slope = (factor - 1) / (self.max_concurrent - 1) if self.max_concurrent > 1 else 0.0
        self.varies = self._slope != 0.0
        self.running = 0
        self.waiting = 0
        self.running_tokens = 0
        self._queue: deque[Ticket] = deque()

    @property
    def bounded(self) -> bool:
        return self.max_concurrent > 0

    def admit(self, tokens: int = 0) -> Ticket:
        """A slot now, a place in the queue, or an ApiError when the queue is full."""
        if not self.bounded or self.running < self.max_concurrent:
            self.running += 1
            self.running_tokens += tokens
            return Ticket(self, tokens, True)
        if self.waiting >= self.queue_size:
            assert self.config is not None
            status = self.config.reject_status
            raise ApiError(
                status,
                f"The server is overloaded: {self.running} requests are running and "
                f"{self.waiting} are queued. Please retry.",
                headers={"retry-after": "1"},
            )
        ticket = Ticket(self, tokens, False)
        self.waiting += 1
        self._queue.append(ticket)
        return ticket

    def _release(self, ticket: Ticket) -> None:
        if not ticket.granted:
            self.waiting -= 1  # left the queue; skipped lazily when it reaches the front
            return
        self.running -= 1
        self.running_tokens -= ticket.tokens
        queue = self._queue
        while queue and self.running < self.max_concurrent:
            nxt = queue.popleft()
            if nxt.released:
                continue
            self.waiting -= 1
            self.running += 1
            self.running_tokens += nxt.tokens
            nxt._grant()

    def factor(self) -> float:
        """How much slower a step is with ``running`` sequences (``time_factor_under_load``)."""
        if not self.varies or self.running <= 1:
            return 1.0
        return 1.0 + self._slope * (min(self.running, self.max_concurrent) - 1)

    def kv_cache_usage(self) -> float:
        """0..1: tokens held over ``kv_cache_tokens``, else running over ``max_concurrent``."""
        if self.config is None:
            return 0.0
        if self.config.kv_cache_tokens > 0:
            return min(self.running_tokens / self.config.kv_cache_tokens, 1.0)
        return min(self.running / self.max_concurrent, 1.0)
