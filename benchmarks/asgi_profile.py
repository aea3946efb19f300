"""Profile the request path in-process: the ASGI app driven directly, no sockets, no uvicorn.

    python -m benchmarks.asgi_profile [--requests 20000] [--stream] [--profile]

Prints microseconds per request for mockllm and for the bare Starlette baseline app, so the
app's own cost can be compared without the noise of a load generator. With --profile, also
prints the top functions by cumulative time (cProfile) for mockllm.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def _body(stream: bool) -> bytes:
    req: dict[str, Any] = {"model": "gpt-4o-mini",
                           "messages": [{"role": "user", "content": "Hello there, how are you?"}]}
    if stream:
        req.update(stream=True, max_tokens=64, ignore_eos=True)
    return msgspec.json.encode(req)


def _scope(body: bytes) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/v1/chat/completions", "raw_path": b"/v1/chat/completions",
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "headers": [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"user-agent", b"wrk"), (b"accept", b"*/*")],
    }


async def _drive(app: App, n: int, body: bytes) -> float:
    sent = 0

    async def send(message: dict[str, Any]) -> None:
        nonlocal sent
        sent += 1

    start = time.perf_counter()
    for _ in range(n):
        await app(_scope(body), _receiver(body), send)
    return (time.perf_counter() - start) / n * 1e6


def _receiver(body: bytes) -> Callable[[], Awaitable[dict[str, Any]]]:
    msgs = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return msgs.pop() if msgs else {"type": "http.disconnect"}

    return receive


def _mockllm() -> Any:
    from mockllm.app import build_app
    from mockllm.assembly import StartupOptions, create_context

    ctx = create_context(StartupOptions(autoload=False))
    ctx.warm()
    app = build_app(ctx)
    for result in ctx.hook.mockllm_startup(context=ctx):  # metrics observers etc.
        if asyncio.iscoroutine(result):
            asyncio.get_event_loop().run_until_complete(result)
    return app


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--stream", action="store_true")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    from benchmarks.baseline_app import app as baseline

    body = _body(args.stream)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    mock = _mockllm()
    for name, app in (("baseline", baseline), ("mockllm", mock)):
        loop.run_until_complete(_drive(app, 2000, body))  # warm caches
        us = loop.run_until_complete(_drive(app, args.requests, body))
        print(f"{name:9s} {us:8.1f} us/request")
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        loop.run_until_complete(_drive(mock, args.requests, body))
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(35)


if __name__ == "__main__":
    main()
