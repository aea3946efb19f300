"""The floor for paced streaming in Python on this machine: no framework at all.

    python -m benchmarks.raw_pacer --port 8000 [--ttft 100] [--itl 10] [--tokens 50]

A bare uvloop protocol server (asyncio's loop when uvloop is missing) that answers any POST
with a chunked SSE stream of ``--tokens`` chat chunks the size of mockllm's, paced on
absolute deadlines by mockllm's own heap scheduler, overdue tokens leaving in one write, the
last write ending the response: mockllm's pacing algorithm with nothing else around it (no HTTP
parser beyond finding the end of the request, no ASGI, no JSON, no plan). ``GET /metrics``
exposes ``mockllm_pacing_error_seconds`` with mockllm's buckets, so
``benchmarks.pacing_bench --against raw`` measures both servers the same way. Not a server
to use; a yardstick.

``--request-us N`` / ``--token-us M`` spin the CPU for N µs per request (before its stream
starts) and M µs per write of tokens: the floor with a given extra cost, which is how
``benchmarks.pacing_budget`` finds what a request and a token may cost before the burst's
TTFT error and CPU leave the issue's bounds.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from mockllm.histogram import Histogram
from mockllm.schedulers import HeapScheduler

CHUNK = (
    b'data: {"id":"chatcmpl-0123456789abcdef01234567","object":"chat.completion.chunk",'
    b'"created":1700000000,"model":"bench","system_fingerprint":"fp_mockllm",'
    b'"choices":[{"index":0,"delta":{"content":" token"},"logprobs":null,'
    b'"finish_reason":null}]}\n\n'
)
HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
        b"transfer-encoding: chunked\r\nconnection: close\r\n\r\n")
END = b"data: [DONE]\n\n"


def chunk(body: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(body), body)


def spin(seconds: float) -> None:
    """Spend ``seconds`` of this thread's CPU (a stand-in for work a real server does).

    CPU time, not wall time: on a shared machine the process may be preempted mid-spin, and
    a wall-clock spin would then cost less CPU than it says."""
    if seconds > 0:
        end = time.thread_time() + seconds
        while time.thread_time() < end:
            pass


class Pacer:
    """mockllm's heap scheduler (one heap, one timer) and the error histogram it feeds."""

    def __init__(self, loop: asyncio.AbstractEventLoop, request_s: float = 0.0,
                 token_s: float = 0.0) -> None:
        self.at = HeapScheduler(loop).call_at
        self.errors = Histogram()
        self.request_s, self.token_s = request_s, token_s


class Stream:
    def __init__(self, pacer: Pacer, transport: asyncio.Transport, args: argparse.Namespace
                 ) -> None:
        self.pacer, self.transport = pacer, transport
        self.start = time.monotonic()
        self.ttft, self.itl, self.tokens = args.ttft / 1000, args.itl / 1000, args.tokens
        self.i = 0
        transport.write(HEAD)
        pacer.at(self.start + self.ttft, self.step)

    def step(self) -> None:
        now, n = time.monotonic(), 0
        while self.i < self.tokens and (due := self.start + self.ttft + self.itl * self.i) <= now:
            self.pacer.errors.observe(now - due)
            self.i += 1
            n += 1
        spin(self.pacer.token_s)
        if self.i < self.tokens:
            self.transport.write(chunk(CHUNK * n))
            self.pacer.at(self.start + self.ttft + self.itl * self.i, self.step)
        else:
            self.transport.write(chunk(CHUNK * n + END) + b"0\r\n\r\n")
            self.transport.close()


class Protocol(asyncio.Protocol):
    def __init__(self, pacer: Pacer, args: argparse.Namespace) -> None:
        self.pacer, self.args, self.buf = pacer, args, b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        head, sep, body = self.buf.partition(b"\r\n\r\n")
        if not sep:
            return
        if head.startswith(b"GET"):
            text = (metrics(self.pacer.errors) if b" /metrics " in head.split(b"\r\n")[0]
                    else b'{"status":"ok"}')
            self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\nconnection: close"
                                 b"\r\n\r\n%s" % (len(text), text))
            self.transport.close()
            return
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if len(body) >= length:
            spin(self.pacer.request_s)
            Stream(self.pacer, self.transport, self.args)


def metrics(h: Histogram) -> bytes:
    name, out, cumulative = "mockllm_pacing_error_seconds", [], 0
    out.append(f"# TYPE {name} histogram")
    for bound, n in zip(h.bounds, h.counts, strict=False):
        cumulative += n
        out.append(f'{name}_bucket{{le="{bound}"}} {cumulative}')
    out.append(f'{name}_bucket{{le="+Inf"}} {h.count}')
    out.append(f"{name}_count {h.count}")
    out.append(f"{name}_sum {h.sum}")
    return ("\n".join(out) + "\n").encode()


async def serve(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    pacer = Pacer(loop, args.request_us / 1e6, args.token_us / 1e6)
    server = await loop.create_server(lambda: Protocol(pacer, args), args.host, args.port,
                                      backlog=2048)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ttft", type=float, default=100.0)
    parser.add_argument("--itl", type=float, default=10.0)
    parser.add_argument("--tokens", type=int, default=50)
    parser.add_argument("--request-us", type=float, default=0.0,
                        help="CPU spun per request before its stream starts")
    parser.add_argument("--token-us", type=float, default=0.0,
                        help="CPU spun per write of tokens")
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args))
    else:
        uvloop.run(serve(args))


if __name__ == "__main__":
    main()
