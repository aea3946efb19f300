"""The acceptor: connections waiting in the kernel's queue are all taken in one loop turn,
and a request is stamped (``mockllm.arrived``) when its bytes are read, before any app runs.

Ordering, not timing: each assertion compares ``time.monotonic()`` readings taken in a
known order, so a slow machine changes the numbers but not the verdicts."""

from __future__ import annotations

import asyncio
import errno
import socket
import threading
import time
from typing import Any

import pytest

from mockllm.http import accept
from mockllm.observe import ARRIVED_KEY
from tests.http.conftest import Replies, connect, request, serving, wait_until


class Recorder:
    """An ASGI app: ``/block`` holds the loop until released; any other path answers 200
    and notes (arrival stamp, when the app began)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.blocking = threading.Event()
        self.seen: list[tuple[float, float]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        began = time.monotonic()
        if scope["path"] == "/block":
            self.blocking.set()
            self.release.wait(60)  # blocks the event loop on purpose
        else:
            self.seen.append((scope[ARRIVED_KEY], began))
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})


def test_a_burst_is_accepted_and_stamped_before_any_of_its_requests_is_answered() -> None:
    app = Recorder()
    with serving(app) as server:
        blocker = connect(server.port)
        blocker.sendall(request("GET", "/block"))
        assert app.blocking.wait(60)
        # The loop is blocked: these connect (the kernel completes the handshake) and their
        # requests wait in the kernel's buffers, all of them, before the loop looks again.
        socks = [connect(server.port) for _ in range(20)]
        for s in socks:
            s.sendall(request("GET", "/x"))
        app.release.set()
        for s in [blocker, *socks]:
            assert Replies(s).read()[0].status == 200
            s.close()
    arrived = [a for a, _ in app.seen]
    began = [b for _, b in app.seen]
    assert len(app.seen) == 20
    # Taken one at a time (uvloop's accept), the first request's app would run before the
    # second connection was even accepted.
    assert max(arrived) <= min(began)


def test_a_request_sent_after_connecting_is_stamped_when_it_comes() -> None:
    app = Recorder()
    with serving(app) as server:
        s = connect(server.port)
        wait_until(lambda: len(server.state.connections) == 1 if server.state else False)
        sent = time.monotonic()
        s.sendall(request("GET", "/later"))
        assert Replies(s).read()[0].status == 200
        s.close()
    (arrived, began), = app.seen
    assert sent <= arrived <= began


def test_a_connection_closed_without_a_byte_costs_nothing() -> None:
    app = Recorder()
    with serving(app) as server:
        for _ in range(5):
            connect(server.port).close()
        s = connect(server.port)
        s.sendall(request("GET", "/after"))
        assert Replies(s).read()[0].status == 200
        s.close()
    assert len(app.seen) == 1


class _Exhausted:
    """A listening socket whose accept() fails as when the process is out of descriptors."""

    family, type, proto = socket.AF_INET, socket.SOCK_STREAM, 0

    def __init__(self) -> None:
        self.reader, self.writer = socket.socketpair()
        self.writer.send(b"x")  # readable, so the loop calls the acceptor
        self.calls = 0

    def fileno(self) -> int:
        return self.reader.fileno()

    def _accept(self) -> tuple[int, Any]:  # what socket.accept() calls, and the acceptor
        self.calls += 1
        raise OSError(errno.EMFILE, "Too many open files")

    def close(self) -> None:
        self.reader.close()
        self.writer.close()


def test_out_of_descriptors_pauses_accepting_instead_of_spinning(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accept, "PAUSE_S", 0.05)
    sock = _Exhausted()

    async def main() -> tuple[int, float]:
        loop = asyncio.get_running_loop()
        acceptor = accept.Acceptor(loop, sock, lambda *a: asyncio.Protocol())  # type: ignore[arg-type]
        t0 = loop.time()
        acceptor.start()
        while sock.calls < 3 and loop.time() - t0 < 60:  # paused, resumed, paused again
            await asyncio.sleep(0.01)
        acceptor.close()
        return sock.calls, loop.time() - t0

    try:
        calls, elapsed = asyncio.run(main())
    finally:
        sock.close()
    assert calls >= 3
    # Still readable all along: an acceptor that did not pause would have been called
    # on every loop turn, thousands of times.
    assert calls <= elapsed / 0.05 + 3


def test_a_paced_answer_is_timed_from_its_requests_arrival() -> None:
    from mockllm.app import build_app
    from mockllm.observe import SCOPE_KEY
    from mockllm.testing import test_context

    inner = build_app(test_context())
    scopes: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await inner(scope, receive, send)
        if scope["type"] == "http":
            scopes.append(scope)

    body = (b'{"model":"gpt-4o","stream":true,"max_tokens":3,'
            b'"messages":[{"role":"user","content":"hi"}]}')
    with serving(app) as server:
        s = connect(server.port)
        s.sendall(request("POST", "/v1/chat/completions", body,
                          headers={"x-mockllm-latency-ms": "ttft=20,itl=1"}))
        reply = Replies(s).read()[0]
        s.close()
    assert reply.status == 200 and b"[DONE]" in reply.body
    (scope,) = scopes
    # The observation (and the plan's pacing, which starts from it) begins when the
    # request's bytes were read, not when the endpoint got to it.
    assert scope[SCOPE_KEY].start == scope[ARRIVED_KEY]
    assert scope[SCOPE_KEY].first_token - scope[ARRIVED_KEY] >= 0.020


def test_without_msg_dontwait_the_first_read_still_does_not_wait(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Where recv() has no MSG_DONTWAIT the socket is made non-blocking first: a client that
    connects and sends later is not waited for."""
    monkeypatch.setattr(accept, "_DONTWAIT", 0)
    app = Recorder()
    with serving(app) as server:
        quiet = connect(server.port)  # connected, nothing sent: the read must not block
        wait_until(lambda: len(server.state.connections) == 1 if server.state else False)
        s = connect(server.port)
        s.sendall(request("GET", "/x"))
        assert Replies(s).read()[0].status == 200
        quiet.sendall(request("GET", "/y"))
        assert Replies(quiet).read()[0].status == 200
        s.close()
        quiet.close()
