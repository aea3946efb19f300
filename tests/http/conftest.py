"""Helpers for the HTTP layer's tests: a server in a thread (mockllm's app or a small ASGI
app of the test's own), and a raw HTTP/1.1 client that parses exactly what came back."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httptools
import pytest

from mockllm.http import Server, bind
from mockllm.testing import LiveServer, run_server, test_context


def wait_until(cond: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60  # a bound for a busy machine, never a race
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.005)
    assert cond()


@contextlib.contextmanager
def serving(app: Any, **kwargs: Any) -> Iterator[Server]:
    """``app`` (ASGI 3) on mockllm's server in a thread, on a free port."""
    server = Server(app, bind("127.0.0.1", 0), **kwargs)
    thread = threading.Thread(target=server.run, kwargs={"signals": False}, daemon=True)
    thread.start()
    assert server.started.wait(60)
    try:
        yield server
    finally:
        server.stop()
        thread.join(60)
        server.sock.close()


@pytest.fixture
def own() -> Iterator[LiveServer]:
    """The embedded default config, served by mockllm's HTTP layer."""
    with run_server(test_context(), http="mockllm") as live:
        yield live


def port_of(live: LiveServer) -> int:
    return int(live.url.rsplit(":", 1)[1])


@dataclass
class Reply:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    raw_headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    complete: bool = False


class Replies:
    """The responses on one connection, parsed as they arrive (httptools' parser)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.done: list[Reply] = []
        self.current: Reply | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False

    def on_message_begin(self) -> None:
        self.current = Reply()

    def on_header(self, name: bytes, value: bytes) -> None:
        assert self.current is not None
        self.current.raw_headers.append((name.lower(), value))
        self.current.headers[name.decode().lower()] = value.decode()

    def on_headers_complete(self) -> None:
        assert self.current is not None
        self.current.status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        assert self.current is not None
        self.current.body += body

    def on_message_complete(self) -> None:
        assert self.current is not None
        self.current.complete = True
        self.done.append(self.current)
        self.current = None

    def read(self, count: int = 1) -> list[Reply]:
        """Until ``count`` responses are complete or the server closes the connection."""
        while len(self.done) < count and not self.closed:
            data = self.sock.recv(65536)
            if not data:
                self.closed = True
                if self.current is not None:  # a body that ends with the connection
                    self.done.append(self.current)
                    self.current = None
                break
            self.parser.feed_data(data)
        return self.done

    def until_head(self) -> Reply:
        """Until the head of the next response is in (its body may still be coming)."""
        while self.current is None or not self.current.status:
            data = self.sock.recv(65536)
            assert data, "the connection closed before a response head"
            self.parser.feed_data(data)
        return self.current

    def until_closed(self) -> bool:
        """True once the server closed the connection (nothing more came)."""
        self.sock.settimeout(60)
        while not self.closed:
            data = self.sock.recv(65536)
            if not data:
                self.closed = True
                if self.current is not None:  # a body that ends with the connection
                    self.done.append(self.current)
                    self.current = None
            else:
                self.parser.feed_data(data)
        return self.closed


def read_head(sock: socket.socket) -> bytes:
    """One response head, byte by byte (HEAD's answer: no parser knows no body follows)."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)
        assert byte, head
        head += byte
    return head


def connect(port: int, host: str = "127.0.0.1") -> socket.socket:
    return socket.create_connection((host, port), timeout=60)


def request(method: str, path: str, body: bytes = b"", *, headers: dict[str, str] | None = None,
            version: str = "1.1") -> bytes:
    lines = [f"{method} {path} HTTP/{version}", "host: localhost"]
    all_headers = {"content-type": "application/json", **(headers or {})}
    if body and "transfer-encoding" not in all_headers:
        all_headers.setdefault("content-length", str(len(body)))
    lines += [f"{k}: {v}" for k, v in all_headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
