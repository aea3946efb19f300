"""A pytest plugin (entry point ``pytest11``) and helpers to run mockllm inside tests.

``run_server(context)`` starts a real uvicorn server on a free loopback port in a thread, so
the official SDKs talk to it over real sockets. Fixtures:

- ``mockllm_server``: a live server on the embedded default config (entry points off).
- ``mockllm_journal``: that server's request journal, cleared before the test.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from mockllm.app import build_app
from mockllm.context import ServerContext, StartupOptions, create_context
from mockllm.journal import Journal


@dataclass
class LiveServer:
    url: str
    context: ServerContext

    @property
    def openai_url(self) -> str:
        return self.url + "/v1"


@contextlib.contextmanager
def run_server(context: ServerContext, timeout: float = 60.0) -> Iterator[LiveServer]:
    """Serve ``context`` on 127.0.0.1 (a free port) for the duration of the block."""
    config = uvicorn.Config(build_app(context), host="127.0.0.1", port=0, log_level="warning",
                            access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="mockllm-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("mockllm test server did not start")
        time.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", context)
    finally:
        server.should_exit = True
        thread.join(timeout)


@contextlib.contextmanager
def run_config(text: str, **kwargs: object) -> Iterator[LiveServer]:
    """A live server on the config ``text`` (YAML), written to a temporary file."""
    with tempfile.TemporaryDirectory(prefix="mockllm-") as folder:
        path = Path(folder) / "config.yaml"
        path.write_text(text)
        with run_server(test_context(config_path=str(path), **kwargs)) as live:
            yield live


def test_context(**kwargs: object) -> ServerContext:
    """A fresh context with entry-point autoload off unless asked (tests stay hermetic)."""
    kwargs.setdefault("autoload", False)
    return create_context(StartupOptions(**kwargs))  # type: ignore[arg-type]


test_context.__test__ = False  # type: ignore[attr-defined]  # not a test, despite its name


@pytest.fixture
def mockllm_server() -> Iterator[LiveServer]:
    with run_server(test_context()) as live:
        yield live


@pytest.fixture
def mockllm_journal(mockllm_server: LiveServer) -> Journal:
    mockllm_server.context.journal.clear()
    return mockllm_server.context.journal
