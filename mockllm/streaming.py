"""Sending frames: one ASGI send per frame, released on absolute deadlines.

Token frame i is due at ``start + ttft + sum(itl[:i])``. Deadlines are absolute, so time spent
encoding or in the event loop is absorbed instead of accumulating as drift.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from starlette.types import Receive, Scope, Send

from mockllm.observe import Observation

if TYPE_CHECKING:
    from mockllm.transport import Frame, Transport

FaultKind = Literal["disconnect", "malformed", "stall", "truncate"]


@dataclass(frozen=True)
class Fault:
    """A deliberate failure of a stream.

    ``after`` counts frames sent before the fault fires. ``disconnect`` closes the connection
    mid-stream, ``malformed`` sends a frame that is not valid JSON and goes on, ``stall`` waits
    ``seconds`` before going on, ``truncate`` ends the stream cleanly without its final frames
    (finish reason, usage) or terminator.
    """

    kind: FaultKind
    after: int = 0
    seconds: float = 0.0


MALFORMED = b'{"malformed": tr'


class Pacing:
    """When each token frame is due, relative to ``start`` (a ``time.monotonic()`` reading).

    ``itl`` is one inter-token latency for all tokens, or one per token (index 1 onwards uses
    ``itl[i - 1]``). Subclass to plug a different scheduler in.
    """

    def __init__(
        self,
        start: float,
        ttft: float = 0.0,
        itl: float | list[float] = 0.0,
        fault: Fault | None = None,
    ) -> None:
        self.start = start
        self.ttft = ttft
        self.itl = itl
        self.fault = fault
        #: send time minus due time of every token frame, filled by StreamResponse.
        self.errors: list[float] = []

    @property
    def idle(self) -> bool:
        return self.ttft <= 0 and not self.itl and self.fault is None

    def due(self, i: int) -> float:
        if isinstance(self.itl, list):
            return self.start + self.ttft + sum(self.itl[:i])
        return self.start + self.ttft + self.itl * i

    def total(self, tokens: int) -> float:
        """Seconds from ``start`` until the last of ``tokens`` tokens is due."""
        return self.due(max(tokens - 1, 0)) - self.start

    async def wait(self, i: int) -> None:
        delay = self.due(i) - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    async def wait_total(self, tokens: int) -> None:
        """Non-streaming answers wait as long as the stream would have taken."""
        await self.wait(max(tokens - 1, 0))


class StreamResponse:
    """A minimal ASGI response for paced frames (cheaper than StreamingResponse)."""

    def __init__(
        self,
        transport: Transport,
        frames: Iterable[Frame],
        pacing: Pacing | None,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.transport = transport
        self.frames = frames
        self.pacing = pacing
        self.status_code = status
        raw = [(b"content-type", transport.media_type.encode()), (b"cache-control", b"no-cache")]
        for k, v in (headers or {}).items():
            raw.append((k.lower().encode("latin-1"), v.encode("latin-1")))
        self.raw_headers = raw
        self.background = None
        #: Set by the endpoint; completed and handed to the observers after the last frame.
        self.observation: Observation | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code,
                    "headers": self.raw_headers})
        pacing = self.pacing
        complete = True
        try:
            if pacing is None or pacing.idle:
                await self._fast(send)
            else:
                complete = await self._paced(send, pacing)
            if complete:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            # else: a disconnect fault; the response stays incomplete and the server closes it
        finally:
            self._observe(pacing)

    def _observe(self, pacing: Pacing | None) -> None:
        obs = self.observation
        if obs is None:
            return
        obs.end = time.monotonic()
        if obs.first_token is None:
            obs.first_token = obs.end if pacing is None or pacing.idle else None
        self.transport.context.observe(obs)

    async def _fast(self, send: Send) -> None:
        encode = self.transport.encode
        for frame in self.frames:
            await send({"type": "http.response.body", "body": encode(frame), "more_body": True})
        if self.transport.terminator:
            await send({"type": "http.response.body", "body": self.transport.terminator,
                        "more_body": True})

    async def _paced(self, send: Send, pacing: Pacing) -> bool:
        encode = self.transport.encode
        fault = pacing.fault
        pending: list[bytes] = []
        sent = tokens = 0

        async def out(body: bytes) -> bool:
            nonlocal sent
            if fault is not None and sent == fault.after:
                if fault.kind == "disconnect":
                    return False
                if fault.kind == "malformed":
                    await send(_body(encode_malformed(self.transport)))
                elif fault.kind == "stall":
                    await asyncio.sleep(fault.seconds)
            sent += 1
            await send(_body(body))
            return True

        for frame in self.frames:
            if fault is not None and fault.kind == "truncate" and frame.final:
                return True
            if not frame.token:
                pending.append(encode(frame))
                continue
            await pacing.wait(tokens)
            now = time.monotonic()
            pacing.errors.append(now - pacing.due(tokens))
            if tokens == 0 and self.observation is not None:
                self.observation.first_token = now
            tokens += 1
            for body in pending:
                if not await out(body):
                    return False
            pending.clear()
            if not await out(encode(frame)):
                return False
        for body in pending:
            if not await out(body):
                return False
        if self.transport.terminator and not (fault is not None and fault.kind == "truncate"):
            return await out(self.transport.terminator)
        return True


def _body(body: bytes) -> dict[str, Any]:
    return {"type": "http.response.body", "body": body, "more_body": True}


def encode_malformed(transport: Transport) -> bytes:
    from mockllm.transport import Frame

    return transport.encode(Frame(None, MALFORMED))
