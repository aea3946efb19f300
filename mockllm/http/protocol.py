"""One client connection: httptools parses, a :class:`RequestCycle` per request answers.

Why tasks are reused, not made per request (uvicorn's way): a keep-alive client sends
request after request on one socket; the task that answered the last one waits on a future
for the next, which costs less than creating, scheduling and collecting a new task each
time. Only when an app still runs after its answer is complete (a watcher, background work)
does the next request get a task of its own, so it never waits for that app. Pipelined
requests are queued and started one at a time, when the answer before them is complete, so
their responses can never interleave.

Context variables set by the app live in that task's context; mockllm's endpoints reset what
they set, so nothing leaks from one request to the next.
"""

from __future__ import annotations

import asyncio
import logging
import select
import time
import urllib.parse
from collections import deque
from typing import Any

import httptools

from mockllm.http.cycle import RequestCycle
from mockllm.http.head import DateHeader
from mockllm.observe import ARRIVED_KEY

log = logging.getLogger("mockllm.http")

#: Bytes of the request line and headers together; past it, 431 and the connection closes.
MAX_HEAD_BYTES = 64 * 1024
#: Header lines of one request; past it, 431 as well.
MAX_HEADERS = 200
_ASGI = {"version": "3.0", "spec_version": "2.3"}


class BadRequest(Exception):
    """What the client sent cannot be answered; it gets ``status`` in plain text."""

    def __init__(self, status: int, reason: str, text: str) -> None:
        super().__init__(text)
        self.status, self.reason, self.text = status, reason, text

    def response(self) -> bytes:
        body = self.text.encode("ascii")
        return (b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
                b"content-length: %d\r\nconnection: close\r\n\r\n%s"
                % (self.status, self.reason.encode("ascii"), len(body), body))


_MALFORMED = BadRequest(400, "Bad Request", "Invalid HTTP request received.")
_TOO_LARGE = BadRequest(431, "Request Header Fields Too Large",
                        "Request header fields too large.")


class ServerState:
    """What the connections of one server share."""

    __slots__ = ("app", "loop", "date", "connections", "tasks", "lifespan_state", "requests")

    def __init__(self, app: Any, loop: asyncio.AbstractEventLoop) -> None:
        #: The ASGI 3 application.
        self.app = app
        self.loop = loop
        self.date = DateHeader()
        self.connections: set[HttpProtocol] = set()
        #: One task per connection that is answering (or waiting for) a request.
        self.tasks: set[asyncio.Task[None]] = set()
        #: What the app's lifespan put in ``scope["state"]``; each request gets a copy.
        self.lifespan_state: dict[str, Any] = {}
        #: Responses completed.
        self.requests = 0


class HttpProtocol(asyncio.Protocol):
    """``first``: bytes already read from the connection when it was accepted (at
    ``stamp``, a ``time.monotonic()`` reading; :mod:`.accept`), parsed before anything the
    transport reads; ``peer``: the client's address, when the acceptor knows it."""

    # Slots: an open connection (10,000 idle streams in the memory benchmark) has no dict.
    __slots__ = ("state", "first", "stamp", "loop", "date", "transport", "parser", "server",
                 "client", "url", "headers", "head_bytes", "expect_100", "now", "began",
                 "parsing", "active", "queue", "next", "bad", "write_paused",
                 "reading_paused", "drains", "idle", "closing")

    def __init__(self, state: ServerState, first: bytes = b"", stamp: float = 0.0,
                 peer: Any = None) -> None:
        self.state = state
        # The stamp belongs to those bytes only: what the transport reads later is stamped
        # when it is read.
        self.first, self.stamp = first, stamp if first else 0.0
        self.loop = state.loop
        self.date = state.date
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.parser = httptools.HttpRequestParser(self)
        self.server: tuple[str, int] | None = None
        self.client: tuple[str, int] | None = None if peer is None else _address(peer)
        # the request being parsed
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_bytes = 0
        self.expect_100 = False
        self.now = 0.0  # when the bytes being parsed were read (time.monotonic())
        self.began = 0.0  # when the first bytes of the request being parsed were read
        self.parsing: RequestCycle | None = None
        # the requests being answered, in order; the first one is the app's
        self.active: RequestCycle | None = None
        self.queue: deque[RequestCycle] = deque()
        #: An idle task of this connection waits on it for the next request.
        self.next: asyncio.Future[RequestCycle | None] | None = None
        self.bad: BadRequest | None = None  # answered once the requests before it are
        # flow control
        self.write_paused = False
        self.reading_paused = False
        self.drains: list[asyncio.Future[None]] = []
        self.idle = 0  # server ticks since the last byte, while nothing is being answered
        self.closing = False

    # -- asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.state.connections.add(self)
        self.server = _address(transport.get_extra_info("sockname"))
        if self.client is None:  # not accepted by mockllm.http.accept
            self.client = _address(transport.get_extra_info("peername"))
        first = self.first
        if first:
            self.first = b""
            self.data_received(first)  # read at self.stamp

    def data_received(self, data: bytes) -> None:
        stamp = self.stamp
        if stamp:  # the bytes the acceptor read (no call to make on every later read)
            self.now, self.stamp = stamp, 0.0
        else:
            self.now = time.monotonic()
        self.idle = 0
        if self.bad is not None:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass  # no WebSocket or h2c here: the request is answered as plain HTTP/1.1
        except BadRequest as exc:
            self._refuse(exc)
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__
            self._refuse(cause if isinstance(cause, BadRequest) else _MALFORMED)
        except httptools.HttpParserError:
            self._refuse(_MALFORMED)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.state.connections.discard(self)
        for cycle in (self.active, *self.queue):
            if cycle is not None:
                cycle.lost()
        if self.parsing is not None:
            self.parsing.lost()
        self._resume_writers()
        nxt = self.next
        if nxt is not None and not nxt.done():
            nxt.set_result(None)
        # The parser holds this protocol's bound methods and the last request holds the
        # protocol: two reference cycles that would leave every closed connection (~27
        # objects) to the cyclic collector, whose walks of the live streams are what a burst
        # of 1,000 paced streams paid most for. Nothing parses after the loss.
        self.parser = None  # type: ignore[assignment]
        self.parsing = None

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        self._resume_writers()

    # -- httptools callbacks -------------------------------------------------------------

    def on_message_begin(self) -> None:
        # Stamped when read, before any app runs: in a burst the apps of the requests read
        # in the same turn run after it, and how long a request waits for them belongs in
        # its TTFT, not after it (ARRIVED_KEY).
        self.began = self.now
        self.url = b""
        self.headers = []
        self.head_bytes = 0
        self.expect_100 = False

    def on_url(self, url: bytes) -> None:
        self.url += url
        self.head_bytes += len(url)
        if self.head_bytes > MAX_HEAD_BYTES:
            raise _TOO_LARGE

    def on_header(self, name: bytes, value: bytes) -> None:
        headers = self.headers
        size = self.head_bytes = self.head_bytes + len(name) + len(value)
        if size > MAX_HEAD_BYTES or len(headers) >= MAX_HEADERS:
            raise _TOO_LARGE
        name = name.lower()
        value = value.rstrip(b" \t")  # llhttp keeps trailing whitespace (RFC 9110, 5.5)
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_100 = True
        headers.append((name, value))

    def on_headers_complete(self) -> None:
        parser = self.parser
        version = parser.get_http_version()
        url = self.url
        if url[:1] == b"/":
            raw_path, _, query = url.partition(b"?")
            query, _, _ = query.partition(b"#")
        else:  # absolute-form (a proxy's request) or "*"
            parsed = httptools.parse_url(url)
            raw_path, query = parsed.path or b"/", parsed.query or b""
        try:
            path = raw_path.decode("ascii")
        except UnicodeDecodeError:
            raise _MALFORMED from None
        if "%" in path:
            path = urllib.parse.unquote(path)
        lifespan_state = self.state.lifespan_state
        scope: dict[str, Any] = {
            "type": "http", "asgi": _ASGI, "http_version": version, "server": self.server,
            "client": self.client, "scheme": "http", "root_path": "",
            "headers": self.headers, "state": lifespan_state.copy() if lifespan_state else {},
            "method": parser.get_method().decode("ascii"), "path": path,
            "raw_path": raw_path, "query_string": query, ARRIVED_KEY: self.began,
        }
        http10 = version == "1.0"
        cycle = RequestCycle(self, scope, parser.should_keep_alive(), http10, self.expect_100)
        self.parsing = cycle
        if self.active is None:
            self._dispatch(cycle)
        else:
            # A pipelined request: answered after the ones before it; meanwhile the socket
            # is not read any further, so a client cannot queue up unbounded work.
            self.queue.append(cycle)
            self.pause_reading()

    def on_body(self, body: bytes) -> None:
        self.parsing.feed(body)  # type: ignore[union-attr]

    def on_message_complete(self) -> None:
        cycle = self.parsing
        if cycle is not None:
            cycle.end_of_body()

    # -- answering -----------------------------------------------------------------------

    def _dispatch(self, cycle: RequestCycle) -> None:
        """Answer ``cycle`` now: on the task waiting for it, else on a new task."""
        self.active = cycle
        waiter = self.next
        if waiter is not None:
            self.next = None
            waiter.set_result(cycle)
            return
        task = self.loop.create_task(self._serve(cycle))
        self.state.tasks.add(task)
        task.add_done_callback(self.state.tasks.discard)

    async def _serve(self, cycle: RequestCycle | None) -> None:
        app = self.state.app
        while cycle is not None:
            try:
                await app(cycle.scope, cycle.receive, cycle.send)
            except BaseException as exc:
                cycle.finished(exc)
                if not isinstance(exc, Exception):
                    raise  # cancelled (shutdown): the connection is closed by now
            else:
                if cycle.held or not cycle.complete:  # most are done, holding nothing back
                    cycle.finished(None)
            if self.active is cycle:  # it never completed (the client left, or was refused)
                self.active = None
                self._advance()
            if self.closing or self.active is not None or self.next is not None or self.bad:
                return  # another task answers what comes next, or nothing will
            self.next = self.loop.create_future()
            cycle = await self.next

    def response_done(self, cycle: RequestCycle) -> None:
        """``cycle`` sent its last byte. Its app may still run (watchers, background work),
        as under uvicorn: the next request does not wait for it."""
        self.state.requests += 1
        if self.active is cycle:
            self.active = None
        if not cycle.keep_alive:
            self.close()
            return
        if self.queue or self.bad is not None or self.reading_paused:  # else nothing to do
            self._advance()

    def _advance(self) -> None:
        """Nothing is being answered: start the next queued request, or send the refusal
        that ends the connection, or read on."""
        if self.closing or self.active is not None:
            return
        if self.queue:
            cycle = self.queue.popleft()
            if not self.queue:
                self.resume_reading()
            self._dispatch(cycle)
        elif self.bad is not None:
            self.write(self.bad.response())
            self.close()
        elif self.reading_paused:
            # Reading may still be paused for a body the app never read (a 413 from its
            # content-length: past HIGH_WATER the request's feed paused the socket). Its rest
            # is read and dropped now, as uvicorn does; left paused, the next request on this
            # keep-alive connection would never be read, and its client would wait forever.
            self.resume_reading()

    def _refuse(self, exc: BadRequest) -> None:
        self.bad = exc
        self.pause_reading()
        cycle = self.parsing
        if cycle is not None and cycle.more_body:
            # Its body broke off (a bad chunk): it can never be read whole, so its app
            # hears a disconnect and the 400 follows the answers before it.
            cycle.lost()
        if self.active is None:
            self.write(exc.response())
            self.close()
        # else: answered when the requests before it are (_advance)

    # -- the transport ---------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        if not self.closing:
            self.transport.write(data)

    def close(self) -> None:
        if not self.closing:
            self.closing = True
            self.transport.close()

    def pause_reading(self) -> None:
        if not self.reading_paused and not self.closing:
            self.reading_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.reading_paused and not self.closing:
            self.reading_paused = False
            self.transport.resume_reading()

    async def drain(self) -> None:
        """Wait until the transport takes writes again (or the client is gone)."""
        fut = self.loop.create_future()
        self.drains.append(fut)
        await fut

    def _resume_writers(self) -> None:
        drains, self.drains = self.drains, []
        for fut in drains:
            if not fut.done():
                fut.set_result(None)

    def tick(self, keep_alive_s: float) -> None:
        """Once a second: close a keep-alive connection idle for ``keep_alive_s``."""
        if self.active is None and not self.queue:
            self.idle += 1
            if self.idle > keep_alive_s and not self._readable():
                self.close()

    def _readable(self) -> bool:
        """Bytes wait in the socket that the loop has not read yet. A busy loop runs its
        timers before it polls the sockets, so a request sent just before this tick may be
        in the kernel's buffer: closing then would reset the connection under the client
        (a POST is not retried). Checked only when the timeout is due, so it costs nothing
        per request."""
        sock = self.transport.get_extra_info("socket")
        if sock is None:
            return False
        try:
            ready, _, _ = select.select([sock.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        return bool(ready)

    def shutdown(self) -> None:
        """The server stops: idle connections close now, busy ones after their answer."""
        if self.active is None:
            self.close()
            return
        for cycle in (self.active, *self.queue):
            cycle.keep_alive = False


def _address(info: Any) -> tuple[str, int] | None:
    if isinstance(info, tuple) and len(info) >= 2:
        return str(info[0]), int(info[1])
    return None
