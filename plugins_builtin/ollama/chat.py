"""``/api/chat`` and ``/api/generate``: NDJSON streams by default, one object with
``stream: false``.

The final object carries Ollama's counts and nanosecond durations, measured on this request:
``load_duration`` until the plan was ready, ``prompt_eval_duration`` until the first token
went out, ``eval_duration`` from there to the last one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, ClassVar

import msgspec
from msgspec import UNSET, UnsetType
from starlette.requests import Request
from starlette.responses import Response

from mockllm import ApiError, Endpoint, Frame
from mockllm.engine.plan import Choice, Plan
from mockllm.engine.request import Message, NeutralRequest, ToolCallIn, ToolDef
from mockllm.faults import Fault
from plugins_builtin.ollama.running import Running
from plugins_builtin.ollama.wire import (
    ChatChunk,
    ChatRequest,
    FunctionOut,
    GenerateChunk,
    GenerateRequest,
    MessageOut,
    Metrics,
    Options,
    ToolCallOut,
    chat_decoder,
    encoder,
    final_line,
    generate_decoder,
    timestamp,
)

_DONE_REASONS = {"stop": "stop", "length": "length", "tool_calls": "stop", "stop_sequence": "stop"}


class OllamaEndpoint(Endpoint):
    """Ollama's endpoints; ``{"error": "message"}`` and its wording are the provider
    strategy's (:mod:`.provider`)."""

    provider: ClassVar[str] = "ollama"

    def decode_body(self, body: bytes, decoder: msgspec.json.Decoder[Any]) -> Any:
        return self.decode(body, decoder)

    _running: Running | None = None

    def require_model(self, name: str) -> None:
        if not name:
            raise ApiError(400, "model is required")
        if self.context.engine.models.get(name) is None:
            raise ApiError(404, f'model "{name}" not found, try pulling it first')

    async def load(self, name: str, keep_alive: str | int | float | None) -> bool:
        """Keep ``name`` (a known model) loaded for ``keep_alive``, as ``/api/ps`` lists it;
        False when ``keep_alive`` 0 unloads it."""
        if self._running is None:
            self._running = Running(self.context)
        model = self.context.engine.models.get(name)
        assert model is not None  # require_model checked it
        return await self._running.touch(model.id, keep_alive)


def _options(opts: Options | None) -> dict[str, Any]:
    if opts is None:
        return {}
    limit = opts.num_predict if opts.num_predict is not None and opts.num_predict > 0 else None
    return {"max_tokens": limit, "stop": [s for s in opts.stop or () if s], "seed": opts.seed}


def _format(fmt: str | dict[str, Any] | None) -> dict[str, Any]:
    if fmt == "json":
        return {"response_format": "json_object"}
    if isinstance(fmt, dict):
        return {"response_format": "json_schema", "json_schema": fmt}
    return {}


def _args(arguments: dict[str, Any] | str) -> str:
    return arguments if isinstance(arguments, str) else encoder.encode(arguments).decode()


class _Timer:
    """The marks Ollama's durations are made of (``time.monotonic`` seconds)."""

    def __init__(self, start: float) -> None:
        self.start = start
        self.planned = self.first = self.end = start

    def metrics(self, plan: Plan) -> Metrics:
        ns = 1_000_000_000
        return Metrics(
            total_duration=max(round((self.end - self.start) * ns), 1),
            load_duration=max(round((self.planned - self.start) * ns), 1),
            prompt_eval_count=plan.prompt_tokens,
            prompt_eval_duration=max(round((self.first - self.planned) * ns), 1),
            eval_count=plan.completion_tokens,
            eval_duration=max(round((self.end - self.first) * ns), 1),
        )


class _Generation(OllamaEndpoint):
    """What chat and generate share: planning, timing, stream or single object."""

    chat: ClassVar[bool] = True

    async def answer(
        self, request: Request, body: bytes, neutral: NeutralRequest, name: str
    ) -> Response:
        timer = _Timer(time.monotonic())
        plan = await self.make_plan(request, neutral, body)
        timer.planned = time.monotonic()
        if neutral.stream:
            frames = self._frames(plan, name, timer)
            return self.transport("ndjson").stream(frames, pacing=plan.pacing)
        await self.wait_for(plan)
        timer.end = time.monotonic()
        pacing = plan.pacing
        timer.first = min(timer.planned + (pacing.ttft if pacing is not None else 0.0), timer.end)
        choice = plan.choices[0]
        line = final_line(self._whole(choice, name), timer.metrics(plan))
        return Response(line, media_type="application/json")

    def _whole(self, c: Choice, name: str) -> ChatChunk | GenerateChunk:
        reason = _DONE_REASONS[c.finish_reason]
        thinking = c.reasoning if c.reasoning_pieces else UNSET
        if self.chat:
            message = MessageOut("assistant", c.text, thinking, _tool_calls(c) or UNSET)
            return ChatChunk(model=name, created_at=timestamp(), message=message,
                             done_reason=reason, done=True)
        return _chunk(False, name, c.text, thinking, reason)

    def _piece(self, name: str, text: str = "", thinking: str | None = None) -> bytes:
        think = UNSET if thinking is None else thinking
        return encoder.encode(_chunk(self.chat, name, text, think))

    def _fault_frame(self, plan: Plan, sent: int) -> Frame:
        """Ollama reports a failure inside a stream as one ``{"error": ...}`` object."""
        assert plan.fault is not None
        return self.error_frame(self.fault_error(plan.fault), sent)

    def _frames(self, plan: Plan, name: str, timer: _Timer) -> Iterator[Frame]:
        """Lazily, so each ``created_at`` and the final durations are taken when sent."""
        c = plan.choices[0]
        cut = _error_after(plan.fault)
        parts: list[tuple[str, str]] = [("thinking", p) for p in c.reasoning_pieces]
        parts += [("text", p) for p in c.pieces]
        calls = _tool_calls(c) if self.chat else []
        if calls:
            # Ollama parses tool calls out of the output and sends them whole, in one object.
            parts.append(("tools", ""))
        for sent, (kind, value) in enumerate(parts):
            if sent == cut:
                yield self._fault_frame(plan, sent)
                return
            if kind == "tools":
                body = encoder.encode(ChatChunk(
                    model=name, created_at=timestamp(),
                    message=MessageOut("assistant", "", UNSET, calls), done=False))
            elif kind == "thinking":
                body = self._piece(name, "", value)
            else:
                body = self._piece(name, value)
            yield Frame(None, body, token=True)
            if sent == 0:
                timer.first = time.monotonic()  # resumed: the first token has gone out
        if cut >= len(parts):
            yield self._fault_frame(plan, len(parts))
            return
        timer.end = time.monotonic()
        if not parts:
            timer.first = timer.end
        reason = _DONE_REASONS[c.finish_reason]
        done = _chunk(self.chat, name, reason=reason)
        yield Frame(None, final_line(done, timer.metrics(plan)), final=True)


def _error_after(fault: Fault | None) -> int:
    """How many token objects go out before a mid-stream ``{"error"}`` (-1: none)."""
    if fault is None or fault.kind != "error":
        return -1
    return max(fault.after, 0)


def _tool_calls(c: Choice) -> list[ToolCallOut]:
    out = []
    for i, tc in enumerate(c.tool_calls):
        try:
            args: Any = msgspec.json.decode(tc.arguments)
        except msgspec.DecodeError:
            args = {"input": tc.arguments}
        out.append(ToolCallOut(tc.id, FunctionOut(i, tc.name, args)))
    return out


class Chat(_Generation):
    """``POST /api/chat``."""

    async def handle(self, request: Request) -> Response:
        body = await self.read_body(request)
        req: ChatRequest = self.decode_body(body, chat_decoder)
        self.require_model(req.model)
        loaded = await self.load(req.model, req.keep_alive)
        messages = [
            Message(m.role, m.content,
                    tool_calls=[ToolCallIn(tc.id or f"call_{i}", tc.function.name,
                                           _args(tc.function.arguments))
                                for i, tc in enumerate(m.tool_calls or ())],
                    tool_call_id=m.tool_name if m.role == "tool" else None)
            for m in req.messages
        ]
        if not messages:
            return _loaded(req.model, chat=True, unloaded=not loaded)
        neutral = NeutralRequest(
            endpoint="ollama.chat", provider="ollama", model=req.model, messages=messages,
            tools=[ToolDef(t.function.name, t.function.description, t.function.parameters)
                   for t in req.tools or ()],
            stream=req.stream, thinking=bool(req.think),
            headers=self.headers(request),
            **_options(req.options), **_format(req.format),
        )
        _think(neutral, req.think)
        if (neutral.tools and self.context.config.defaults.tools.auto is None
                and messages[-1].role != "tool"):
            # Ollama has no tool_choice: a model given tools calls one (its template parses
            # the call out of the output), and answers the tool's result in text.
            neutral.tool_choice = "required"
        return await self.answer(request, body, neutral, req.model)


class Generate(_Generation):
    """``POST /api/generate``."""

    chat: ClassVar[bool] = False

    async def handle(self, request: Request) -> Response:
        body = await self.read_body(request)
        req: GenerateRequest = self.decode_body(body, generate_decoder)
        self.require_model(req.model)
        loaded = await self.load(req.model, req.keep_alive)
        if not req.prompt:
            return _loaded(req.model, chat=False, unloaded=not loaded)
        messages = [Message("system", req.system)] if req.system else []
        messages.append(Message("user", req.prompt))
        neutral = NeutralRequest(
            endpoint="ollama.generate", provider="ollama", model=req.model, messages=messages,
            stream=req.stream, thinking=bool(req.think),
            headers=self.headers(request),
            **_options(req.options), **_format(req.format),
        )
        _think(neutral, req.think)
        return await self.answer(request, body, neutral, req.model)


def _think(neutral: NeutralRequest, think: bool | str | None) -> None:
    """``think: true`` or a level (``low``/``medium``/``high``, gpt-oss) fills ``thinking``."""
    if isinstance(think, str):
        neutral.thinking = think not in ("", "false", "none")
        neutral.reasoning_effort = think if neutral.thinking else None


def _loaded(name: str, chat: bool, unloaded: bool) -> Response:
    """An empty prompt only loads the model (``done_reason: "load"``), or unloads it with
    ``keep_alive: 0`` (``"unload"``)."""
    return Response(encoder.encode(_chunk(chat, name, reason="unload" if unloaded else "load")),
                    media_type="application/json")


def _chunk(
    chat: bool, name: str, text: str = "", thinking: str | UnsetType = UNSET,
    reason: str | UnsetType = UNSET,
) -> ChatChunk | GenerateChunk:
    """One streamed object (``done`` once a reason is given) of chat or generate."""
    done = reason is not UNSET
    if chat:
        return ChatChunk(model=name, created_at=timestamp(),
                         message=MessageOut("assistant", text, thinking),
                         done_reason=reason, done=done)
    return GenerateChunk(model=name, created_at=timestamp(), response=text,
                         thinking=thinking, done=done, done_reason=reason)
