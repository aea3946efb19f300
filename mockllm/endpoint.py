"""The base class builtin endpoints share: decoding, error envelopes, transports.

The contract for any endpoint implementation is only: ``cls(context)`` builds it, and
``await instance(request)`` returns a Starlette response. This base adds the conveniences.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import anyio.to_thread
import msgspec
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from mockllm.boundary import as_api_error, error_response
from mockllm.engine.plan import Plan
from mockllm.engine.request import NeutralRequest
from mockllm.errors import ApiError
from mockllm.faults import Fault, cut_at_token
from mockllm.frames import Frame
from mockllm.http.cycle import RECEIVE
from mockllm.observe import SCOPE_KEY
from mockllm.provider import MALFORMED, Provider, current_request_id, provider_for
from mockllm.stream_response import StreamResponse

if TYPE_CHECKING:
    from mockllm.context import ServerContext
    from mockllm.pacing import Pacing
    from mockllm.transport import Transport

log = logging.getLogger("mockllm.endpoint")

T = TypeVar("T")

#: An answer made of more values than this is built in a worker thread. A logprob entry
#: costs about 4 us to build and encode, so 20,000 of them hold the loop ~80 ms.
OFF_LOOP_VALUES = 20_000
#: A request with a body past this, or with more embedding inputs than OFF_LOOP_INPUTS, is
#: tokenized (and embedded) in a worker thread by make_plan: 256 KiB is about 20 ms of
#: tokenizing, and small requests keep the direct path (a thread hop costs ~50 us).
OFF_LOOP_BYTES = 256 * 1024
OFF_LOOP_INPUTS = 16

_HEADERS_KEY = "mockllm.headers"
#: Strict mode only needs the top-level keys; Raw leaves the values undecoded.
_keys_decoder = msgspec.json.Decoder(dict[str, msgspec.Raw])
_TOO_LARGE = "Request body too large: the limit is {} bytes."  # however it was found out

#: Where :meth:`Endpoint.plan` leaves a fault for a non-streamed answer.
FAULT_KEY = "mockllm.fault"
#: Scope key of the rate-limit headers of a request counted by a quota.
QUOTA_KEY = "mockllm.quota"

#: The request an endpoint is answering (set by Endpoint.__call__, read by wait_paced).
_REQUEST: ContextVar[Request] = ContextVar("mockllm_request")


def is_large(neutral: NeutralRequest, body: bytes) -> bool:
    """Whether ``neutral`` is measured off the event loop first (:meth:`Endpoint.make_plan`):
    a body past OFF_LOOP_BYTES, or more embedding inputs than OFF_LOOP_INPUTS."""
    return len(body) > OFF_LOOP_BYTES or len(neutral.inputs) > OFF_LOOP_INPUTS


async def _disconnected(request: Request) -> None:
    """Returns when the client goes away (its body has been read by then)."""
    receive = request.receive
    while (await receive())["type"] != "http.disconnect":
        pass


class FaultyResponse(Response):
    """A whole-body answer failing the way ``fault`` says (streams fail in StreamResponse).

    ``disconnect`` sends the headers and half the body, then drops the connection;
    ``malformed`` and ``truncate`` send half the body as if it were all of it (invalid JSON);
    ``stall`` waits ``seconds`` before answering normally. A plugin kind's action gets the
    whole body as frame 0 (when its ``after`` is 0): what it returns is the body, ``None``
    drops the connection before any of it.
    """

    def __init__(self, response: Response, fault: Fault) -> None:
        super().__init__(status_code=response.status_code)
        self.response = response
        self.fault = fault

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fault, inner = self.fault, self.response
        if fault.kind == "stall":
            await asyncio.sleep(fault.seconds)
            await inner(scope, receive, send)
            return
        body = bytes(inner.body)
        if fault.action is not None:
            await self._plugin(fault, inner, body, send)
            return
        half = body[: len(body) // 2]
        headers = [(k, v) for k, v in inner.raw_headers if k != b"content-length"]
        length = len(body) if fault.kind == "disconnect" else len(half)
        headers.append((b"content-length", str(length).encode()))
        await send({"type": "http.response.start", "status": inner.status_code,
                    "headers": headers})
        await send({"type": "http.response.body", "body": half,
                    "more_body": fault.kind == "disconnect"})
        # disconnect: returning with the body incomplete makes the server close the socket

    @staticmethod
    async def _plugin(fault: Fault, inner: Response, body: bytes, send: Send) -> None:
        assert fault.action is not None
        changed = fault.action(body, 0) if fault.after == 0 else body
        headers = [(k, v) for k, v in inner.raw_headers if k != b"content-length"]
        headers.append((b"content-length", str(len(body if changed is None else changed))
                        .encode()))
        await send({"type": "http.response.start", "status": inner.status_code,
                    "headers": headers})
        # None: the headers promise a body that never comes, and the server drops the socket.
        await send({"type": "http.response.body", "body": changed or b"",
                    "more_body": changed is None})


class Endpoint:
    """Subclass and implement :meth:`handle`; raise :class:`ApiError` for error answers.

    ``provider`` names the API family (:mod:`mockllm.provider`): its strategy renders every
    error this endpoint raises (envelope, headers, request id), words decode errors, checks
    API keys and writes the mid-stream error event.
    """

    provider: ClassVar[str] = "openai"

    def __init__(self, context: ServerContext) -> None:
        self.context = context

    async def __call__(self, request: Request) -> Response:
        obs = request.scope.get(SCOPE_KEY)
        req_token = _REQUEST.set(request)  # for wait_paced: the client may leave while we wait
        strategy = self.strategy
        header = strategy.request_id_header
        rid = strategy.new_request_id() if header is not None else ""
        token = current_request_id.set(rid) if rid else None
        try:
            response = await self.handle(request)
        except ClientDisconnect:
            # The client left (sending its body, or waiting for the answer): nobody reads it.
            response = Response(status_code=499)
            if obs is not None:
                obs.disconnected = True
        except Exception as exc:  # noqa: BLE001 - the one boundary: rendered by the provider
            # Through error_response, so a subclass's error_body (its own envelope) holds.
            response = self.error_response(
                as_api_error(exc, f"endpoint {type(self).__qualname__}"))
        finally:
            _REQUEST.reset(req_token)
            if token is not None:
                current_request_id.reset(token)
        if rid:
            # Before a fault wraps the response: a faulty answer keeps its request id too.
            response.raw_headers.append((strategy.request_id_raw, rid.encode()))
        scope = request.scope
        quota = scope.get(QUOTA_KEY)
        if quota is not None and response.status_code != 429:
            # Every answer under a quota says where the caller stands, as the real APIs do.
            response.raw_headers.extend(
                (k.encode("latin-1"), v.encode("latin-1")) for k, v in quota.items())
        if isinstance(response, StreamResponse):
            if response.on_error is None:
                # Raised once the stream has started: this API's error event ends it.
                response.on_error = partial(self._stream_failed, rid)
            if obs is not None:
                obs.status = response.status_code
                response.observation = obs  # finished when the last frame is sent
            return response
        fault = scope.get(FAULT_KEY)
        if fault is not None:
            response = FaultyResponse(response, fault)
        if obs is not None:
            obs.status = response.status_code
            obs.end = obs.first_token = time.monotonic()
            self.context.observe(obs)
        return response

    def _stream_failed(self, rid: str, exc: BaseException, produced: int) -> Frame:
        """The event that ends this endpoint's stream when ``exc`` was raised in it after
        ``produced`` frames (``exc`` is logged here, once, with its traceback)."""
        token = current_request_id.set(rid) if rid else None  # envelopes that repeat it
        try:
            err = as_api_error(exc, f"stream of {type(self).__qualname__}")
            return self.error_frame(err, produced)
        finally:
            if token is not None:
                current_request_id.reset(token)

    @property
    def strategy(self) -> Provider:
        """The provider strategy of :attr:`provider` (envelopes, wording, headers)."""
        return provider_for(self.provider)

    async def make_plan(self, request: Request, neutral: NeutralRequest,
                        body: bytes = b"") -> Plan:
        """:meth:`plan`, with its costly pure part (tokenizing the prompt, making embedding
        vectors: ``Engine.prepare``) done first in a worker thread when the request is large,
        so a legal 8 MB prompt does not stall every other request. What the plan changes
        (rule counters, quotas, the journal) is still done on the event loop.

        The hottest endpoints test :func:`is_large` themselves and call :meth:`plan`
        directly for a small request: one coroutine less on every request's path."""
        if is_large(neutral, body):
            await anyio.to_thread.run_sync(self.context.engine.prepare, neutral)
        return self.plan(request, neutral, body)

    def plan(self, request: Request, neutral: NeutralRequest, body: bytes = b"") -> Plan:
        """Ask the engine for a plan; raise its error, and note it for journal and metrics.

        Builtins call this rather than ``context.engine.plan`` so per-request control headers,
        the journal and metrics see every request the same way.
        """
        if body and not neutral.body:
            neutral.body = body  # for match.json when the endpoint sets no ``raw``
        engine = self.context.engine
        obs = request.scope.get(SCOPE_KEY)
        plan = engine.plan(neutral, obs.start if obs is not None else None)
        if engine.quotas is not None and plan.error is None:
            # The endpoint's strategy (Azure's, say, on the OpenAI chat it reuses): its
            # headers, its 429 and where its clients send the key a quota counts by.
            verdict = engine.quotas.admit(self.context.state, self.provider, plan.model.id,
                                          neutral.headers,
                                          plan.prompt_tokens + plan.completion_tokens,
                                          query=request.scope.get("query_string", b""))
            if verdict is not None:
                request.scope[QUOTA_KEY] = verdict.headers
                plan.error = verdict.error
        if obs is not None:
            obs.model, obs.rule, obs.stream = plan.model.id, plan.rule, neutral.stream
            obs.prompt_tokens, obs.completion_tokens = plan.prompt_tokens, plan.completion_tokens
            obs.body = body
        if plan.error is not None:
            raise plan.error
        if plan.fault is not None and not neutral.stream:
            if plan.fault.kind == "error":  # no stream to break: the answer is the error
                raise self.fault_error(plan.fault)
            request.scope[FAULT_KEY] = plan.fault  # a whole-body answer fails in __call__
        return plan

    @staticmethod
    def headers(request: Request) -> dict[str, str]:
        """The request's headers as a plain dict (names lower-case), built once per request
        from the ASGI scope: what rules and control headers match against."""
        scope = request.scope
        cached: dict[str, str] | None = scope.get(_HEADERS_KEY)
        if cached is None:
            cached = scope[_HEADERS_KEY] = {
                k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]
            }
        return cached

    def fault_error(self, fault: Fault) -> ApiError:
        """The error an ``error`` fault stands for; providers word it their own way."""
        return self.strategy.fault_error(fault)

    def check_api_key(self, request: Request) -> None:
        """401 in the provider's wording unless the request carries a configured key."""
        # The raw query string too, when keys are configured: an API may take its key there
        # (Gemini's ``?key=``); without keys nothing reads it, so it is not looked up.
        keys = self.context.config.server.api_keys
        self.strategy.check_api_key(self.headers(request), keys,
                                    request.scope.get("query_string", b"") if keys else b"")

    def error_frame(self, err: ApiError, sent: int) -> Frame:
        """The event that ends a stream with ``err`` after ``sent`` frames (the provider's;
        an endpoint whose events are numbered overrides it)."""
        return self.strategy.stream_error(err)

    def with_fault(self, frames: Iterable[Frame], plan: Plan) -> Iterable[Frame]:
        """``frames`` as planned, or cut short by a mid-stream ``error`` fault: the frames
        before its token, then :meth:`error_frame`."""
        fault = plan.fault
        if fault is None or fault.kind != "error":
            return frames
        sent = cut_at_token(frames, max(fault.after, 0))
        return [*sent, self.error_frame(self.fault_error(fault), len(sent))]

    async def wait_for(self, plan: Plan) -> None:
        """A non-streaming answer waits as long as its stream would have taken."""
        if plan.pacing is not None:
            await self.wait_paced(plan.pacing, plan.completion_tokens)

    async def wait_paced(self, pacing: Pacing, tokens: int) -> None:
        """Wait as long as ``tokens`` tokens of ``pacing`` take, or until the client goes.

        A client that leaves (a timeout, a cancelled task) cancels the wait at once: its
        load slot and the running gauges are freed, as a real server aborts the sequence,
        and :class:`ClientDisconnect` ends the request (499, ``client_disconnected`` in the
        journal). Without this an abandoned request holds its slot to the end of its
        schedule: ghost load an autoscaler would read as real.
        """
        request = _REQUEST.get(None)
        if pacing.idle or request is None:
            await pacing.wait_total(tokens)
            return
        wait = asyncio.ensure_future(pacing.wait_total(tokens))
        gone = asyncio.ensure_future(_disconnected(request))
        try:
            await asyncio.wait((wait, gone), return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            if not wait.done():
                wait.cancel()  # wait_total's own ``finally`` releases the slot
                try:
                    await wait
                except asyncio.CancelledError:
                    pass
        if wait.cancelled():
            raise ClientDisconnect()
        wait.result()  # re-raise what the wait raised, if anything

    async def build(self, make: Callable[[], T], values: int) -> T:
        """``make()``, in a worker thread when it makes more than ``OFF_LOOP_VALUES``
        values (tokens times logprobs, say): one large answer built on the event loop would
        hold up every other request, ``/health`` included, until it is done."""
        if values <= OFF_LOOP_VALUES:
            return make()
        return await anyio.to_thread.run_sync(make)

    async def handle(self, request: Request) -> Response:
        raise NotImplementedError

    # -- helpers ------------------------------------------------------------------------

    async def read_body(self, request: Request) -> bytes:
        """The raw body, refused with 413 past the configured limit.

        Reads the ASGI messages directly (cheaper than ``Request.body()``'s async generator)
        and stops at the limit, so an oversized chunked upload is never held whole. The body
        is left on the request, so ``request.body()`` and ``request.json()`` still work.
        """
        cached: bytes | None = getattr(request, "_body", None)
        if cached is not None:
            return cached
        limit = self.context.config.server.max_body_bytes
        receive = request.receive
        if getattr(receive, "__func__", None) is RECEIVE:  # own HTTP layer; most bodies are whole
            whole: bytes | None = receive.__self__.whole_body()  # type: ignore[attr-defined]
            if whole is not None:
                if len(whole) > limit:
                    raise ApiError(413, _TOO_LARGE.format(limit))
                request._body = whole  # noqa: SLF001 - as below
                return whole
        length = self.headers(request).get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            raise ApiError(413, _TOO_LARGE.format(limit))
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > limit:
                    raise ApiError(413, _TOO_LARGE.format(limit))
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        request._body = body  # noqa: SLF001 - Starlette's own cache of the body
        return body

    def decode(self, body: bytes, decoder: msgspec.json.Decoder[T]) -> T:
        """Decode ``body`` with a module-level msgspec decoder; errors are the provider's
        400s."""
        try:
            return decoder.decode(body)
        except (msgspec.ValidationError, *MALFORMED) as exc:
            raise self.strategy.decode_error(exc) from None

    def reject_unknown(self, body: bytes, fields: frozenset[str]) -> None:
        """Strict mode: the provider's 400 for a top-level field not in ``fields``."""
        for name in _keys_decoder.decode(body):
            if name not in fields:
                raise self.strategy.unknown_field(name)

    def transport(self, name: str) -> Transport:
        """The active transport for ``name`` (a dict lookup; runtime switches apply)."""
        return self.context.transport(name)

    def error_body(self, err: ApiError) -> dict[str, Any]:
        """The provider's envelope of ``err``."""
        return self.strategy.error_body(err)

    def error_response(self, err: ApiError) -> Response:
        """``err`` as a response, in the provider's envelope with its headers."""
        return error_response(self.strategy, err, body=self.error_body(err))
