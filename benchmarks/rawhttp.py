"""A minimal HTTP/1.1 keep-alive client on asyncio protocols + httptools.

Why not httpx/aiohttp: at 10k+ requests/s a pure-Python client on one core becomes the
bottleneck long before the server does. Protocol callbacks plus the C parser (httptools, which
uvicorn[standard] already pulls in) keep the per-response cost to a few microseconds.

Server-sent events are split on the blank line between frames. A *token frame* is one whose
``content`` delta is a non-empty string, so role-only / finish-only chunks and ``[DONE]`` are
not counted as tokens.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass, field
from typing import cast

import httptools

TOKEN_RE = re.compile(rb'"content"\s*:\s*"(?!")')


def chat_body(
    model: str, stream: bool, max_tokens: int, prompt: str = "hi", ignore_eos: bool | None = None
) -> bytes:
    """The benchmark request; ``ignore_eos`` (default: on for streams only) pins the length."""
    if ignore_eos is None:
        ignore_eos = stream
    body: dict[str, object] = {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
    }
    if stream:
        body["stream"] = True
    if ignore_eos:
        body["ignore_eos"] = True
    return json.dumps(body, separators=(",", ":")).encode()


def build_request(
    host: str,
    port: int,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    method = "POST" if body is not None else "GET"
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}"]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


@dataclass
class Reply:
    status: int
    started: float
    finished: float
    body_bytes: int
    frames: int
    tokens: int
    # perf_counter() arrival time of each token frame; filled only when recording.
    token_times: list[float] = field(default_factory=list)
    body: bytes = b""


class HttpConnection(asyncio.Protocol):
    """One keep-alive connection; ``send`` one request at a time."""

    def __init__(self, record_tokens: bool = False, keep_body: bool = False) -> None:
        self.record_tokens = record_tokens
        self.keep_body = keep_body
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[Reply] | None = None
        self._now = 0.0
        self._reset(0.0)

    def _reset(self, started: float) -> None:
        self._started = started
        self._status = 0
        self._bytes = 0
        self._frames = 0
        self._tokens = 0
        self._times: list[float] = []
        self._body: list[bytes] = []
        self._pending = b""
        self.first_token: asyncio.Future[None] | None = None

    # asyncio.Protocol -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, hence the cast.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._now = time.perf_counter()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or ConnectionError("connection closed"))
        if not self.closed.done():
            self.closed.set_result(None)

    # httptools callbacks ----------------------------------------------------------------
    def on_headers_complete(self) -> None:
        self._status = self._parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        self._bytes += len(body)
        if self.keep_body:
            self._body.append(body)
        data = self._pending + body
        frames = data.split(b"\n\n")
        self._pending = frames.pop()
        for frame in frames:
            self._frames += 1
            if TOKEN_RE.search(frame):
                self._tokens += 1
                if self.record_tokens:
                    self._times.append(self._now)
                if self.first_token is not None and not self.first_token.done():
                    self.first_token.set_result(None)

    def on_message_complete(self) -> None:
        reply = Reply(
            self._status,
            self._started,
            self._now,
            self._bytes,
            self._frames,
            self._tokens,
            self._times,
            b"".join(self._body),
        )
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(reply)

    # API --------------------------------------------------------------------------------
    def _fail(self, exc: BaseException) -> None:
        for fut in (self._waiter, self.first_token):
            if fut is not None and not fut.done():
                fut.set_exception(exc)
        self._waiter = None

    def start(self, payload: bytes) -> asyncio.Future[Reply]:
        """Write one request; the future resolves when its response is complete."""
        assert self.transport is not None and self._waiter is None
        loop = asyncio.get_running_loop()
        self._reset(time.perf_counter())
        self._waiter = loop.create_future()
        self.first_token = loop.create_future()
        # Nobody may await first_token (throughput runs); don't warn about its exception.
        self.first_token.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._waiter.add_done_callback(lambda f: f.cancelled() or f.exception())
        self.transport.write(payload)
        return self._waiter

    async def send(self, payload: bytes) -> Reply:
        return await self.start(payload)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def connect(
    host: str, port: int, record_tokens: bool = False, keep_body: bool = False
) -> HttpConnection:
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(
        lambda: HttpConnection(record_tokens, keep_body), host, port
    )
    return proto


async def fetch(
    host: str,
    port: int,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> Reply:
    """One request on a fresh connection, body kept (for checks and /metrics)."""
    conn = await asyncio.wait_for(connect(host, port, keep_body=True), timeout)
    try:
        payload = build_request(host, port, path, body, headers)
        return await asyncio.wait_for(conn.send(payload), timeout)
    finally:
        conn.close()


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an already sorted list; nan when empty."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def install_uvloop() -> str:
    """Use uvloop for the client when present (the server side gets it via uvicorn)."""
    try:
        import uvloop
    except ImportError:
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"
