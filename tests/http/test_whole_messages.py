"""A whole body read and a whole-body answer on the own HTTP layer skip the ASGI messages
(``RequestCycle.whole_body``, ``RequestCycle.respond``): the same bytes in the same writes
as through ``receive`` and ``send``, and wherever those have more to do (a wrapper in
between, flow control, a client gone, a body still arriving, ``100 Continue``) the request
still goes through them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.requests import Request

from mockllm.endpoint import Endpoint
from mockllm.errors import ApiError
from mockllm.http.cycle import RequestCycle
from mockllm.http.protocol import HttpProtocol, ServerState
from mockllm.responses import JsonBytes
from mockllm.testing import test_context
from tests.http.test_direct_write import Sink

BODY = b'{"hello": "world"}'


def post(body: bytes = BODY, extra: bytes = b"") -> bytes:
    return (b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\n%b\r\n%b"
            % (len(body), extra, body))


@pytest.fixture(scope="module")
def endpoint() -> Endpoint:
    return Endpoint(test_context())


def echo(endpoint: Endpoint) -> Any:
    """Reads the body as every endpoint does and answers it reversed, as JSON bytes."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            body = await endpoint.read_body(Request(scope, receive))
        except ApiError as exc:
            await JsonBytes(b'{"status": %d}' % exc.status, exc.status)(scope, receive, send)
            return
        await JsonBytes(body[::-1])(scope, receive, send)

    return app


def wrapped(app: Any) -> Any:
    """A pass-through middleware: its receive and send are not the cycle's own."""

    async def middleware(scope: dict[str, Any], receive: Any, send: Any) -> None:
        async def inner_receive() -> Any:
            return await receive()

        async def inner_send(message: Any) -> None:
            await send(message)

        await app(scope, inner_receive, inner_send)

    return middleware


class Spy:
    """Counts what ``whole_body`` and ``respond`` did (None / False: left to the messages)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.bodies: list[bytes | None] = []
        self.answers: list[bool] = []
        whole_body, respond = RequestCycle.whole_body, RequestCycle.respond

        def spy_body(cycle: RequestCycle) -> bytes | None:
            self.bodies.append(whole_body(cycle))
            return self.bodies[-1]

        def spy_respond(cycle: RequestCycle, *args: Any) -> bool:
            self.answers.append(respond(cycle, *args))
            return self.answers[-1]

        monkeypatch.setattr(RequestCycle, "whole_body", spy_body)
        monkeypatch.setattr(RequestCycle, "respond", spy_respond)


def connect(app: Any) -> tuple[HttpProtocol, Sink]:
    """A connection to ``app`` on a transport that keeps what is written."""
    proto, sink = HttpProtocol(ServerState(app, asyncio.get_running_loop())), Sink()
    proto.connection_made(sink)
    return proto, sink


async def until(cond: Any) -> None:
    for _ in range(6000):  # a bound for a busy machine, never a race
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("never happened")


async def exchange(app: Any, *pieces: bytes, requests: int = 1) -> tuple[list[bytes],
                                                                         HttpProtocol]:
    """``pieces`` fed to one connection, one read each; the writes once ``requests`` answers
    are out."""
    proto, sink = connect(app)
    for piece in pieces:
        proto.data_received(piece)
        await asyncio.sleep(0)
    await until(lambda: proto.state.requests >= requests)
    assert proto.state.requests == requests, sink.writes
    proto.connection_lost(None)
    return sink.writes, proto


def without_date(writes: list[bytes]) -> list[bytes]:
    return [b"\r\n".join(line for line in w.split(b"\r\n") if not line.startswith(b"date:"))
            for w in writes]


@pytest.mark.anyio
async def test_the_same_bytes_in_the_same_writes_as_through_the_messages(
        endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy(monkeypatch)
    direct, _ = await exchange(echo(endpoint), post() + post(b"[1, 2]"), requests=2)
    assert spy.bodies == [BODY, b"[1, 2]"] and spy.answers == [True, True]
    through, _ = await exchange(wrapped(echo(endpoint)), post() + post(b"[1, 2]"), requests=2)
    assert len(spy.bodies) == 2 and len(spy.answers) == 2  # not called behind a wrapper
    assert without_date(direct) == without_date(through)
    assert len(direct) == 2  # head and body in one write each
    assert direct[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert direct[0].endswith(b"content-length: 18\r\ncontent-type: application/json\r\n\r\n"
                              + BODY[::-1])
    assert direct[1].endswith(b"\r\n\r\n]2 ,1[")


@pytest.mark.anyio
async def test_a_body_still_arriving_is_read_through_receive(
        endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy(monkeypatch)
    request = post()
    writes, _ = await exchange(echo(endpoint), request[:-5], request[-5:])
    assert spy.bodies == [None]  # the app ran before the body's end was read
    assert writes[-1].endswith(BODY[::-1])


@pytest.mark.anyio
async def test_a_chunked_body_is_read_whole(endpoint: Endpoint,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy(monkeypatch)
    chunked = (b"POST /echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
               b"5\r\n{\"hel\r\nd\r\nlo\": \"world\"}\r\n0\r\n\r\n")
    writes, _ = await exchange(echo(endpoint), chunked)
    assert spy.bodies == [BODY]  # two chunks, read to the end before the app ran: joined
    assert writes[-1].endswith(BODY[::-1])


@pytest.mark.anyio
async def test_expect_100_continue_goes_through_receive(
        endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy(monkeypatch)
    writes, _ = await exchange(echo(endpoint), post(extra=b"expect: 100-continue\r\n"))
    assert spy.bodies == [None]
    assert writes[0] == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert writes[-1].endswith(BODY[::-1])


@pytest.mark.anyio
async def test_the_body_limit_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = test_context()
    ctx.config.server.max_body_bytes = 10
    endpoint = Endpoint(ctx)
    # No content-length to refuse it by: the whole body's length is checked.
    chunked = (b"POST /echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
               b"12\r\n%b\r\n0\r\n\r\n" % BODY)
    spy = Spy(monkeypatch)
    writes, _ = await exchange(echo(endpoint), chunked)
    assert spy.bodies == [BODY]
    assert writes[-1].endswith(b'{"status": 413}')


@pytest.mark.anyio
async def test_a_paused_transport_sends_the_answer_through_send(
        endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy(monkeypatch)
    proto, sink = connect(echo(endpoint))
    proto.pause_writing()
    proto.data_received(post())
    await until(lambda: spy.answers)
    await asyncio.sleep(0)
    assert spy.answers == [False] and sink.writes == []  # send() waits for the drain
    proto.resume_writing()
    await until(lambda: proto.state.requests)
    assert sink.writes[-1].endswith(BODY[::-1])
    proto.connection_lost(None)


@pytest.mark.anyio
async def test_nothing_is_written_for_a_client_gone(
        endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy(monkeypatch)
    read, gone = asyncio.Event(), asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await endpoint.read_body(Request(scope, receive))
        read.set()
        await gone.wait()
        await JsonBytes(b"{}")(scope, receive, send)
        done.set_result(None)

    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    proto, sink = connect(app)
    proto.data_received(post())
    await asyncio.wait_for(read.wait(), 60)  # the body read while the client was there
    proto.connection_lost(None)
    gone.set()
    await asyncio.wait_for(done, 60)
    assert spy.answers == [False] and sink.writes == []
