"""The recording proxy: an ASGI app that forwards every request to the upstream and passes
each answer back as it arrives, chunk by chunk, while a :class:`Capture` reads it.

Once no request is in flight, the rules file is written again whole (to a temporary file,
then renamed), and once more when the recorder stops: writing while a stream passes would
take the event loop from it (ruamel is pure Python) and bunch its chunks, which would both
delay the client and spoil the recorded timing. API keys go to the upstream
and nowhere else: the file holds no header or query, and a key's value is blanked wherever
an answer repeats it. Any failure of one exchange is recorded as what it was and answered
to the client (502 when the upstream cannot be reached); the recorder keeps running.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx

from mockllm.record.capture import ENDPOINTS, Capture
from mockllm.record.rules import Exchange, build, dump, prompt_of

log = logging.getLogger("mockllm.record")

#: Headers that carry API keys: forwarded, never written.
SECRET_HEADERS = ("authorization", "x-api-key", "api-key", "x-goog-api-key")
SECRET_PARAMS = ("key", "api_key", "api-key")
_HOP = {"host", "connection", "keep-alive", "transfer-encoding", "te", "upgrade",
        "proxy-connection", "content-length", "accept-encoding"}
_DROP_OUT = {"connection", "keep-alive", "transfer-encoding", "content-length",
             "content-encoding"}


class UpstreamClosed(Exception):
    """The upstream closed the connection in the middle of an answer."""


class QuietUpstreamClosed(logging.Filter):
    """uvicorn logs an app's exception with a traceback; this one is expected."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], UpstreamClosed))


def upstream_base(url: str) -> str:
    """The upstream's root, without query (a key there is never written) or a trailing
    ``/v1`` (client paths carry their own)."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/").removesuffix("/v1")
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


class Recorder:
    def __init__(self, upstream: str, out: Path) -> None:
        self.upstream = upstream_base(upstream)
        self.out = out
        self.exchanges: list[Exchange] = []
        self.secrets: set[str] = set()
        self._client: httpx.AsyncClient | None = None
        self._in_flight = 0
        self._dirty = False
        self._writer: asyncio.Task[None] | None = None
        from mockllm.config import load_default

        models = load_default().models
        self.known = {n for m in models for n in (m.id, *m.aliases)}
        import msgspec

        self.default_models = msgspec.to_builtins(models)

    # -- ASGI -------------------------------------------------------------------------

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._client = httpx.AsyncClient(timeout=httpx.Timeout(600, connect=30))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._client is not None:
                    await self._client.aclose()
                if self._writer is not None:
                    await self._writer
                if self._dirty:
                    self._write_now()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Any, receive: Any, send: Any) -> None:
        self._in_flight += 1
        try:
            await self._proxy(scope, receive, send)
        finally:
            self._in_flight -= 1
            if self._dirty and self._in_flight == 0 and self._writer is None:
                self._writer = asyncio.get_running_loop().create_task(self._write_when_idle())

    async def _proxy(self, scope: Any, receive: Any, send: Any) -> None:
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if message["type"] == "http.disconnect":
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        self._remember_secrets(headers, scope.get("query_string", b"").decode("latin-1"))
        path = scope["path"]
        endpoint = ENDPOINTS.get(path) if scope["method"] == "POST" else None
        exchange = self._exchange(endpoint, bytes(body))
        capture = exchange.capture if exchange is not None else None
        url = self.upstream + path
        if scope.get("query_string"):
            url += "?" + scope["query_string"].decode("latin-1")
        forward = [(k, v) for k, v in headers if k.lower() not in _HOP]
        forward.append(("accept-encoding", "identity"))
        assert self._client is not None
        request = self._client.build_request(scope["method"], url, headers=forward,
                                             content=bytes(body))
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            log.warning("upstream %s: %s", url, exc)
            if capture is not None:
                capture.disconnected = f"{type(exc).__name__}: {exc}"
            await self._unreachable(send, exc)
            await self._finish(exchange)
            return
        try:
            out_headers = {k.lower(): v for k, v in response.headers.items()}
            if capture is not None:
                capture.start(response.status_code, out_headers)
            await send({"type": "http.response.start", "status": response.status_code,
                        "headers": [(k.encode("latin-1"), v.encode("latin-1"))
                                    for k, v in response.headers.multi_items()
                                    if k.lower() not in _DROP_OUT]})
            try:
                async for chunk in response.aiter_bytes():
                    if capture is not None:
                        capture.feed(chunk)
                    await send({"type": "http.response.body", "body": chunk,
                                "more_body": True})
            except httpx.HTTPError as exc:  # the upstream went away mid-answer
                log.warning("upstream %s closed mid-answer: %s", url, exc)
                if capture is not None:
                    capture.disconnected = f"{type(exc).__name__}: {exc}"
                # So does the recorder: raising after the start makes the server drop the
                # connection, and the client sees the disconnect the upstream caused.
                raise UpstreamClosed(str(exc)) from None
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()
            await self._finish(exchange)

    # -- helpers ----------------------------------------------------------------------

    def _remember_secrets(self, headers: list[tuple[str, str]], query: str) -> None:
        for k, v in headers:
            if k.lower() in SECRET_HEADERS:
                self.secrets.add(v)
                scheme, _, token = v.partition(" ")
                if token and scheme.lower() in ("bearer", "basic", "token"):
                    self.secrets.add(token.strip())
        for k, v in parse_qsl(query):
            if k.lower() in SECRET_PARAMS:
                self.secrets.add(v)

    def _exchange(self, endpoint: str | None, body: bytes) -> Exchange | None:
        if endpoint is None:
            return None
        try:
            doc = json.loads(body)
        except ValueError:
            return None  # the upstream answers it; nothing a rule could match
        if not isinstance(doc, dict):
            return None
        return Exchange(endpoint, str(doc.get("model") or ""), prompt_of(endpoint, doc),
                        Capture(endpoint, started=time.monotonic()))

    async def _unreachable(self, send: Any, exc: Exception) -> None:
        body = json.dumps({"error": {
            "message": f"mockllm record: the upstream {self.upstream} did not answer "
                       f"({type(exc).__name__})",
            "type": "upstream_error", "param": None, "code": None}}).encode()
        await send({"type": "http.response.start", "status": 502,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    async def _finish(self, exchange: Exchange | None) -> None:
        if exchange is None:
            return
        exchange.capture.finish()
        self.exchanges.append(exchange)
        self._dirty = True

    async def _write_when_idle(self) -> None:
        try:
            await asyncio.sleep(0.05)  # a client's next request usually follows at once
            while self._dirty and self._in_flight == 0:
                self._dirty = False
                await asyncio.to_thread(self._write_now)
        finally:
            self._writer = None

    def _write_now(self) -> None:
        try:
            self.write()
        except OSError as exc:
            log.error("cannot write %s: %s", self.out, exc)

    def write(self) -> None:
        doc = build(list(self.exchanges), self.known, self.secrets)
        header = (f"Recorded by mockllm record from {self.upstream} "
                  f"({len(self.exchanges)} requests).\n"
                  f"Replay: mockllm serve --config {self.out.name}")
        text = dump(doc, header, self.default_models)
        tmp = self.out.with_name(self.out.name + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.out)
