"""One request and its response: the ASGI ``receive`` and ``send`` of an HTTP/1.1 exchange.

What the app relies on (mockllm's endpoints, its Pump and its disconnect watchers):

- ``receive()`` gives the body as it arrives, then blocks until the client goes away or the
  response is complete, and then says ``http.disconnect`` (uvicorn does the same: a watcher
  task that waits on ``receive()`` learns this way that the stream is over);
- ``send()`` completes without suspending unless the transport asked us to stop writing
  (flow control), so a Pump can drive it by hand; after a disconnect it drops what it is
  given, as uvicorn does, and the app learns of the disconnect from ``receive()``;
- :meth:`RequestCycle.whole_body` and :meth:`RequestCycle.respond` do what one
  ``receive()`` of a whole body and the two ``send()`` of a whole-body answer do, without
  their coroutines and message dicts, for callers that hold the cycle's own ``receive`` or
  ``send`` (:data:`RECEIVE`, :data:`SEND`: a middleware's wrapper is not them);
- :meth:`RequestCycle.body_writer` gives a Pump the chunked write of a body message without
  the coroutine and the message dict (a paced stream's every later token), for the writes
  where ``send()`` would do nothing else.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from mockllm.http.head import NO_BODY, Framing, build_head, chunk

log = logging.getLogger("mockllm.http")

_DISCONNECT = {"type": "http.disconnect"}
#: Request body bytes buffered before the socket stops being read (until the app reads).
HIGH_WATER = 64 * 1024
_ERROR_500 = (b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain; charset=utf-8"
              b"\r\ncontent-length: 21\r\nconnection: close\r\n\r\nInternal Server Error")


class Connection(Protocol):
    """What a request needs of its connection (mockllm.http.protocol.HttpProtocol)."""

    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    closing: bool
    write_paused: bool
    reading_paused: bool

    def date(self) -> bytes: ...
    def write(self, data: bytes) -> None: ...
    def close(self) -> None: ...
    def pause_reading(self) -> None: ...
    def resume_reading(self) -> None: ...
    async def drain(self) -> None: ...
    def response_done(self, cycle: RequestCycle) -> None: ...


class RequestCycle:
    __slots__ = ("conn", "scope", "keep_alive", "http10", "expect_100", "body", "buffered",
                 "more_body", "body_taken", "waiters", "disconnected", "started",
                 "complete", "framing", "held", "out")

    def __init__(self, conn: Connection, scope: dict[str, Any], keep_alive: bool,
                 http10: bool, expect_100: bool) -> None:
        self.conn = conn
        self.scope = scope
        self.keep_alive = keep_alive
        self.http10 = http10
        #: ``Expect: 100-continue``: the interim answer goes out when the app first reads.
        self.expect_100 = expect_100
        self.body: list[bytes] = []
        self.buffered = 0
        self.more_body = True
        self.body_taken = False  # the last body message (more_body False) was handed out
        #: Tasks waiting in receive(); more than one may wait (a watcher and a reader).
        self.waiters: list[asyncio.Future[None]] = []
        self.disconnected = False
        self.started = False
        self.complete = False
        self.framing: Framing | None = None
        #: A head held back to leave with the first body bytes (one write, not two).
        self.held = b""
        #: The transport's write, for :meth:`write_chunk`.
        self.out: Callable[[bytes], object] | None = None

    # -- the parser's side ---------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        if self.complete:
            return  # the answer went out already: the rest of the body is read and dropped
        self.body.append(data)
        self.buffered += len(data)
        if self.buffered > HIGH_WATER:
            self.conn.pause_reading()
        if self.waiters:  # mostly none: the app reads once the whole body is in
            self.wake()

    def end_of_body(self) -> None:
        self.more_body = False
        if self.waiters:
            self.wake()

    def lost(self) -> None:
        """The connection is gone: every receive() says so from now on."""
        if not self.complete:
            self.disconnected = True
        self.wake()

    def wake(self) -> None:
        waiters = self.waiters
        if waiters:
            self.waiters = []
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)

    # -- ASGI ----------------------------------------------------------------------------

    async def receive(self) -> dict[str, Any]:
        if self.expect_100:
            self.expect_100 = False
            if not self.started and not self.conn.closing:
                self.conn.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        while True:
            if self.disconnected or self.complete:
                return _DISCONNECT
            if self.body or not (self.more_body or self.body_taken):
                return self._take()
            self.conn.resume_reading()
            fut = self.conn.loop.create_future()
            self.waiters.append(fut)
            await fut

    def _take(self) -> dict[str, Any]:
        return {"type": "http.request", "body": self._drain(), "more_body": self.more_body}

    def _drain(self) -> bytes:
        body = self.body
        data = body[0] if len(body) == 1 else b"".join(body)
        body.clear()
        self.buffered = 0
        self.body_taken = not self.more_body
        if self.conn.reading_paused:
            self.conn.resume_reading()
        return data

    def whole_body(self) -> bytes | None:
        """The body ``receive()`` would hand out now, when that is the whole body in one
        message (the request was read to its end and none of it was taken yet: most
        requests), taken as ``receive()`` takes it, without its coroutine and message dict.
        None, with nothing done, where ``receive()`` has more to do: a body still
        arriving, a ``100 Continue`` to send, a client gone, the body taken already."""
        if (self.more_body or self.body_taken or self.expect_100 or self.disconnected
                or self.complete):
            return None
        return self._drain()

    async def send(self, message: dict[str, Any]) -> None:
        conn = self.conn
        if conn.write_paused and not self.disconnected:
            await conn.drain()
        if self.disconnected:
            return
        kind = message["type"]
        if not self.started:
            if kind != "http.response.start":
                raise RuntimeError(f"expected ASGI message 'http.response.start', got {kind!r}")
            self._start(message["status"], message.get("headers", ()))
        elif self.complete:
            raise RuntimeError(f"ASGI message {kind!r} sent after the response was complete")
        elif kind != "http.response.body":
            raise RuntimeError(f"expected ASGI message 'http.response.body', got {kind!r}")
        else:
            self._body(message.get("body", b""), message.get("more_body", False))

    def respond(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> bool:
        """What ``send`` does with ``http.response.start`` and then one ``http.response.body``
        of ``body`` (``more_body`` False), in one call, without the two coroutines and the
        two message dicts: a whole-body answer (mockllm.responses.JsonBytes). False, with
        nothing done, where ``send()`` has more to do: flow control (it would wait), a
        client gone (it drops the answer), a response already started (it raises)."""
        if self.started or self.conn.write_paused or self.disconnected:
            return False
        self._start(status, headers)
        self._body(body, False)
        return True

    def _start(self, status: int, headers: Iterable[tuple[bytes, bytes]]) -> None:
        self.expect_100 = False
        bodiless = status in NO_BODY or self.scope["method"] == "HEAD"
        if type(headers) is not list:  # any iterable of pairs, as ASGI allows
            headers = list(headers)
        # Raises for a bad header: nothing has gone out, so the client still gets a 500.
        framing = build_head(status, headers, self.conn.date(), self.keep_alive, self.http10,
                             bodiless)
        self.started = True
        self.framing = framing
        if framing.close:
            self.keep_alive = False
        if framing.length is not None and framing.length > 0:
            # A whole-body answer: its body follows at once (no await between the two
            # messages in Starlette's Response), so head and body leave in one write.
            self.held = framing.head
        else:
            # A stream: its head goes out now (the client starts reading on it), even if
            # the first token is seconds away.
            self.conn.write(framing.head)

    def _body(self, body: bytes, more: bool) -> None:
        framing = self.framing
        assert framing is not None
        if framing.bodiless:
            out = b""
        elif framing.chunked:
            out = chunk(body, not more)
        else:
            out = body
            if framing.length is not None:
                framing.length -= len(body)
                if framing.length < 0:
                    raise RuntimeError("response body longer than its content-length")
        if self.held:
            out = self.held + out
            self.held = b""
        if out:
            self.conn.write(out)
        if not more:
            if framing.length:
                raise RuntimeError("response body shorter than its content-length")
            self.complete = True
            if self.waiters:
                self.wake()
            self.conn.response_done(self)

    def body_writer(self) -> Callable[[bytes, bool], bool] | None:
        """:meth:`write_chunk`, once the head of a chunked response has gone out; None for
        any other response (its body messages take ``send()``)."""
        framing = self.framing
        if framing is None or not framing.chunked or framing.bodiless or self.held:
            return None
        self.out = self.conn.transport.write
        return self.write_chunk

    def write_chunk(self, body: bytes, more: bool) -> bool:
        """What ``send`` does with ``{"type": "http.response.body", "body": body,
        "more_body": more}`` of a chunked response, when that is only writing the chunk.
        False, with nothing done, where ``send()`` has more to do or check: the last
        chunk (it completes the response), flow control, a client gone, a response
        already complete (an error)."""
        conn = self.conn
        if (not more or conn.write_paused or conn.closing or self.disconnected
                or self.complete):
            return False
        if body:
            self.out(b"%x\r\n%b\r\n" % (len(body), body))  # type: ignore[misc]
        return True

    # -- the app's end ---------------------------------------------------------------------

    def flush(self) -> None:
        """Write a head still held back (the app awaited something before its body)."""
        if self.held:
            self.conn.write(self.held)
            self.held = b""

    def finished(self, exc: BaseException | None) -> None:
        """The app returned (or raised): what the connection does next."""
        if self.held:
            self.flush()
        if self.complete or self.disconnected:
            return
        if exc is not None and not isinstance(exc, asyncio.CancelledError):
            log.error("Exception in ASGI application", exc_info=exc)
        if not self.started and exc is None:
            log.error("ASGI app returned without starting a response")
        if not self.started and not isinstance(exc, asyncio.CancelledError):
            self.conn.write(_ERROR_500)
        # An answer left incomplete (a disconnect fault, a failure mid-stream) ends with the
        # connection, so the client sees a truncated body, not a hang.
        self.complete = True
        self.wake()
        self.conn.close()


#: The functions behind a cycle's bound ``receive`` and ``send``: ``receive.__func__ is
#: RECEIVE`` says the app was handed the cycle's own, with nothing in between.
RECEIVE = RequestCycle.receive
SEND = RequestCycle.send
