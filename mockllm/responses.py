"""A lean JSON response for the hot path.

Starlette's ``Response`` works out its headers through ``init_headers`` on every answer; an
already-encoded JSON body needs only its length and type, so this builds the two raw header
pairs directly. It is a real ``Response`` (status, ``raw_headers``, ``headers``), so
middleware and endpoints that add a header keep working.

Sent straight to mockllm's own HTTP layer (``send`` is a :class:`RequestCycle`'s, with no
middleware in between), it leaves through :meth:`RequestCycle.respond`: the same bytes,
without the two ASGI messages and the two ``send`` coroutines.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from mockllm.http.cycle import SEND

_JSON = (b"content-type", b"application/json")


class JsonBytes(Response):
    media_type = "application/json"

    def __init__(
        self, body: bytes, status_code: int = 200, headers: Mapping[str, str] | None = None
    ) -> None:
        self.body = body
        self.status_code = status_code
        self.background = None
        raw = [(b"content-length", str(len(body)).encode()), _JSON]
        if headers:
            raw.extend((k.lower().encode("latin-1"), v.encode("latin-1"))
                       for k, v in headers.items())
        self.raw_headers = raw

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if getattr(send, "__func__", None) is SEND and send.__self__.respond(  # type: ignore[attr-defined]
                self.status_code, self.raw_headers, self.body):
            return
        await send({"type": "http.response.start", "status": self.status_code,
                    "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body})
