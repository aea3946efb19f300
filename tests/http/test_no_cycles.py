"""A served request leaves no reference cycle behind: what it allocated is freed by reference
counting when its connection closes, not left to the cyclic collector.

Why it matters: the server runs the collector's middle generation ten times less often than
CPython does (mockllm.lifespan.GEN1_THRESHOLD), which is only safe while requests make no
cyclic garbage; and garbage the collector must find is walked with every live stream.
"""

from __future__ import annotations

import gc
import json
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mockllm.app import build_app
from mockllm.http import Server
from mockllm.testing import test_context
from tests.http.conftest import connect, request, serving, wait_until

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 8}


def _read_to_close(sock: socket.socket) -> bytes:
    # Not conftest's Replies: its httptools parser holds the Replies (a cycle of the test's
    # own, which the httptools filter below would count).
    sock.settimeout(60)
    out = b""
    while data := sock.recv(65536):
        out += data
    sock.close()
    return out


def _ask(port: int, method: str, path: str, body: Any = None, raw: bytes | None = None,
         keep: int = 1) -> bytes:
    """``keep`` requests on one connection, the last with ``connection: close``."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
    sock = connect(port)
    for i in range(keep):
        headers = {"connection": "close"} if i == keep - 1 else {}
        sock.sendall(request(method, path, data, headers=headers))
        if i < keep - 1:  # a keep-alive answer: the next request goes once it began
            sock.recv(1)
    return _read_to_close(sock)


def _left_mid_stream(port: int) -> bytes:
    """A client that leaves once the stream's head came, its tokens not yet sent."""
    sock = connect(port)
    sock.sendall(request("POST", "/v1/chat/completions", json.dumps(
        {**CHAT, "stream": True, "max_tokens": 50}).encode()))
    head = sock.recv(65536)
    sock.close()
    return head


def _garbage(server: Server, run: Callable[[], object]) -> list[str]:
    """The server-side objects that only the cyclic collector would have freed."""
    gc.collect()
    gc.disable()
    try:
        run()
        assert server.state is not None
        wait_until(lambda: not server.state.connections and not server.state.tasks)
        time.sleep(0.05)  # the last callbacks of the loop after the connection went
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        found = [type(o).__module__ + "." + type(o).__qualname__ for o in gc.garbage]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    # The test's own objects (socket, pytest) are not the server's.
    return [name for name in found if name.startswith(("mockllm.", "uvloop.", "httptools."))]


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """The embedded default config on mockllm's own server, whose connections we can see."""
    with serving(build_app(test_context())) as plain:
        yield plain


CASES: dict[str, Callable[[int], object]] = {
    "chat": lambda port: _ask(port, "POST", "/v1/chat/completions", CHAT, keep=3),
    "stream": lambda port: _ask(port, "POST", "/v1/chat/completions",
                                {**CHAT, "stream": True}, keep=2),
    "messages": lambda port: _ask(port, "POST", "/v1/messages", {
        "model": "claude-sonnet-4-5", "max_tokens": 8,
        "messages": [{"role": "user", "content": "hi"}]}),
    "bad json": lambda port: _ask(port, "POST", "/v1/chat/completions", raw=b"{nope"),
    "unknown model": lambda port: _ask(port, "POST", "/v1/chat/completions",
                                       {**CHAT, "model": "nope"}),
    "no route": lambda port: _ask(port, "GET", "/nowhere"),
    "malformed http": lambda port: _read_to_close(_sent(port, b"BREW / HTCPCP/1.0\r\n\r\n")),
    "left mid-stream": _left_mid_stream,
}


def _sent(port: int, data: bytes) -> socket.socket:
    sock = connect(port)
    sock.sendall(data)
    return sock


@pytest.mark.parametrize("case", list(CASES))
def test_a_request_leaves_no_cycle_behind(server: Server, case: str) -> None:
    port = server.sock.getsockname()[1]
    CASES[case](port)  # warm: first-use caches are not a request's garbage
    answered = []
    assert _garbage(server, lambda: answered.extend(CASES[case](port) for _ in range(5))) == []
    assert all(answered)

