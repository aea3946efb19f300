"""``--workers N``: N processes answering on one listening socket, bound once by the
supervisor (this process) before they start, the way uvicorn's supervisor does it.

Why a pre-bound socket: every worker accepts from the same kernel queue, so no port is
taken twice and a worker that dies is replaced without the address ever going away. The
workers are spawned (not forked): each builds its own app and event loop from the start-up
options, with nothing inherited from the supervisor's threads (its embedded state store).
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import threading
from collections.abc import Callable
from multiprocessing.context import SpawnProcess
from typing import Any

from mockllm.http.server import STARTUP_FAILURE

log = logging.getLogger("mockllm.http")

#: Seconds between two looks at the workers (a dead one is replaced).
_CHECK_S = 0.5
#: Seconds a worker gets to stop beyond its own graceful timeout before it is killed.
_GRACE_S = 5.0
#: Connections a worker takes per loop turn: fewer than one process alone takes, so that in
#: a burst the first worker to wake does not take every waiting connection while the others
#: idle (mockllm.http.accept).
WORKER_ACCEPT_BATCH = 64


def _worker(factory: Callable[[], Any], sock: socket.socket, shutdown_timeout_s: float,
            log_level: int) -> None:
    """A worker process: build the app, serve the inherited socket until SIGTERM."""
    import sys

    from mockllm.http.server import Server

    logging.basicConfig(level=logging.WARNING, format="mockllm: %(levelname)s: %(message)s")
    logging.getLogger().setLevel(log_level)
    sock.setblocking(False)
    status = Server(factory(), sock, shutdown_timeout_s=shutdown_timeout_s,
                    accept_batch=WORKER_ACCEPT_BATCH).run()
    sys.exit(status)


class Supervisor:
    def __init__(self, factory: Callable[[], Any], sock: socket.socket, workers: int, *,
                 shutdown_timeout_s: float) -> None:
        self.factory = factory
        self.sock = sock
        self.count = workers
        self.shutdown_timeout_s = shutdown_timeout_s
        self.processes: list[SpawnProcess] = []
        self.stopping = threading.Event()
        self._context = multiprocessing.get_context("spawn")

    def run(self) -> int:
        """Start the workers, replace any that dies, stop them all on SIGTERM or SIGINT."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stopping.set())
        for _ in range(self.count):
            self.processes.append(self._start())
        status = 0
        while not self.stopping.wait(_CHECK_S):
            for i, proc in enumerate(self.processes):
                if proc.is_alive() or self.stopping.is_set():
                    continue
                if proc.exitcode == STARTUP_FAILURE:
                    # It would fail again: stop, rather than restart it in a loop.
                    log.error("a worker's start-up failed; stopping")
                    status = STARTUP_FAILURE
                    self.stopping.set()
                    break
                log.warning("worker %s exited with status %s; starting another",
                            proc.pid, proc.exitcode)
                proc.close()
                self.processes[i] = self._start()
        self._stop_all()
        return status

    def _start(self) -> SpawnProcess:
        proc = self._context.Process(
            target=_worker, name="mockllm-worker", daemon=False,
            args=(self.factory, self.sock, self.shutdown_timeout_s,
                  logging.getLogger().getEffectiveLevel()))
        proc.start()
        return proc

    def _stop_all(self) -> None:
        for proc in self.processes:
            if proc.is_alive():
                proc.terminate()  # SIGTERM: the worker's graceful stop
        for proc in self.processes:
            proc.join(self.shutdown_timeout_s + _GRACE_S)
            if proc.is_alive():
                log.warning("worker %s did not stop; killing it", proc.pid)
                proc.kill()
                proc.join()
