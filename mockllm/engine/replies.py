"""A plugin responder's answer (``str`` or :class:`mockllm.Reply`) as a :class:`Choice`.

It is limited like a configured answer: reasoning (only when the request asks for it), then
text, then tool-call arguments share ``max_tokens`` (past it the answer is cut with
``finish_reason: length``); ``stop`` cuts the text; ``ignore_eos`` runs on to exactly
``max_tokens``; ``parallel_tool_calls: false`` keeps the first call. From here on the plan
is like any other: usage, pacing, faults and every API's rendering.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import msgspec

from mockllm.engine.answers import Answer, append_tool_calls, fit_text
from mockllm.engine.behaviour import arguments as behaviour_arguments
from mockllm.engine.extend import reply_of
from mockllm.engine.plan import Choice
from mockllm.engine.request import NeutralRequest
from mockllm.engine.tokens import Tokenizer, cached_pieces, generate
from mockllm.engine.view import RequestView

_json = msgspec.json.Encoder()


def render_reply(answer: Answer, req: NeutralRequest, tok: Tokenizer, index: int, seed: int,
                 budget: int, view: RequestView) -> Choice:
    assert answer.responder is not None
    name, responder = answer.responder
    reply = reply_of(name, responder(view, SeededRandom(seed)))
    choice = Choice(index=index)
    reasoning: list[str] = []
    if reply.reasoning and req.thinking:
        reasoning = cached_pieces(tok, reply.reasoning)
        if req.thinking_budget is not None and len(reasoning) > req.thinking_budget:
            del reasoning[req.thinking_budget:]
    if len(reasoning) > budget:
        choice.reasoning_pieces = reasoning[:budget]
        choice.finish_reason = "length"
        return choice
    choice.reasoning_pieces = reasoning
    remaining = budget - len(reasoning)
    calling = bool(reply.tool_calls)
    text = cached_pieces(tok, reply.text) if reply.text else []
    if req.ignore_eos and req.max_tokens is not None and not calling and len(text) < remaining:
        # ignore_eos: the model would have gone on past its answer; so do we.
        extra = generate(tok, remaining - len(text), seed)
        if extra and text:
            extra[0] = " " + extra[0]
        text.extend(extra)
    remaining = fit_text(choice, req, text, remaining, calling)
    if not calling or choice.finish_reason != "stop":
        return choice
    calls = [_call(name, req, c, seed + i) for i, c in enumerate(reply.tool_calls)]
    return append_tool_calls(choice, req, tok, calls, remaining)


class SeededRandom(random.Random):
    """``random.Random(seed)``, seeded only when first drawn from.

    Seeding a Mersenne Twister costs about as much as the rest of a responder's answer, and
    most responders never draw; the draws are the same as ``random.Random(seed)``'s."""

    def __init__(self, seed: int) -> None:  # no super().__init__: it would seed at once
        self._pending: int | None = seed
        self.gauss_next = None

    def _ready(self) -> None:
        if self._pending is not None:
            seed, self._pending = self._pending, None
            super().seed(seed)

    def random(self) -> float:
        self._ready()
        return super().random()

    def getrandbits(self, k: int) -> int:
        self._ready()
        return super().getrandbits(k)

    def seed(self, a: Any = None, version: int = 2) -> None:
        self._pending = None
        super().seed(a, version)

    def getstate(self) -> tuple[Any, ...]:
        self._ready()
        return super().getstate()

    def setstate(self, state: tuple[Any, ...]) -> None:
        self._pending = None
        super().setstate(state)


def _call(responder: str, req: NeutralRequest, call: Any, seed: int) -> tuple[str, str]:
    """``{"name": ..., "arguments": {...} | "json text" | omitted}`` as (name, JSON)."""
    name = call.get("name") if isinstance(call, Mapping) else None
    if not isinstance(name, str) or not name:
        raise TypeError(f"responder {responder!r}: a tool call must be a mapping with a "
                        f"'name' string, got {call!r}")
    args = call.get("arguments")
    if args is None:
        tool = next((t for t in req.tools if t.name == name), None)
        return name, behaviour_arguments(tool, seed) if tool is not None else "{}"
    if isinstance(args, str):
        return name, args
    return name, _json.encode(args).decode()
