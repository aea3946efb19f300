"""Profile the request path in-process: the ASGI app driven directly, no sockets, no uvicorn.

    python -m benchmarks.asgi_profile [--requests 20000] [--stream] [--profile]
        [--state memory|embedded|redis://HOST:PORT/0] [--prompt seq] [--config FILE]
        [--api openai|anthropic]

Prints microseconds per request for mockllm and for the bare Starlette baseline app, so the
app's own cost can be compared without the noise of a load generator, wall time and CPU
time (``time.process_time``: the figure that means something on a busy machine). With
--profile, also prints mockllm's function calls per request and its top functions by own
time (cProfile).

``--state`` runs mockllm on a shared state: ``embedded`` starts ``--workers``' embedded
store in a thread of this process (so its CPU is in the figure, as the supervisor's is in
a real ``--workers 2``), a ``redis://`` URL uses that server (whose CPU is not in the
figure; ``benchmarks.state_cost`` counts it). ``--prompt seq`` with
``benchmarks/state_rules.yaml`` asks for the sequence rule of ``benchmarks.state_cost``.
``--api anthropic`` sends mockllm Anthropic's ``POST /v1/messages`` instead of OpenAI chat
(the baseline, which has no such route, still answers its chat completion).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import pstats
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


#: The path each ``--api`` posts to.
PATHS = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages"}


def _body(stream: bool, prompt: str = "Hello there, how are you?", api: str = "openai"
          ) -> bytes:
    req: dict[str, Any] = {"model": "gpt-4o-mini",
                           "messages": [{"role": "user", "content": prompt}]}
    if api == "anthropic":
        req.update(model="claude-sonnet-4-6", max_tokens=64)
    if stream:
        req.update(stream=True, max_tokens=64, ignore_eos=True)
    return msgspec.json.encode(req)


def _scope(body: bytes, path: str = "/v1/chat/completions") -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode()),
               (b"user-agent", b"wrk"), (b"accept", b"*/*")]
    if path == PATHS["anthropic"]:
        headers.append((b"anthropic-version", b"2023-06-01"))
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(),
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000), "headers": headers,
    }


async def _drive(app: App, n: int, body: bytes, path: str = "/v1/chat/completions"
                 ) -> tuple[float, float]:
    """Wall and CPU microseconds per request."""
    sent = 0

    async def send(message: dict[str, Any]) -> None:
        nonlocal sent
        sent += 1

    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        await app(_scope(body, path), _receiver(body), send)
    # Let batched work (a shared state's journal batch) run inside the measurement too.
    await asyncio.sleep(0.05)
    return ((time.perf_counter() - start - 0.05) / n * 1e6,
            (time.process_time() - cpu) / n * 1e6)


def _receiver(body: bytes) -> Callable[[], Awaitable[dict[str, Any]]]:
    msgs = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return msgs.pop() if msgs else {"type": "http.disconnect"}

    return receive


def _mockllm(state: str | None, config: str | None) -> Any:
    from mockllm import lifespan
    from mockllm.app import build_app
    from mockllm.assembly import StartupOptions, create_context

    ctx = create_context(StartupOptions(autoload=False, state=state, config_path=config))
    ctx.warm()
    app = build_app(ctx)
    # The state's start (a shared one connects) and the startup hooks (metrics observers).
    asyncio.get_event_loop().run_until_complete(lifespan.start(ctx))
    return app


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--stream", action="store_true")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--state", default=None,
                    help="memory (default), embedded (--workers' store), or a redis:// URL")
    ap.add_argument("--config", default=None)
    ap.add_argument("--prompt", default="Hello there, how are you?")
    ap.add_argument("--api", choices=sorted(PATHS), default="openai",
                    help="what mockllm is sent: OpenAI chat or Anthropic messages")
    args = ap.parse_args()
    from benchmarks.baseline_app import app as baseline

    body = _body(args.stream, args.prompt)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    with contextlib.ExitStack() as stack:
        state = args.state
        if state == "embedded":
            from mockllm.state.embedded import running

            state = stack.enter_context(running())
        _run(loop, args, body, baseline, _mockllm(state, args.config))


def _run(loop: asyncio.AbstractEventLoop, args: argparse.Namespace, body: bytes,
         baseline: App, mock: App) -> None:
    mine = (_body(args.stream, args.prompt, args.api), PATHS[args.api])
    for name, app, (sent, path) in (("baseline", baseline, (body, PATHS["openai"])),
                                    ("mockllm", mock, mine)):
        loop.run_until_complete(_drive(app, 2000, sent, path))  # warm caches
        wall, cpu = loop.run_until_complete(_drive(app, args.requests, sent, path))
        print(f"{name:9s} {wall:8.1f} us/request wall {cpu:8.1f} us/request CPU")
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        loop.run_until_complete(_drive(mock, args.requests, *mine))
        prof.disable()
        stats = pstats.Stats(prof)
        # Function calls per request: a figure the machine's load does not move.
        print(f"mockllm   {stats.total_calls / args.requests:8.1f} calls/request "
              "(cProfile, the harness's own included)")
        stats.sort_stats("tottime").print_stats(35)


if __name__ == "__main__":
    main()
