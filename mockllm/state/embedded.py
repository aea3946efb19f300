"""The store ``--workers N`` shares with no extra service: a small in-memory server that
speaks the subset of the Redis protocol (RESP2) the shared state uses.

Why the Redis protocol: the workers then talk to it with the same client and the same
code (``mockllm.state.shared``) as several hosts talking to a real Redis, and the tests run
that code against both. The supervisor runs it in a thread on a unix socket; it holds no
state worth keeping after the server stops. Commands run one at a time on one event loop,
so each command, and each ``MULTI``/``EXEC`` block, is atomic as in Redis.

Commands: PING ECHO SELECT CLIENT FLUSHDB, GET SET(PX) STRLEN DEL EXISTS INCRBY DECRBY
PEXPIRE PTTL, HGET HMGET HSET HDEL HGETALL HINCRBY, RPUSH LRANGE LTRIM LREM LLEN LPOP, MULTI
EXEC DISCARD, PUBLISH SUBSCRIBE UNSUBSCRIBE PUBSUB NUMSUB.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator

from mockllm.state.keyspace import OK, QUEUED, CommandError, Commands, Data, Reply, encode
from mockllm.state.resp import parse_commands

log = logging.getLogger("mockllm.state")

class _Connection(asyncio.Protocol):
    """One client of the store: commands parsed from whatever one read returned, the
    replies of a whole pipeline sent with one write.

    A protocol, not a stream reader and writer: a counted request (a sequence step) is one
    round trip to the store, and a stream costs a task wake-up, futures and awaits per
    read on top of the command."""

    def __init__(self, store: EmbeddedStore) -> None:
        self.store = store
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.queued: list[list[bytes]] | None = None
        self.subscribed: set[bytes] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.store.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.store.connections.discard(self)
        for channel in self.subscribed:
            self.store.subscribers.get(channel, set()).discard(self)

    # A client that does not read its replies (a huge LRANGE) stops being read from.
    def pause_writing(self) -> None:
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None:
            self.transport.resume_reading()

    def write(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        self.buf += data
        try:
            commands = parse_commands(self.buf)
        except ValueError:  # not the Redis protocol: nothing sensible to answer
            self.close()
            return
        out: list[bytes] = []
        for args in commands:
            if not args:
                continue
            name = args[0].lower()
            reply: Reply
            if name in (b"subscribe", b"unsubscribe"):
                self.write(b"".join(out))  # the replies stay in order
                out.clear()
                self._subscription(name, args[1:])
                continue
            if name == b"multi":
                self.queued, reply = [], OK
            elif name == b"exec":
                reply = (CommandError("ERR EXEC without MULTI") if self.queued is None
                         else [self.store.commands.run(a) for a in self.queued])
                self.queued = None
            elif name == b"discard":
                self.queued, reply = None, OK
            elif self.queued is not None:
                self.queued.append(args)
                reply = QUEUED
            else:
                reply = self.store.commands.run(args)
            out.append(encode(reply))
        if out:
            self.write(b"".join(out))

    def _subscription(self, name: bytes, channels: list[bytes]) -> None:
        subscribers = self.store.subscribers
        for channel in channels or list(self.subscribed):
            if name == b"subscribe":
                self.subscribed.add(channel)
                subscribers.setdefault(channel, set()).add(self)
            else:
                self.subscribed.discard(channel)
                subscribers.get(channel, set()).discard(self)
            self.write(encode([name, channel, len(self.subscribed)]))


def _new_loop() -> asyncio.AbstractEventLoop:
    """uvloop's loop when installed (uvicorn's standard extra brings it), as the workers
    run: the store's loop turns once per round trip of a counted request."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class EmbeddedStore:
    """The server: :meth:`serve` on a unix socket, or :meth:`start_thread` beside uvicorn."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.data = Data()
        self.subscribers: dict[bytes, set[_Connection]] = {}
        self.connections: set[_Connection] = set()
        self.commands = Commands(self.data, self._publish, self._numsub)
        self._server: asyncio.AbstractServer | None = None
        self._stopping = asyncio.Event()  # bound to the store's loop on first use
        self._loop: asyncio.AbstractEventLoop | None = None

    def _publish(self, channel: bytes, message: bytes) -> int:
        subscribers = self.subscribers.get(channel, set())
        frame = encode([b"message", channel, message])
        for c in subscribers:
            c.write(frame)
        return len(subscribers)

    def _numsub(self, channel: bytes) -> int:
        return len(self.subscribers.get(channel, ()))

    async def _listen(self) -> asyncio.AbstractServer:
        self._loop = asyncio.get_running_loop()
        self._server = await self._loop.create_unix_server(lambda: _Connection(self),
                                                           path=self.path)
        return self._server

    async def _serve(self, ready: threading.Event | None = None) -> None:
        server = await self._listen()
        if ready is not None:
            ready.set()
        try:
            await self._stopping.wait()
        finally:
            # Closing the server stops new connections only: the open ones are closed
            # here, so no client is answered once the store has stopped. (Not
            # Server.wait_closed: uvloop's waits for the clients to hang up.)
            server.close()
            for c in list(self.connections):
                c.close()
            await asyncio.sleep(0)  # the transports close in the next turn of the loop

    async def serve(self) -> None:
        await self._serve()

    def start_thread(self) -> threading.Thread:
        """Serve in a daemon thread; returns once the socket accepts connections."""
        ready = threading.Event()

        def run() -> None:
            with asyncio.Runner(loop_factory=_new_loop) as runner:
                runner.run(self._serve(ready))

        thread = threading.Thread(target=run, name="mockllm-state", daemon=True)
        self._thread = thread
        thread.start()
        if not ready.wait(10):
            raise RuntimeError(f"the embedded state store did not start on {self.path}")
        return thread

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        # Wait for the store's thread: it closes the open connections before it ends, and
        # returning earlier let a client that had connected before the stop still get
        # answers after it.
        thread = getattr(self, "_thread", None)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)


@contextlib.contextmanager
def running() -> Iterator[str]:
    """An embedded store in a thread of this process for as long as the block runs: its URL."""
    directory = tempfile.mkdtemp(prefix="mockllm-state-")
    path = os.path.join(directory, "state.sock")
    store = EmbeddedStore(path)
    store.start_thread()
    try:
        yield "unix://" + path
    finally:
        store.stop()
        shutil.rmtree(directory, ignore_errors=True)
