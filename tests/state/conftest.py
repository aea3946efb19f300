"""Real processes for the shared-state tests: ``mockllm serve`` and Debian's ``redis-server``.

No test skips for lack of redis-server: ``.ci/run`` installs it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
import pytest
import redis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proc:
    """A child process with its output in a temporary file (read on failure)."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.log: IO[str] = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen(args, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     text=True)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(20)
        self.log.close()


@contextlib.contextmanager
def redis_server() -> Iterator[tuple[str, Proc]]:
    """A real redis-server on a free port, nothing saved to disk: (url, process)."""
    exe = shutil.which("redis-server")
    assert exe, "redis-server is missing: apt-get install -y redis-server (.ci/run does)"
    port = free_port()
    directory = tempfile.mkdtemp(prefix="mockllm-redis-")
    proc = Proc([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", directory])
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if proc.proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"redis-server did not start: {proc.output()}")
                time.sleep(0.05)
        yield url, proc
    finally:
        client.close()
        proc.stop()
        shutil.rmtree(directory, ignore_errors=True)


def serve(config: Path, *extra: str) -> tuple[str, Proc]:
    """``mockllm serve --config CONFIG EXTRA...`` on a free port, once it answers /health."""
    port = free_port()
    # Hermetic: no installed plugin; tests/plugins/echo_chat.py is a second openai.chat for
    # the switch tests (importable from the repository root).
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "MOCKLLM_DISABLE_PLUGIN_AUTOLOAD": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    proc = Proc([sys.executable, "-m", "mockllm", "serve", "--config", str(config),
                 "--port", str(port), "-p", "tests.plugins.echo_chat",
                 "--use", "openai.chat=builtin", *extra], env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/health").status_code == 200:
                return url, proc
        except httpx.TransportError:
            pass
        if proc.proc.poll() is not None or time.monotonic() > deadline:
            out = proc.output()
            proc.stop()
            pytest.fail(f"mockllm serve did not start: {out}")
        time.sleep(0.05)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with redis_server() as (url, _):
        yield url
