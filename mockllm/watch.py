"""Watching a paced stream's client without a task: cancel the request when it leaves.

A paced stream watches ``receive()`` for the client leaving, to free its load slot at once.
A watcher task per stream cost its creation, a loop turn for its first step and, at the end,
a cancellation thrown through three coroutines in one more loop turn; this drives the
``receive()`` coroutine by hand instead, as :class:`~mockllm.pump.Pump` drives ``send``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from types import CoroutineType
from typing import Any

from starlette.types import Receive


class DisconnectWatch:
    """Cancels ``task`` when the client leaves (ASGI ``receive`` says ``http.disconnect``),
    without a task of its own.

    ``receive()`` is driven by hand, like the pump's sends: stepped once now, then from the
    done callback of the future it waits on. A watcher task per stream cost its creation, a
    loop turn for its first step and, at the end, a cancellation thrown through three
    coroutines in one more loop turn; :meth:`cancel` closes the coroutine at once instead.
    A ``receive`` that returns another kind of awaitable is awaited in a task.
    """

    __slots__ = ("receive", "task", "coro", "fallback", "gone")

    def __init__(self, receive: Receive, task: asyncio.Task[Any] | None) -> None:
        self.receive, self.task = receive, task
        self.coro: Coroutine[Any, Any, Any] | None = None
        self.fallback: asyncio.Future[None] | None = None
        #: The client left (and ``task`` was cancelled for it).
        self.gone = False
        self._listen()

    def _listen(self) -> None:
        while True:
            aw = self.receive()
            if type(aw) is not CoroutineType:
                self.fallback = asyncio.ensure_future(self._await(aw))
                return
            self.coro = aw
            if not self._run(aw):
                return

    def _resume(self, _: object = None) -> None:
        coro = self.coro
        if coro is not None and self._run(coro):  # None: cancelled meanwhile
            self._listen()

    def _run(self, coro: Coroutine[Any, Any, Any]) -> bool:
        """Run a ``receive()`` until it waits again (False) or returns; True when what it
        returned was not a disconnect (a late body chunk, say), so listen again."""
        try:
            yielded = coro.send(None)
        except StopIteration as stop:  # once per stream at most: a message arrived
            self.coro = None
            if stop.value["type"] != "http.disconnect":
                return True
            self._left()
            return False
        except (Exception, asyncio.CancelledError):  # receive() failed: nothing to watch
            self.coro = None
            return False
        if yielded is None:  # a bare yield (``asyncio.sleep(0)``): step again soon
            asyncio.get_running_loop().call_soon(self._resume)
        else:  # an asyncio future, as a Task would be handed
            yielded.add_done_callback(self._resume)
        return False

    async def _await(self, waitable: Any) -> None:
        while (await waitable)["type"] != "http.disconnect":
            waitable = self.receive()
        self._left()

    def _left(self) -> None:
        self.gone = True
        if self.task is not None:
            self.task.cancel()

    def cancel(self) -> None:
        """Stop watching (the response ended or failed); idempotent."""
        coro, self.coro = self.coro, None
        if coro is not None:
            with contextlib.suppress(RuntimeError):  # a receive that will not close: drop it
                coro.close()
        if self.fallback is not None:
            self.fallback.cancel()
