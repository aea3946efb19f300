"""The bare Starlette baseline every mockllm throughput target is a ratio against.

It does only what any mock must do: read and parse the JSON body, then return a fixed
OpenAI-shaped chat completion (or 64 fixed SSE chunks plus ``[DONE]`` when ``"stream": true``).
Everything is pre-serialised at import time so the baseline is the cheapest honest server.

``--ttft-ms/--itl-ms`` build a *separate* paced app (used only by the idle-stream and pacing
reference runs), so the throughput app carries no extra branch on its hot path.

Run: ``python -m benchmarks.baseline_app --port 8001`` (uvicorn, httptools/uvloop when
installed, no access log: the same settings ``mockllm serve`` uses).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

STREAM_TOKENS = 64
MODEL = "gpt-4o-mini"
CREATED = 1_700_000_000
ANSWER = (
    "This is a fixed answer from the bare Starlette baseline. It has roughly the size of a "
    "short real completion, so that the response body a client parses is realistic for the "
    "benchmark and comparable with what mockllm sends back."
)

COMPLETION = json.dumps(
    {
        "id": "chatcmpl-baseline0000000000000000000000",
        "object": "chat.completion",
        "created": CREATED,
        "model": MODEL,
        "system_fingerprint": "fp_baseline",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": ANSWER, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 38, "total_tokens": 47},
    },
    separators=(",", ":"),
).encode()


def _chunk(index: int) -> bytes:
    delta: dict[str, str] = {"content": f" tok{index}"}
    if index == 0:
        delta["role"] = "assistant"
    body = {
        "id": "chatcmpl-baseline0000000000000000000000",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "delta": delta,
                "logprobs": None,
                "finish_reason": "stop" if index == STREAM_TOKENS - 1 else None,
            }
        ],
    }
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


FRAMES: tuple[bytes, ...] = tuple(_chunk(i) for i in range(STREAM_TOKENS)) + (b"data: [DONE]\n\n",)
SSE_HEADERS = {"cache-control": "no-cache"}


async def _fixed_frames() -> AsyncIterator[bytes]:
    for frame in FRAMES:
        yield frame


async def _health(request: Request) -> Response:
    return Response(b"ok", media_type="text/plain")


def make_app(ttft_ms: float | None = None, itl_ms: float | None = None) -> Starlette:
    """Build the app; with ttft/itl it paces frames with asyncio.sleep (reference runs only)."""
    paced = ttft_ms is not None or itl_ms is not None
    ttft = (ttft_ms or 0.0) / 1000
    itl = (itl_ms or 0.0) / 1000

    async def paced_frames(tokens: int) -> AsyncIterator[bytes]:
        # Absolute deadlines (start + TTFT + i*ITL), so lateness does not accumulate: the
        # remaining error is scheduling/overload only, the floor any asyncio server can reach.
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i in range(tokens):
            await asyncio.sleep(max(0.0, start + ttft + i * itl - loop.time()))
            yield FRAMES[i % STREAM_TOKENS]
        yield FRAMES[-1]

    async def chat(request: Request) -> Response:
        body = json.loads(await request.body())
        if body.get("stream"):
            if paced:
                tokens = int(body.get("max_tokens") or STREAM_TOKENS)
                stream: AsyncIterator[bytes] = paced_frames(tokens)
            else:
                stream = _fixed_frames()
            return StreamingResponse(stream, media_type="text/event-stream", headers=SSE_HEADERS)
        return Response(COMPLETION, media_type="application/json")

    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/health", _health, methods=["GET"]),
        ]
    )


app = make_app()


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--ttft-ms", type=float, default=None)
    parser.add_argument("--itl-ms", type=float, default=None)
    args = parser.parse_args(argv)
    paced = args.ttft_ms is not None or args.itl_ms is not None
    served = make_app(args.ttft_ms, args.itl_ms) if paced else app
    # "auto" picks uvloop/httptools when installed, as mockllm does; access log off for both.
    uvicorn.run(
        served,
        host=args.host,
        port=args.port,
        loop="auto",
        http="auto",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
