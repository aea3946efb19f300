"""The request path's blocking round trip to the shared store, with no client library in it.

An exact count (a sequence step, ``times``, ``{counter}``, a quota) is one blocking round
trip, because ``Endpoint.plan`` is synchronous. Through redis-py's synchronous client that
round trip cost ~60 µs of Python per request (connection pool, command packing, its pure
Python reply parser), several times the rest of the request. Here the command bytes of each
counter are packed once, sent with one ``sendall`` and the reply read with one ``recv``
(a few µs of Python): the store's work and the network are what is left.

redis-py still opens the connection (the URL's host or unix path, TLS, AUTH, SELECT), so
every URL ``server.state`` accepts works the same; this module only takes the socket over.
Any failure (timeout, reset, a reply that is not understood) closes the socket: the next
call opens a new one, so a half-read reply can never be taken for the next one's.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import redis

#: One RESP2 reply: an integer, bytes, None, a list of replies, or an error.
Reply: TypeAlias = "int | bytes | None | list[Any] | Exception"


class Link:
    """A blocking connection for exact counts: :meth:`call` sends packed commands, returns
    their replies. Not thread-safe (the event loop's thread is its only user)."""

    def __init__(self, pool: redis.ConnectionPool) -> None:
        self._pool = pool
        self._conn: Any = None
        self._sock: Any = None  # socket.socket, or ssl.SSLSocket for rediss://
        self._buf = b""
        self._received = False  # a byte of a reply arrived in this call

    def _open(self) -> Any:
        conn = self._pool.make_connection()
        conn.connect()  # type: ignore[no-untyped-call]  # handshake, AUTH, SELECT as redis-py
        # redis-py keeps the connected socket there (no public accessor)
        self._conn, self._sock, self._buf = conn, conn._sock, b""  # type: ignore[attr-defined]
        return self._sock

    def close(self) -> None:
        conn, self._conn, self._sock, self._buf = self._conn, None, None, b""
        if conn is not None:
            try:
                conn.disconnect()
            except Exception:  # noqa: BLE001 (closing a broken connection)
                pass

    def call(self, packed: bytes, replies: int) -> list[Reply]:
        """Send ``packed`` (one or more commands), read ``replies`` replies.

        A connection that went stale while idle (the store restarted, or closed it) fails
        before any byte of a reply arrives: that is tried once more on a new connection,
        at once, as redis-py's client would (it then retried up to 10 times with back-off,
        blocking the event loop for seconds while the store was away)."""
        stale = self._sock is not None
        self._received = False
        try:
            return self._call(packed, replies)
        except (OSError, redis.ConnectionError):
            if not stale or self._received:
                raise
        return self._call(packed, replies)

    def _call(self, packed: bytes, replies: int) -> list[Reply]:
        try:
            sock = self._sock or self._open()
            sock.sendall(packed)
            out = []
            for _ in range(replies):
                out.append(self._reply(sock))
            return out
        except (OSError, ValueError, IndexError, redis.RedisError) as exc:
            self.close()
            if isinstance(exc, (OSError, redis.RedisError)):
                raise
            raise redis.ConnectionError(f"unreadable reply from the store: {exc}") from None

    def _recv(self, sock: Any) -> None:
        chunk = sock.recv(65536)
        if not chunk:
            raise redis.ConnectionError("the store closed the connection")
        self._received = True
        self._buf += chunk

    def _line(self, sock: Any) -> bytes:
        while True:
            end = self._buf.find(b"\r\n")
            if end >= 0:
                line, self._buf = self._buf[:end], self._buf[end + 2:]
                return line
            self._recv(sock)

    def _reply(self, sock: Any) -> Reply:
        line = self._line(sock)
        kind, rest = line[:1], line[1:]
        if kind == b":":
            return int(rest)
        if kind == b"+":
            return rest
        if kind == b"-":
            error: Exception = redis.ResponseError(rest.decode("utf-8", "replace"))
            return error
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            while len(self._buf) < size + 2:
                self._recv(sock)
            value, self._buf = self._buf[:size], self._buf[size + 2:]
            return value
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply(sock) for _ in range(n)]
        raise ValueError(f"unexpected reply {line[:40]!r}")
