"""CPU per paced stream, in-process: the ASGI app driven directly, no sockets, no uvicorn.

    python -m benchmarks.paced_profile [--streams 1000] [--tokens 50] [--profile]
        [--http asgi|mockllm]

The config is pacing_bench's (TTFT 100 ms, ITL 10 ms, ``--tokens`` tokens, cl100k_base).
All ``--streams`` requests are started at once, as a burst, and run to their end. Printed:
CPU seconds (``time.process_time``, so a busy machine does not inflate it) per stream until
every stream has sent its first token ("to first token") and in total, the cyclic garbage
collector's share (``gc.callbacks``), and with
``--profile`` the top functions by own time (cProfile) of the burst. CPU, not wall time:
the figure is meaningful on a shared machine, and the call counts say what was cut.

``--http mockllm`` feeds pacing_bench's request bytes to mockllm's own HTTP layer
(``mockllm.http.protocol.HttpProtocol``) on a transport that keeps nothing, so the figure
includes the parser, the scope and the response framing, as ``mockllm serve --http mockllm``
pays them (but not the kernel's sockets). ``--http raw`` feeds the same bytes, the same way,
to the floor's streams (``benchmarks.raw_pacer``, on mockllm's heap scheduler): the two
figures side by side say what mockllm's request and its later tokens cost above the floor's
on the real clock (``benchmarks.token_profile`` has the later tokens on a fake one).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import pstats
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.asgi_profile import _scope

CONFIG = ("server: {watch: false}\n"
          "models: [{id: bench, tokenizer: cl100k_base}]\n"
          "defaults: {latency: {ttft_ms: %d, itl_ms: %d}, respond: {generate: {tokens: %d}}}\n")


def _app(ttft: int, itl: int, tokens: int) -> Any:
    from mockllm import lifespan
    from mockllm.app import build_app
    from mockllm.assembly import StartupOptions, create_context

    path = Path(tempfile.mkdtemp()) / "pacing.yaml"
    path.write_text(CONFIG % (ttft, itl, tokens))
    ctx = create_context(StartupOptions(config_path=str(path), autoload=False))
    ctx.warm()
    app = build_app(ctx)
    # As `mockllm serve` starts: the state, the startup hooks, then the heap is frozen.
    asyncio.get_event_loop().run_until_complete(lifespan.start(ctx))
    return app


def _body(tokens: int) -> bytes:
    return (b'{"model":"bench","stream":true,"max_tokens":%d,"ignore_eos":true,'
            b'"messages":[{"role":"user","content":"hi"}]}' % tokens)


async def _burst(app: Any, n: int, body: bytes) -> tuple[float, float]:
    """CPU seconds until every stream sent its first body, and until all ended."""
    loop = asyncio.get_running_loop()
    first_left = n
    all_first = loop.create_future()
    t0 = time.process_time()
    first_cpu = 0.0

    async def one() -> None:
        got_body = False
        gone = loop.create_future()
        msgs = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            if msgs:
                return msgs.pop()
            await gone
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal got_body, first_left, first_cpu
            if message["type"] == "http.response.body":
                if not got_body and message.get("body"):
                    got_body = True
                    first_left -= 1
                    if first_left == 0:
                        first_cpu = time.process_time() - t0
                        all_first.set_result(None)
                if not message.get("more_body", False) and not gone.done():
                    gone.set_result(None)

        await app(_scope(body), receive, send)

    await asyncio.gather(*(one() for _ in range(n)))
    return first_cpu, time.process_time() - t0


def new_loop() -> asyncio.AbstractEventLoop:
    """A fresh event loop, uvloop's when installed (as ``mockllm serve`` runs), made current."""
    try:
        import uvloop
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    return loop


class _Sink(asyncio.Transport):
    """A transport that drops what is written: the kernel's part is not measured."""

    def __init__(self, on_write: Any) -> None:
        super().__init__()
        self.on_write = on_write
        self.closed = False

    def write(self, data: Any) -> None:
        self.on_write(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(
            name, default)


async def _burst_http(app: Any, n: int, tokens: int,
                      protocol: Callable[[], Any] | None = None) -> tuple[float, float]:
    """As :func:`_burst`, through the own HTTP layer: request bytes in, response bytes out
    (through the connections ``protocol()`` makes instead, when given)."""
    from benchmarks.pacing_bench import request_bytes
    from mockllm.http.protocol import HttpProtocol, ServerState

    loop = asyncio.get_running_loop()
    state = ServerState(app, loop)
    request = request_bytes(8000, tokens)
    first_left = n
    ended = 0
    all_first: asyncio.Future[None] = loop.create_future()
    all_done: asyncio.Future[None] = loop.create_future()
    t0 = time.process_time()
    first_cpu = 0.0

    def one() -> None:
        writes = 0

        def on_write(data: bytes) -> None:
            nonlocal writes, first_left, first_cpu, ended
            writes += 1
            if writes == 2:  # the head went out at once; this is the first token's frame
                first_left -= 1
                if first_left == 0:
                    first_cpu = time.process_time() - t0
                    all_first.set_result(None)
            if data.endswith(b"0\r\n\r\n"):
                # The client closes its connection after the stream, as pacing_bench's do.
                loop.call_soon(lost)
                ended += 1
                if ended == n:
                    all_done.set_result(None)

        def lost() -> None:
            proto.connection_lost(None)
            sink.on_write = None  # as uvloop's transport lets go of its protocol

        proto: Any = HttpProtocol(state) if protocol is None else protocol()
        sink = _Sink(on_write)
        proto.connection_made(sink)
        proto.data_received(request)

    for _ in range(n):
        # as uvloop does with a burst: every ready connection in one turn of the loop
        one()
    await all_done
    while state.tasks:  # the apps return after their last write
        await asyncio.sleep(0)
    return first_cpu, time.process_time() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--streams", type=int, default=1000)
    ap.add_argument("--tokens", type=int, default=50)
    ap.add_argument("--ttft", type=int, default=100)
    ap.add_argument("--itl", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--http", choices=("asgi", "mockllm", "raw"), default="asgi",
                    help="asgi: the app called directly; mockllm: through the own HTTP layer; "
                         "raw: the floor's streams (benchmarks.raw_pacer) the same way")
    args = ap.parse_args()
    loop = new_loop()
    app = _app(args.ttft, args.itl, args.tokens)
    body = _body(args.tokens)
    protocol: Callable[[], Any] | None = None
    if args.http == "raw":  # the floor's streams, with this run's TTFT, ITL and tokens
        from benchmarks.raw_pacer import Pacer, Protocol

        protocol = partial(Protocol, Pacer(loop), args)

    def burst(n: int) -> Any:
        if args.http != "asgi":
            return _burst_http(app, n, args.tokens, protocol)
        return _burst(app, n, body)

    loop.run_until_complete(burst(200))  # warm caches
    firsts, totals = [], []
    collected = [0.0, 0]

    def on_gc(phase: str, info: dict[str, int]) -> None:  # the collector's own CPU
        if phase == "start":
            collected[0] -= time.process_time()
        else:
            collected[0] += time.process_time()
            collected[1] += 1

    gc.callbacks.append(on_gc)
    for _ in range(args.rounds):
        first, total = loop.run_until_complete(burst(args.streams))
        firsts.append(first)
        totals.append(total)
    f, t = min(firsts) / args.streams * 1e6, min(totals) / args.streams * 1e6
    print(f"CPU per paced stream (best of {args.rounds}): to first token {f:.1f} us, "
          f"whole stream {t:.1f} us ({(t - f) / max(args.tokens - 1, 1):.2f} us per later token)")
    print(f"cyclic GC: {collected[1]} collections, {collected[0] / args.rounds * 1e3:.1f} ms "
          f"CPU per round ({collected[0] / args.rounds / args.streams * 1e6:.1f} us per stream)")
    gc.callbacks.remove(on_gc)
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        loop.run_until_complete(burst(args.streams))
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(40)


if __name__ == "__main__":
    main()
