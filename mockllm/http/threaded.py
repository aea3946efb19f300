"""An HTTP server in a thread of this process, on a free port of 127.0.0.1: what
:func:`mockllm.testing.run_server` (the pytest fixtures) serves on, with either server."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def serve_in_thread(app: Any, http: str, shutdown_timeout_s: float,
                    timeout: float = 60.0) -> Iterator[int]:
    """Serve ``app`` on ``http`` (``mockllm`` or ``uvicorn``) for the block; its port."""
    serve = _own if http == "mockllm" else _uvicorn
    with serve(app, shutdown_timeout_s, timeout) as port:
        yield port


@contextlib.contextmanager
def _own(app: Any, shutdown_timeout_s: float, timeout: float) -> Iterator[int]:
    from mockllm.http import Server, bind

    server = Server(app, bind("127.0.0.1", 0),
                    shutdown_timeout_s=shutdown_timeout_s)
    status: list[int] = []
    thread = threading.Thread(target=lambda: status.append(server.run(signals=False)),
                              name="mockllm-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started.wait(0.005):
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("mockllm test server did not start")
    try:
        yield server.port
    finally:
        server.stop()
        thread.join(timeout)
        server.sock.close()


@contextlib.contextmanager
def _uvicorn(app: Any, shutdown_timeout_s: float, timeout: float) -> Iterator[int]:
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                            access_log=False, lifespan="on",
                            # typed int by uvicorn, used as an asyncio timeout: a float works
                            timeout_graceful_shutdown=shutdown_timeout_s,  # type: ignore[arg-type]
                            )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="mockllm-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("mockllm test server did not start")
        time.sleep(0.005)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout)
