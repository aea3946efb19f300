"""Taking connections off the listening socket: every one that waits, in one loop turn.

Why not ``loop.create_server``: uvloop (libuv) accepts one connection per loop iteration,
and in each iteration the loop first runs the answers of what it read in the last one. In a
burst of 1,000 paced streams the connections then waited in the kernel's queue for hundreds
of milliseconds, one answer's worth of work apart, and a request could only be timed from
when it was finally accepted: the wait came on top of its TTFT (docs/performance.md). Here a
readable listening socket is drained (up to ``batch`` connections), and each connection's
first bytes are read at once, so a request is stamped when it is taken from the kernel,
before any answer runs, and its TTFT counts from then (``mockllm.observe.ARRIVED_KEY``).

``batch`` is smaller with ``--workers N``: one process that took a whole burst would leave
the others idle while it works through it.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import time
from collections.abc import Callable, Coroutine
from functools import cache, partial
from typing import Any

log = logging.getLogger("mockllm.http")

#: Bytes read from a new connection before it is handed to the loop's transport.
FIRST_READ = 64 * 1024
#: Connections taken per readable event when this process serves alone.
BATCH = 1024
#: accept() failures that mean "out of resources": accepting pauses instead of spinning.
_EXHAUSTED = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
#: Seconds accepting pauses after such a failure (asyncio's own back-off).
PAUSE_S = 1.0

#: recv() flag for a read that does not wait on a blocking socket (0 where there is none).
_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)

#: ``factory(first_bytes, stamp, peer_address)``: the protocol for one new connection.
ProtocolFactory = Callable[[bytes, float, Any], asyncio.Protocol]


class Acceptor:
    """Accepts on ``sock`` (listening, non-blocking) while started."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket,
                 factory: ProtocolFactory, batch: int = BATCH) -> None:
        self.loop, self.sock, self.factory, self.batch = loop, sock, factory, max(batch, 1)
        self._args = (int(sock.family), int(sock.type), sock.proto)
        self._kind = _accepted_class(*self._args[:2])
        self.accepting = False
        self._resume: asyncio.TimerHandle | None = None

    def start(self) -> None:
        if not self.accepting:
            self.accepting = True
            self.loop.add_reader(self.sock.fileno(), self._accept)

    def close(self) -> None:
        """Stop accepting (the socket stays open: its owner closes it)."""
        if self._resume is not None:
            self._resume.cancel()
            self._resume = None
        if self.accepting:
            self.accepting = False
            self.loop.remove_reader(self.sock.fileno())

    def _accept(self) -> None:
        sock, loop, factory, kind, (family, type_, proto) = (
            self.sock, self.loop, self.factory, self._kind, self._args)
        for _ in range(self.batch):
            try:
                # What socket.accept() does, less the enum conversions of the listening
                # socket's family and type (~1 µs each, on every connection).
                fd, peer = sock._accept()  # type: ignore[attr-defined]
                conn = kind(family, type_, proto, fileno=fd)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in _EXHAUSTED:
                    log.error("accepting paused for %s s: %s", PAUSE_S, exc)
                    self.close()
                    self._resume = loop.call_later(PAUSE_S, self.start)
                return  # else the client gave up meanwhile (ECONNABORTED): nothing to do
            stamp = time.monotonic()
            try:
                # Not conn.setblocking(False): the loop's transport makes the socket
                # non-blocking itself, and this read alone need not wait (one ioctl less).
                first = conn.recv(FIRST_READ, _DONTWAIT) if _DONTWAIT else _read_now(conn)
            except (BlockingIOError, InterruptedError):
                first = b""  # connected, nothing sent yet: the transport reads it later
            except OSError:
                conn.close()
                continue
            else:
                if not first:  # the client closed before sending anything
                    conn.close()
                    continue
            # A coroutine: what fails (a socket it refuses) fails when _step runs it.
            _step(loop, loop.connect_accepted_socket(partial(factory, first, stamp, peer), conn),
                  conn)


@cache
def _accepted_class(family: int, kind: int) -> type[socket.socket]:
    """A socket class whose ``family`` and ``type`` are plain attributes: the loop's
    ``connect_accepted_socket`` reads them, and the stock properties convert the numbers to
    enums each time (three conversions a connection, ~1 µs each). One class per kind of
    listener."""
    return type("AcceptedSocket", (socket.socket,), {
        "__slots__": (), "family": socket.AddressFamily(family),
        "type": socket.SocketKind(kind)})


def _read_now(conn: socket.socket) -> bytes:
    conn.setblocking(False)
    return conn.recv(FIRST_READ)


def _step(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any],
          conn: socket.socket) -> None:
    """Run ``coro`` (``connect_accepted_socket``) to its end without a task of its own.

    A task per connection is a task object, its registration and a scheduled first step;
    this coroutine only waits for the transport's ``connection_made``, so it is stepped from
    the future it waits on (or the next loop turn for a bare yield), as a task would."""
    try:
        waited = coro.send(None)
    except StopIteration:
        return
    except Exception as exc:  # noqa: BLE001 - one connection failed, not the server
        log.debug("connection dropped: %s", exc)
        conn.close()
        return
    if waited is None:
        loop.call_soon(_step, loop, coro, conn)
    else:
        waited.add_done_callback(lambda _fut: _step(loop, coro, conn))
