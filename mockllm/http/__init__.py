"""mockllm's own HTTP/1.1 server: an ``asyncio.Protocol`` on uvloop with httptools' parser,
serving an ASGI 3 app (``http`` and ``lifespan``).

Why not uvicorn: under it, about half of a request's server CPU before the first token was
uvicorn's own (its protocol object, the parser callbacks, the scope, a task per request,
header checks on every send; docs/performance.md). This server does the same HTTP/1.1 work
with less: one task per connection, a scope built in one step, the head written with one
join and, for a whole-body answer, in the same write as the body.

- :mod:`.head`: the response head and its framing (content-length or chunks);
- :mod:`.cycle`: one request's ASGI ``receive`` and ``send``;
- :mod:`.protocol`: one connection (parsing, keep-alive, pipelining, limits, flow control)
  and what a server's connections share;
- :mod:`.lifespan`: the ASGI lifespan protocol;
- :mod:`.server`: the listening socket, signals and the graceful stop;
- :mod:`.workers`: ``--workers N`` processes sharing one listening socket.
"""

from __future__ import annotations

from mockllm.http.server import Server, bind

__all__ = ["Server", "bind"]
