"""The ASGI response of a stream: frames sent on the pacing schedule.

For every token frame the actual send time minus the due time goes into a fixed-bucket
:class:`~mockllm.histogram.Histogram` (``mockllm_pacing_error_seconds``). A paced stream
without a fault is a :class:`~mockllm.pump.Pump`; a stream with a fault takes the plain
coroutine path (:meth:`StreamResponse._paced`); an unpaced one is written in few large writes
(:meth:`StreamResponse._fast`).

Whatever raises once the response has started (an endpoint's frame generator, a plugin
transport's ``encode``) cannot become a 500 any more: the frames already made go out, then
the API's own mid-stream error event (:attr:`StreamResponse.on_error`; the endpoint sets it to
its provider's :meth:`~mockllm.provider.Provider.stream_error`), and the response ends. The
exception is logged once, with its traceback; the client sees an error, never a stream that
hangs or stops without one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from mockllm.boundary import as_api_error, provider_of_url
from mockllm.faults import MALFORMED
from mockllm.frames import Frame
from mockllm.observe import Observation
from mockllm.pacing import Pacing
from mockllm.pump import BodyWrite, Pump
from mockllm.watch import DisconnectWatch

#: An unpaced stream is written in pieces of about this size (frames are never split).
FAST_WRITE_BYTES = 64 * 1024

log = logging.getLogger("mockllm.stream")

#: media type -> the headers every stream of it starts with, encoded once.
_HEADERS: dict[str, tuple[tuple[bytes, bytes], ...]] = {}

#: ``on_error(exc, produced)``: the frame that ends a stream that failed with ``exc`` after
#: ``produced`` frames (it also logs ``exc``).
ErrorFrame = Callable[[BaseException, int], Frame]


class StreamFailure(Exception):
    """A stream that raised after it started: the cause, the bytes of the frames made but not
    yet written, and how many frames were made in all."""

    def __init__(self, cause: Exception, unsent: bytes, produced: int) -> None:
        super().__init__(cause)
        self.cause, self.unsent, self.produced = cause, unsent, produced


class Framing(Protocol):
    """What a stream needs of its transport (:class:`mockllm.transport.Transport` is one)."""

    @property
    def media_type(self) -> str: ...
    @property
    def terminator(self) -> bytes: ...
    @property
    def context(self) -> Any: ...

    def encode(self, frame: Frame) -> bytes: ...


class StreamResponse(Response):
    """A minimal ASGI response for paced frames (cheaper than StreamingResponse)."""

    def __init__(
        self,
        transport: Framing,
        frames: Iterable[Frame],
        pacing: Pacing | None,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.transport = transport
        self.frames = frames
        self.pacing = pacing
        self.status_code = status
        base = _HEADERS.get(transport.media_type)
        if base is None:
            base = _HEADERS[transport.media_type] = (
                (b"content-type", transport.media_type.encode()), (b"cache-control", b"no-cache"))
        raw = list(base)  # its own: the endpoint appends the request id, quota headers
        if headers:
            for k, v in headers.items():
                raw.append((k.lower().encode("latin-1"), v.encode("latin-1")))
        self.raw_headers = raw
        self.background = None
        #: Set by the endpoint; completed and handed to the observers after the last frame.
        self.observation: Observation | None = None
        #: Set by the endpoint (its provider's error event); None: the provider of the URL.
        self.on_error: ErrorFrame | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        pacing = self.pacing
        if pacing is None or pacing.idle:
            await send({"type": "http.response.start", "status": self.status_code,
                        "headers": self.raw_headers})
            try:
                await self._fast(send)
            except StreamFailure as failure:
                await self._fail(scope, send, failure)
            finally:
                self._observe(pacing)
            return
        runtime = getattr(self.transport.context, "timing", None)
        if runtime is not None:
            runtime.active_streams += 1
        complete = True
        # A client that goes away frees its slot (or queue place) at once, as a real server
        # aborts the sequence; uvicorn would otherwise drop the sends silently until the
        # schedule ends. One watcher per paced stream (no task of its own), nothing per token.
        task = asyncio.current_task()
        watch = DisconnectWatch(receive, task)
        try:
            await send({"type": "http.response.start", "status": self.status_code,
                        "headers": self.raw_headers})
            if not pacing.take():
                await pacing.acquire()
            if pacing.fault is None:
                # The pump's last write ends the response; ending it also reads as a
                # disconnect, so the watcher goes first.
                transport = self.transport
                pump = Pump(self.frames, transport.encode, transport.terminator, send, pacing,
                            observation=self.observation, on_end=watch.cancel,
                            write=_body_writer(send))
                try:
                    await pump.run()
                except Exception as exc:  # noqa: BLE001 - ended with the API's error event
                    watch.cancel()
                    unsent, produced = pump.unsent()
                    await self._fail(scope, send, StreamFailure(exc, unsent, produced))
            else:
                try:
                    complete = await self._paced(send, pacing)
                except StreamFailure as failure:
                    watch.cancel()
                    await self._fail(scope, send, failure)
                    return
                watch.cancel()
                if complete:
                    await send({"type": "http.response.body", "body": b"",
                                "more_body": False})
                # else: a disconnect fault; the response stays incomplete, the server closes it
        except asyncio.CancelledError:
            if not watch.gone or task is None:
                raise
            task.uncancel()  # our own cancellation: the client left, nothing more to send
        finally:
            watch.cancel()
            pacing.release()
            if runtime is not None:
                runtime.active_streams -= 1
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
        """Nothing to pace (so no fault either: ``Pacing.idle`` excludes them): the frames go
        out in as few writes as the buffer allows, not one write (and one trip through
        uvicorn and the kernel) per frame; the last write ends the response. The bytes on the
        wire are the same events as before, so SSE and NDJSON parsers see every frame."""
        encode = self.transport.encode
        batch: list[bytes] = []
        size = written = 0
        try:
            for frame in self.frames:
                body = encode(frame)
                batch.append(body)
                size += len(body)
                if size >= FAST_WRITE_BYTES:  # keeps memory bounded on very long streams
                    await send(_body(b"".join(batch)))
                    written += len(batch)
                    batch.clear()
                    size = 0
        except Exception as exc:  # noqa: BLE001 - ended with the API's error event
            raise StreamFailure(exc, b"".join(batch), written + len(batch)) from exc
        if self.transport.terminator:
            batch.append(self.transport.terminator)
        await send({"type": "http.response.body", "body": b"".join(batch), "more_body": False})

    async def _paced(self, send: Send, pacing: Pacing) -> bool:
        """A stream with a fault, frame by frame; False when a disconnect fault left the
        response open (the server closes it)."""
        made: list[int] = [0]  # frames written (set on failure)
        try:
            return await self._paced_frames(send, pacing, made)
        except Exception as exc:  # noqa: BLE001 - ended with the API's error event
            raise StreamFailure(exc, b"", made[0]) from exc

    async def _paced_frames(self, send: Send, pacing: Pacing, made: list[int]) -> bool:
        encode = self.transport.encode
        fault = pacing.fault
        action = fault.action if fault is not None else None  # a plugin's fault kind
        errors = pacing.errors.observe
        itl_sink = pacing.itl_sink
        clock = pacing.clock
        pending: list[bytes] = []
        sent = tokens = 0
        last = 0.0

        async def out(body: bytes) -> bool:
            nonlocal sent
            if action is not None and sent >= fault.after:  # type: ignore[union-attr]
                changed = action(body, sent)
                if changed is None:
                    return False  # the plugin drops the connection here
                sent += 1
                made[0] = sent
                if changed:
                    await send(_body(changed))
                return True
            if fault is not None and sent == fault.after:
                if fault.kind == "disconnect":
                    return False
                if fault.kind == "malformed":
                    await send(_body(encode_malformed(self.transport)))
                elif fault.kind == "stall":
                    await asyncio.sleep(fault.seconds)
            sent += 1
            made[0] = sent
            await send(_body(body))
            return True

        for frame in self.frames:
            if fault is not None and fault.kind == "truncate" and frame.final:
                return True
            if not frame.token:
                pending.append(encode(frame))
                continue
            due = pacing.due(tokens)
            if due > clock():
                await pacing.scheduler.sleep_until(due)
            now = clock()
            errors(now - due)
            if tokens == 0:
                if self.observation is not None:
                    self.observation.first_token = now
            elif itl_sink is not None:
                itl_sink.observe(now - last)
            last = now
            tokens += 1
            if pending:
                for body in pending:
                    if not await out(body):
                        return False
                pending.clear()
            if not await out(encode(frame)):
                return False
        closing = pacing.closing_due(tokens)
        if closing is not None and closing > clock():
            await pacing.scheduler.sleep_until(closing)
        for body in pending:
            if not await out(body):
                return False
        # No terminator after a truncated stream or a mid-stream error: both end the answer.
        if self.transport.terminator and not (
            fault is not None and fault.kind in ("truncate", "error")
        ):
            return await out(self.transport.terminator)
        return True


    async def _fail(self, scope: Scope, send: Send, failure: StreamFailure) -> None:
        """End a stream that raised with the frames it made, then its API's error event."""
        exc = failure.cause
        body = failure.unsent
        try:
            make = self.on_error or _url_error(scope)
            body += self.transport.encode(make(exc, failure.produced))
        except Exception:  # noqa: BLE001 - the error event itself failed: end what we have
            log.exception("the error event of a failed stream could not be rendered")
        # The client may already be gone (or the send itself was what failed).
        with contextlib.suppress(Exception):
            await send({"type": "http.response.body", "body": body, "more_body": False})


def _url_error(scope: Scope) -> ErrorFrame:
    """The error event of the API the URL speaks, for a stream no endpoint set one for."""
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())}
    provider = provider_of_url(scope.get("path", ""), headers)

    def make(exc: BaseException, produced: int) -> Frame:
        return provider.stream_error(as_api_error(exc, f"stream of {scope.get('path')}"))

    return make


def _body_writer(send: Send) -> BodyWrite | None:
    """The own HTTP layer's write of a body without the ASGI message, when ``send`` is its
    request's own (no middleware in between: a wrapped ``send`` is a plain function)."""
    make = getattr(getattr(send, "__self__", None), "body_writer", None)
    return make() if make is not None else None


def _body(body: bytes) -> dict[str, Any]:
    return {"type": "http.response.body", "body": body, "more_body": True}


def encode_malformed(transport: Framing) -> bytes:
    return transport.encode(Frame(None, MALFORMED))
