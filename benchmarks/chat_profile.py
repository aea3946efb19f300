"""CPU per non-streamed chat request through mockllm's own HTTP layer, in-process.

    python -m benchmarks.chat_profile [--requests 20000] [--connections 32] [--rounds 5]
        [--profile] [--stream]

What ``benchmarks.http_cpu`` measures served (wrk's request, keep-alive, the default
config as ``mockllm serve`` starts it), without the kernel's sockets: each connection's
request bytes go to :class:`mockllm.http.protocol.HttpProtocol` on a transport that keeps
nothing, and the connection sends its next request once its answer has been written. CPU
(``time.process_time``), not wall time, so a busy machine does not inflate it; under
``valgrind --tool=callgrind``, run it twice with different ``--requests`` and take the
difference over the requests for instructions per request (start-up cancels out).
``--stream`` sends wrk's zero-latency stream request instead; ``--fixed`` answers every
request with the same bytes from a three-line ASGI app, so what is left is the HTTP layer's
own cost. ``--baseline`` drives the throughput target instead: the bare Starlette app
(benchmarks/baseline_app.py) under uvicorn's httptools protocol, as ``benchmarks.http_cpu``
serves it, so the two costs can be compared without a load generator's noise (in CPU, or
deterministically in instructions under callgrind).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import time
from typing import Any

from benchmarks.paced_profile import _Sink


def request_bytes(stream: bool, max_tokens: int = 64) -> bytes:
    """wrk's request (benchmarks/wrk/chat.lua), as wrk sends it."""
    extra = ',"stream":true,"ignore_eos":true' if stream else ""
    body = (b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],'
            b'"max_tokens":%d%s}' % (max_tokens, extra.encode()))
    return (b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (len(body), body))


def _app() -> Any:
    from mockllm import lifespan
    from mockllm.app import build_app
    from mockllm.assembly import StartupOptions, create_context

    ctx = create_context(StartupOptions(autoload=False))
    ctx.warm()
    app = build_app(ctx)
    asyncio.get_event_loop().run_until_complete(lifespan.start(ctx))
    return app


_FIXED = b"x" * 700 + b"}"


async def fixed_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A chat answer's size and headers, made of nothing: the HTTP layer alone."""
    await receive()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", b"701"), (b"content-type", b"application/json"),
                            (b"x-request-id", b"req_ae36ae2d82497a26b4f2e7f4")]})
    await send({"type": "http.response.body", "body": _FIXED})


def _uvicorn(app: Any) -> Any:
    """A factory of uvicorn's httptools protocol for ``app`` and its server state, with the
    settings benchmarks/baseline_app.py serves with (no access log, no lifespan)."""
    import uvicorn
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    from uvicorn.server import ServerState as UvicornState

    config = uvicorn.Config(app, http="httptools", access_log=False, log_level="warning",
                            lifespan="off")
    config.load()
    state = UvicornState()
    loop = asyncio.get_running_loop()

    def make() -> Any:
        return HttpToolsProtocol(config, state, {}, loop)

    return make, state


async def drive(app: Any, n: int, connections: int, request: bytes,
                uvicorn: bool = False) -> float:
    """CPU seconds for ``n`` requests over ``connections`` keep-alive connections (on
    uvicorn's HTTP layer instead of mockllm's with ``uvicorn``)."""
    from mockllm.http.protocol import HttpProtocol, ServerState

    loop = asyncio.get_running_loop()
    if uvicorn:
        make, state = _uvicorn(app)
    else:
        state = ServerState(app, loop)

        def make() -> Any:
            return HttpProtocol(state)
    left = n
    done: asyncio.Future[None] = loop.create_future()
    t0 = time.process_time()

    def connect() -> None:
        proto = make()

        def on_write(data: bytes) -> None:
            nonlocal left
            if data.endswith(b"}") or data.endswith(b"0\r\n\r\n"):  # a whole answer's end
                left -= 1
                if left == 0:
                    done.set_result(None)
                elif left >= connections:
                    loop.call_soon(proto.data_received, request)

        proto.connection_made(_Sink(on_write))
        proto.data_received(request)

    for _ in range(min(connections, n)):
        connect()
    await done
    for conn in list(state.connections):
        conn.connection_lost(None)
    while state.tasks:
        await asyncio.sleep(0)
    return time.process_time() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--stream", action="store_true")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--fixed", action="store_true", help="a fixed answer: the HTTP layer alone")
    ap.add_argument("--baseline", action="store_true",
                    help="the bare Starlette app on uvicorn's httptools protocol instead")
    args = ap.parse_args()
    import uvloop

    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    if args.baseline:
        from benchmarks.baseline_app import app
    else:
        app = fixed_app if args.fixed else _app()
    request = request_bytes(args.stream)
    loop.run_until_complete(drive(app, 1000, args.connections, request, args.baseline))
    cpus = [loop.run_until_complete(drive(app, args.requests, args.connections, request,
                                          args.baseline))
            for _ in range(args.rounds)]
    cpus.sort()
    per = [c / args.requests * 1e6 for c in cpus]
    print(f"CPU per request over {args.rounds} rounds of {args.requests}: "
          f"best {per[0]:.2f} us, median {per[len(per) // 2]:.2f} us")
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        loop.run_until_complete(drive(app, args.requests, args.connections, request,
                                      args.baseline))
        prof.disable()
        stats = pstats.Stats(prof)
        print(f"{stats.total_calls / args.requests:.1f} function calls per request")
        stats.sort_stats("tottime").print_stats(45)


if __name__ == "__main__":
    main()
