"""mockllm's HTTP layer on the wire, over raw sockets: keep-alive, pipelining, request body
framings, ``Expect: 100-continue``, HEAD, HTTP/1.0, ``Connection: close``, and what a
broken or oversized request gets."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from pathlib import Path
from typing import Any

import pytest

from mockllm.http.cycle import HIGH_WATER
from mockllm.testing import LiveServer, run_server, test_context
from tests.http.conftest import (
    Replies,
    connect,
    port_of,
    read_head,
    request,
    serving,
    wait_until,
)

CHAT = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}).encode()


def _stream_body(tokens: int = 5) -> bytes:
    return json.dumps({"model": "gpt-4o", "stream": True, "max_tokens": tokens,
                       "messages": [{"role": "user", "content": "hi"}]}).encode()


def test_keep_alive_answers_requests_one_after_another(own: LiveServer) -> None:
    with connect(port_of(own)) as sock:
        replies = Replies(sock)
        for n in range(1, 4):
            sock.sendall(request("POST", "/v1/chat/completions", CHAT))
            got = replies.read(n)
            assert len(got) == n and got[-1].status == 200
            assert json.loads(got[-1].body)["object"] == "chat.completion"
        assert not replies.closed
        assert {"date", "server", "content-length"} <= set(got[0].headers)


def test_pipelined_requests_are_answered_in_order(own: LiveServer) -> None:
    # The first is the slowest (a 300 ms TTFT): its answer must still come first.
    slow = request("POST", "/v1/chat/completions", CHAT,
                   headers={"x-mockllm-latency-ms": "ttft=300"})
    stream = request("POST", "/v1/chat/completions", _stream_body())
    last = request("GET", "/health", headers={"connection": "close"})
    with connect(port_of(own)) as sock:
        sock.sendall(slow + stream + request("GET", "/v1/models") + last)
        replies = Replies(sock)
        got = replies.read(4)
        assert [r.status for r in got] == [200, 200, 200, 200]
        assert json.loads(got[0].body)["object"] == "chat.completion"
        assert got[1].headers["transfer-encoding"] == "chunked"
        assert got[1].body.endswith(b"data: [DONE]\n\n")
        assert json.loads(got[2].body)["object"] == "list"
        assert json.loads(got[3].body)["status"] == "ok"
        assert got[3].headers["connection"] == "close"
        assert replies.until_closed()


def test_a_chunked_request_body_is_read_whole(own: LiveServer) -> None:
    parts = [CHAT[:10], CHAT[10:11], CHAT[11:]]
    body = b"".join(b"%x\r\n%b\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
    with connect(port_of(own)) as sock:
        sock.sendall(request("POST", "/v1/chat/completions", body,
                             headers={"transfer-encoding": "chunked"}))
        [reply] = Replies(sock).read(1)
    assert reply.status == 200
    assert own.journal()[-1].body == CHAT.decode()


def test_expect_100_continue_gets_its_interim_answer_before_the_body(own: LiveServer) -> None:
    head = request("POST", "/v1/chat/completions", headers={
        "content-length": str(len(CHAT)), "expect": "100-continue"})
    with connect(port_of(own)) as sock:
        sock.sendall(head)
        interim = b""
        while not interim.endswith(b"\r\n\r\n"):
            interim += sock.recv(1)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(CHAT)
        [reply] = Replies(sock).read(1)
    assert reply.status == 200


def test_head_has_the_headers_and_no_body(own: LiveServer) -> None:
    with connect(port_of(own)) as sock:
        sock.sendall(request("HEAD", "/health"))
        head = read_head(sock)
        # The same connection answers next: no stray body bytes were left on it.
        sock.sendall(request("GET", "/health"))
        [get] = Replies(sock).read(1)
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert f"content-length: {len(get.body)}\r\n".encode() in head
    assert get.status == 200 and json.loads(get.body) == {"status": "ok"}


def test_http_1_0_gets_no_chunks_and_the_connection_closes(own: LiveServer) -> None:
    with connect(port_of(own)) as sock:
        sock.sendall(request("POST", "/v1/chat/completions", _stream_body(), version="1.0"))
        replies = Replies(sock)
        assert replies.until_closed()
    [reply] = replies.done
    assert "transfer-encoding" not in reply.headers
    assert reply.headers["connection"] == "close"
    assert reply.body.startswith(b"data: {") and reply.body.endswith(b"data: [DONE]\n\n")


def test_connection_close_is_honoured(own: LiveServer) -> None:
    with connect(port_of(own)) as sock:
        sock.sendall(request("GET", "/health", headers={"connection": "close"}))
        replies = Replies(sock)
        assert replies.until_closed()
    assert [r.status for r in replies.done] == [200]


@pytest.mark.parametrize("raw", [
    b"GARBAGE\r\n\r\n",
    b"GET / HTTP/1.1\r\nhost: x\r\ncontent-length: nope\r\n\r\n",
    b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
    b"GET /\xff\xfe HTTP/1.1\r\nhost: x\r\n\r\n",
])
def test_malformed_http_is_a_plain_400_and_the_connection_closes(
        own: LiveServer, raw: bytes, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING), connect(port_of(own)) as sock:
        sock.sendall(raw)
        replies = Replies(sock)
        assert replies.until_closed()
    [reply] = replies.done
    assert reply.status == 400
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"
    assert reply.body == b"Invalid HTTP request received."
    assert not [r for r in caplog.records if r.exc_info]


def test_a_malformed_request_after_a_good_one_is_refused_after_its_answer(
        own: LiveServer) -> None:
    with connect(port_of(own)) as sock:
        sock.sendall(request("GET", "/health") + b"NOT HTTP\r\n\r\n")
        replies = Replies(sock)
        assert replies.until_closed()
    assert [r.status for r in replies.done] == [200, 400]


@pytest.mark.parametrize("headers", [
    {"x-big": "a" * (70 * 1024)},
    {f"x-h{i}": "v" for i in range(250)},
])
def test_oversized_headers_are_refused_with_431(own: LiveServer,
                                                headers: dict[str, str]) -> None:
    with connect(port_of(own)) as sock:
        sock.sendall(request("GET", "/health", headers=headers))
        replies = Replies(sock)
        assert replies.until_closed()
    assert [r.status for r in replies.done] == [431]


@pytest.mark.parametrize("chunked", [False, True])
def test_an_oversized_body_gets_the_providers_413_and_the_connection_lives_on(
        tmp_path: Path, chunked: bool) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("server: {max_body_bytes: 1000}\n")
    big = json.dumps({"model": "gpt-4o",
                      "messages": [{"role": "user", "content": "x" * 5000}]}).encode()
    if chunked:
        body = b"".join(b"%x\r\n%b\r\n" % (len(big[i:i + 700]), big[i:i + 700])
                        for i in range(0, len(big), 700)) + b"0\r\n\r\n"
        head = {"transfer-encoding": "chunked"}
    else:
        body, head = big, {}
    with run_server(test_context(config_path=str(config)), http="mockllm") as live, \
            connect(port_of(live)) as sock:
        sock.sendall(request("POST", "/v1/chat/completions", body, headers=head))
        sock.sendall(request("POST", "/v1/chat/completions", CHAT))
        first, second = Replies(sock).read(2)
    assert first.status == 413
    error = json.loads(first.body)["error"]
    assert error["message"] == "Request body too large: the limit is 1000 bytes."
    assert error["type"] == "invalid_request_error"
    assert second.status == 200


def _lifespan_app(app: Any) -> Any:
    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
        else:
            await app(scope, receive, send)
    return wrapped


async def _ok(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


def test_an_idle_keep_alive_connection_is_closed() -> None:
    with serving(_lifespan_app(_ok), keep_alive_s=1) as server, connect(server.port) as sock:
        sock.sendall(request("GET", "/"))
        replies = Replies(sock)
        assert [r.body for r in replies.read(1)] == [b"ok"]
        assert replies.until_closed()  # nothing more was sent: the server hung up


def test_accepted_sockets_have_tcp_nodelay() -> None:
    # Each token must leave when it is written (docs/latency.md, "Nagle").
    with serving(_lifespan_app(_ok)) as server, connect(server.port) as sock:
        sock.sendall(request("GET", "/"))
        Replies(sock).read(1)
        assert server.state is not None
        [conn] = server.state.connections
        raw = conn.transport.get_extra_info("socket")
        assert raw.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_the_next_request_does_not_wait_for_an_app_still_running_after_its_answer() -> None:
    # As under uvicorn: an app may go on after its last byte (a watcher, background work);
    # the keep-alive connection answers the next request meanwhile.
    release = asyncio.Event()
    finished: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await _ok(scope, receive, send)
        if scope["path"] == "/lingers":
            await release.wait()
            finished.append("lingers")
        else:
            release.set()

    with serving(_lifespan_app(app)) as server, connect(server.port) as sock:
        replies = Replies(sock)
        sock.sendall(request("GET", "/lingers"))
        assert [r.body for r in replies.read(1)] == [b"ok"]
        sock.sendall(request("GET", "/next"))  # would time out if it waited for /lingers
        assert [r.body for r in replies.read(2)] == [b"ok", b"ok"]
        wait_until(lambda: finished == ["lingers"])


def test_the_next_request_is_read_after_an_answer_that_left_a_large_body_unread() -> None:
    # The app answers (as the 413 of an oversized content-length does) without reading a body
    # bigger than the server buffers; the socket was paused for it. The next request on the
    # keep-alive connection must still be read (it once never was: the client hung).
    release = asyncio.Event()
    loop: list[asyncio.AbstractEventLoop] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["path"] == "/unread":
            loop.append(asyncio.get_running_loop())
            await release.wait()
        await _ok(scope, receive, send)

    big = b"a" * (4 * HIGH_WATER)
    with serving(_lifespan_app(app)) as server, connect(server.port) as sock:
        sock.settimeout(30)  # generous: a hang fails here, never a busy machine
        sock.sendall(request("POST", "/unread", big))
        assert server.state is not None
        wait_until(lambda: bool(loop) and any(c.reading_paused for c in server.state.connections))
        loop[0].call_soon_threadsafe(release.set)
        replies = Replies(sock)
        assert [r.body for r in replies.read(1)] == [b"ok"]
        sock.sendall(request("GET", "/next"))
        assert [r.body for r in replies.read(2)] == [b"ok", b"ok"]
