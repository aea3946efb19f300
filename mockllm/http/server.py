"""The server: a listening socket, the app's lifespan around it, and a graceful stop.

On SIGTERM or SIGINT the socket stops accepting, idle keep-alive connections close, and
answers in flight get ``shutdown_timeout_s`` to finish (a paced stream ends with its
terminator); what is left is then cancelled, the lifespan shuts down and :meth:`Server.run`
returns 0, as ``mockllm serve`` behaved under uvicorn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
from typing import Any

from mockllm.http.accept import BATCH, Acceptor
from mockllm.http.lifespan import Lifespan
from mockllm.http.protocol import HttpProtocol, ServerState

log = logging.getLogger("mockllm.http")

#: Exit status when the app's start-up failed (uvicorn's, which scripts may test for).
STARTUP_FAILURE = 3
#: Seconds an idle keep-alive connection stays open (uvicorn's default).
KEEP_ALIVE_S = 5.0
BACKLOG = 2048


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: a free one). Raises ``OSError``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


class Server:
    """Serve ``app`` (ASGI 3: ``http`` and ``lifespan``) on ``sock``, a bound socket."""

    def __init__(self, app: Any, sock: socket.socket, *, shutdown_timeout_s: float = 10.0,
                 keep_alive_s: float = KEEP_ALIVE_S, lifespan: bool = True,
                 accept_batch: int = BATCH) -> None:
        self.app = app
        self.sock = sock
        #: Connections taken from the kernel's queue per loop turn (mockllm.http.accept).
        self.accept_batch = accept_batch
        self.shutdown_timeout_s = shutdown_timeout_s
        self.keep_alive_s = keep_alive_s
        self.lifespan = lifespan
        #: Set once the socket accepts connections.
        self.started = threading.Event()
        self.state: ServerState | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def run(self, *, signals: bool = True) -> int:
        """Serve on a new uvloop event loop until stopped; the exit status."""
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(self.serve(signals=signals))

    def stop(self) -> None:
        """Ask for a graceful stop; safe from any thread."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(stop.set)

    async def serve(self, *, signals: bool = True) -> int:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._stop = stop = asyncio.Event()
        if signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
        state = self.state = ServerState(self.app, loop)
        lifespan = Lifespan(self.app, state.lifespan_state) if self.lifespan else None
        if lifespan is not None and not await lifespan.startup():
            return STARTUP_FAILURE
        self.sock.listen(BACKLOG)
        acceptor = Acceptor(loop, self.sock, lambda first, stamp, peer: HttpProtocol(
            state, first, stamp, peer), self.accept_batch)
        acceptor.start()
        ticker = loop.create_task(self._tick(state))
        self.started.set()
        try:
            await stop.wait()
        finally:
            ticker.cancel()
            await self._drain(acceptor, state)
            if lifespan is not None:
                await lifespan.shutdown()
            if signals:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(sig)
        return 0

    async def _tick(self, state: ServerState) -> None:
        """Once a second: idle keep-alive connections past their time are closed."""
        while True:
            await asyncio.sleep(1.0)
            for conn in list(state.connections):
                conn.tick(self.keep_alive_s)

    async def _drain(self, acceptor: Acceptor, state: ServerState) -> None:
        acceptor.close()
        for conn in list(state.connections):
            conn.shutdown()
        tasks = list(state.tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.shutdown_timeout_s)
            if pending:
                log.warning("cancelling %d answers still running after %s s", len(pending),
                            self.shutdown_timeout_s)
                for task in pending:
                    task.cancel()
                await asyncio.wait(pending)
        for conn in list(state.connections):
            conn.close()
        await asyncio.sleep(0)  # the transports' connection_lost callbacks run
