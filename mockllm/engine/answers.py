"""Answers: a ``respond`` block compiled once, rendered into a :class:`Choice` per request.

Rendering honours the request's ``max_tokens`` (reasoning, then text, then tool-call
arguments share it; past it the answer is cut with ``finish_reason: length``), ``stop``,
``ignore_eos`` (exactly ``max_tokens``), ``min_tokens`` (generated text), ``n`` (one choice
per index, each with its own seed) and ``seed``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from mockllm.engine import jsonschema
from mockllm.engine.behaviour import Behaviour, natural_length, reasoning_length
from mockllm.engine.behaviour import arguments as behaviour_arguments
from mockllm.engine.extend import NONE, ExtensionError, Extensions, Responder
from mockllm.engine.plan import Choice, ToolCall, joined_from
from mockllm.engine.request import NeutralRequest
from mockllm.engine.schema import ErrorSpec, Generate, Respond, ToolCallSpec
from mockllm.engine.template import Template
from mockllm.engine.tokens import Tokenizer, cached_pieces, generate, generation
from mockllm.errors import ApiError
from mockllm.faults import Fault
from mockllm.ids import random_hex
from mockllm.provider import Provider, retry_headers

_json = msgspec.json.Encoder()

#: What ``response_format: json_object`` gets when the rule gives no literal text.
_JSON_OBJECT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"answer": {"type": "string"}, "confidence": {"type": "number",
                                                                "minimum": 0, "maximum": 1}},
    "required": ["answer", "confidence"],
}

_DEFAULT_MESSAGES = {
    400: "Invalid request.",
    401: "Incorrect API key provided.",
    403: "You are not allowed to perform this action.",
    404: "The requested resource was not found.",
    408: "The request timed out.",
    409: "The request conflicts with another request.",
    413: "Request body too large.",
    422: "The request could not be processed.",
    429: "Rate limit reached for requests. Please try again later.",
    500: "The server had an error while processing your request. Sorry about that!",
    502: "Bad gateway.",
    503: "The engine is currently overloaded, please try again later.",
    504: "The server timed out.",
    529: "Overloaded",
}

Values = Callable[[int], Mapping[str, str]]


def make_error(spec: ErrorSpec, provider: Provider) -> ApiError:
    """A fresh ApiError for ``spec`` (exceptions are not reused across requests); a 429
    carries ``provider``'s rate-limit headers (the boundary adds the same to any 429)."""
    headers = dict(spec.headers)
    if spec.status == 429:
        headers.update(provider.rate_limit_headers(spec.retry_after if spec.retry_after
                                                   is not None else 1.0))
    elif spec.retry_after is not None:
        headers.update(retry_headers(spec.retry_after))
    return ApiError(
        spec.status,
        spec.message or provider.status_message(spec.status)
        or _DEFAULT_MESSAGES.get(spec.status, f"mock error {spec.status}"),
        code=spec.code or ("rate_limit_exceeded" if spec.status == 429 else None),
        type_=spec.type,
        headers=headers,
    )


class CompiledToolCall:
    __slots__ = ("arguments", "literal", "name")

    def __init__(self, spec: ToolCallSpec) -> None:
        self.name = Template(spec.name)
        self.literal: str | None = None
        self.arguments: Any = None
        if isinstance(spec.arguments, str):
            self.literal = spec.arguments
        elif spec.arguments is not None:
            self.arguments = _compile_args(spec.arguments)
            if not _has_template(self.arguments):
                self.literal = _json.encode(_render_args(self.arguments, {})).decode()

    def render(self, req: NeutralRequest, values: Mapping[str, str], seed: int) -> tuple[str, str]:
        name = self.name.render(values)
        if self.literal is not None:
            return name, self.literal
        if self.arguments is not None:
            return name, _json.encode(_render_args(self.arguments, values)).decode()
        tool = next((t for t in req.tools if t.name == name), None)
        if tool is None:
            return name, "{}"
        return name, behaviour_arguments(tool, seed)


class Answer:
    """One compiled ``respond`` (a sequence holds one Answer per item).

    A plugin responder (``respond: {acme.lorem: ...}``) is built here, once; its answer is
    rendered by ``engine/replies.py``. Raises :class:`ExtensionError` (with the path inside
    the ``respond``) when the responder is unknown or its factory refuses the value."""

    def __init__(self, spec: Respond, ext: Extensions = NONE) -> None:
        self.spec = spec
        self.responder: tuple[str, Responder] | None = None
        for name, value in spec.extensions.items():
            self.responder = (name, ext.responder(name, value))
        self.empty = spec.empty
        self.text = spec.text
        self.template = Template(spec.template) if spec.template is not None else None
        self.generate = spec.generate
        self.tool_calls = [CompiledToolCall(t) for t in spec.tool_calls or []]
        self.reasoning = spec.reasoning
        self.embedding = spec.embedding
        self.embeddings = spec.embeddings
        self.choices = tuple(_item(c, i, ext, "choices")
                             for i, c in enumerate(spec.choices or ()))
        self.error = spec.error
        f = spec.fault
        action = None
        if f is not None and "." in f.kind:  # a plugin's kind: built once, here
            try:
                action = ext.fault(f.kind, f.params)
            except ExtensionError as exc:
                raise ExtensionError(f"fault.{exc.path}", exc.message) from None
        self.fault = (Fault(f.kind, f.after, f.seconds, f.status, f.message, action)
                      if f else None)
        self.sequence = tuple(_item(s, i, ext) for i, s in enumerate(spec.sequence or ()))
        self.cycle = spec.cycle
        self.needs_values: bool = self.template is not None or any(
            not (t.name.constant and t.literal is not None) for t in self.tool_calls
        ) or any(c.needs_values for c in self.choices)
        #: Generated text and nothing else (the embedded defaults): ``choice`` takes a
        #: short path that skips the text/template/tool-call/reasoning dispatch.
        self.plain = (self.text is None and self.template is None and not self.tool_calls
                      and self.reasoning is None and not self.sequence
                      and self.responder is None and not self.choices)
        #: Text the engine makes up (generated or structured), which obeys ``tool_choice``.
        self.generative = (self.text is None and self.template is None
                           and not self.tool_calls and not self.sequence
                           and self.responder is None and not self.choices)

    def pick(self, uses: int) -> Answer:
        """The answer for the ``uses``-th match (0-based) of a sequence, or itself."""
        seq = self.sequence
        if not seq:
            return self
        return seq[uses % len(seq)] if self.cycle else seq[min(uses, len(seq) - 1)]

    def for_index(self, index: int) -> Answer:
        """The answer of choice ``index`` (``choices[index % len]``), or itself."""
        choices = self.choices
        return choices[index % len(choices)] if choices else self

    def choice(
        self, req: NeutralRequest, tok: Tokenizer, index: int, seed: int, budget: int,
        values: Values, behaviour: Behaviour,
    ) -> Choice:
        if self.plain and not (req.stop or req.response_format or req.tools or req.thinking):
            return self._generated(req, tok, index, seed, budget)
        choice = Choice(index=index)
        reasoning = self._reasoning(req, tok, seed)
        if len(reasoning) > budget:
            choice.reasoning_pieces = reasoning[:budget]
            choice.finish_reason = "length"
            return choice
        choice.reasoning_pieces = reasoning
        remaining = budget - len(reasoning)
        # A generated answer obeys tool_choice; a rule's own text or tool calls win.
        chosen = behaviour.tools(req) if self.generative and req.tools else []
        calling = bool(self.tool_calls or chosen)
        text = [] if chosen else self._text(req, tok, seed, remaining, values, index)
        remaining = fit_text(choice, req, text, remaining, calling)
        if not calling or choice.finish_reason != "stop":
            return choice
        if chosen:
            calls = [(t.name, behaviour_arguments(t, seed + i)) for i, t in enumerate(chosen)]
        else:
            vals = values(index) if self.needs_values else {}
            calls = [c.render(req, vals, seed + i) for i, c in enumerate(self.tool_calls)]
        return append_tool_calls(choice, req, tok, calls, remaining)

    def _generated(self, req: NeutralRequest, tok: Tokenizer, index: int, seed: int,
                   budget: int) -> Choice:
        """The same Choice as the general path for a plain generated answer.

        Generated text for a seed is prefix-stable (``generate(n)[:k] == generate(k)``), so
        asking for exactly the pieces kept is the same as generating one more and cutting.
        """
        gen = self.generate or _GENERATE
        seed = gen.seed + index if gen.seed is not None else seed
        fill = req.max_tokens is not None and (req.ignore_eos or gen.fill)
        n = budget + 1 if fill else max(natural_length(gen.tokens, seed), req.min_tokens)
        if n > budget or (n == budget and req.ignore_eos):
            n, finish = budget, "length"  # ran into the limit
        else:
            finish = "stop"
        source = generation(tok, n, seed)
        choice = Choice(index, list(source.pieces), [], [], finish)  # type: ignore[arg-type]
        joined_from(choice, source)  # a non-streamed answer's text, joined once per seed
        return choice

    def _reasoning(self, req: NeutralRequest, tok: Tokenizer, seed: int) -> list[str]:
        if not req.thinking:
            return []
        r = self.reasoning
        if isinstance(r, str):
            out = cached_pieces(tok, r)
        else:
            # No reasoning in the answer: the model thinks as long as the request's effort
            # and budget make natural.
            rseed = r.seed if r is not None and r.seed is not None else seed ^ 0x5EED
            n = (reasoning_length(req, rseed) if r is None or r.tokens is None
                 else natural_length(r.tokens, rseed))
            out = generate(tok, n, rseed)
        if req.thinking_budget is not None and len(out) > req.thinking_budget:
            del out[req.thinking_budget:]
        return out

    def _text(
        self, req: NeutralRequest, tok: Tokenizer, seed: int, remaining: int, values: Values,
        index: int,
    ) -> list[str]:
        exact = req.ignore_eos and req.max_tokens is not None
        if self.text is not None:
            out = cached_pieces(tok, self.text)
        elif self.template is not None:
            out = cached_pieces(tok, self.template.render(values(index)))
        elif self.tool_calls:
            return []
        elif req.response_format in ("json_schema", "json_object"):
            out = cached_pieces(tok, _structured(req, seed))
        else:
            gen = self.generate or _GENERATE
            seed = gen.seed + index if gen.seed is not None else seed
            fill = exact or (gen.fill and req.max_tokens is not None)
            # Filling runs into the limit, which is a "length" finish: ask for one more.
            n = remaining + 1 if fill else max(natural_length(gen.tokens, seed),
                                               req.min_tokens)
            # One past the budget is enough for the caller to see the cut ("length").
            return generate(tok, min(n, remaining + 1), seed)
        if exact and len(out) < remaining:
            # ignore_eos: the model would have gone on past its answer; so do we.
            extra = generate(tok, remaining - len(out), seed)
            if extra and out:
                extra[0] = " " + extra[0]
            out.extend(extra)
        return out


_GENERATE = Generate()


def _item(spec: Respond, i: int, ext: Extensions, where: str = "sequence") -> Answer:
    try:
        return Answer(spec, ext)
    except ExtensionError as exc:
        raise ExtensionError(f"{where}[{i}].{exc.path}", exc.message) from None


def _structured(req: NeutralRequest, seed: int) -> str:
    schema: Any = _JSON_OBJECT_SCHEMA
    if req.response_format == "json_schema" and req.json_schema:
        js = req.json_schema
        # Accept OpenAI's wrapper ({name, schema, strict}) or the bare schema.
        inner = js.get("schema")
        schema = inner if isinstance(inner, dict) and "type" not in js else js
    try:
        return _json.encode(jsonschema.instance(schema, seed)).decode()
    except jsonschema.SchemaError as exc:
        raise ApiError(400, f"Invalid schema for response_format: {exc}",
                       param="response_format") from None


def _apply_stop(choice: Choice, pieces: list[str], stops: list[str]) -> list[str]:
    """Cut ``pieces`` before the first stop string (``finish_reason: stop_sequence``)."""
    if not stops or not pieces:
        return pieces
    text = "".join(pieces)
    cut = min(((text.find(s), s) for s in stops if s and s in text), default=None)
    if cut is None:
        return pieces
    at, stop = cut
    kept: list[str] = []
    total = 0
    for piece in pieces:
        if total + len(piece) > at:
            if at > total:
                kept.append(piece[: at - total])
            break
        kept.append(piece)
        total += len(piece)
    choice.finish_reason = "stop_sequence"
    choice.stop_sequence = stop
    return kept


def _compile_args(value: Any) -> Any:
    if isinstance(value, str):
        t = Template(value)
        return "".join(p for p in t.parts if isinstance(p, str)) if t.constant else t
    if isinstance(value, dict):
        return {k: _compile_args(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_compile_args(v) for v in value]
    return value


def _has_template(value: Any) -> bool:
    if isinstance(value, Template):
        return True
    if isinstance(value, dict):
        return any(_has_template(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_template(v) for v in value)
    return False


def _render_args(value: Any, values: Mapping[str, str]) -> Any:
    if isinstance(value, Template):
        return value.render(values)
    if isinstance(value, dict):
        return {k: _render_args(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_render_args(v, values) for v in value]
    return value


def append_tool_calls(choice: Choice, req: NeutralRequest, tok: Tokenizer,
                      calls: list[tuple[str, str]], remaining: int) -> Choice:
    """Add ``(name, arguments)`` calls to ``choice`` within ``remaining`` tokens.

    Shared by rule answers and plugin responders so both cut arguments at the limit (a
    ``length`` finish) and honour ``parallel_tool_calls`` the same way.
    """
    if not req.parallel_tool_calls:
        del calls[1:]
    for name, args in calls:
        pieces = cached_pieces(tok, args)
        cut = len(pieces) > remaining
        if cut:
            del pieces[remaining:]
        choice.tool_calls.append(ToolCall("call_" + random_hex(12), name,
                                          "".join(pieces), pieces))
        remaining -= len(pieces)
        if cut:
            choice.finish_reason = "length"
            return choice
    choice.finish_reason = "tool_calls"
    return choice


def fit_text(choice: Choice, req: NeutralRequest, text: list[str], remaining: int,
             calling: bool) -> int:
    """Cut ``text`` at the stop strings and the limit, set it on ``choice``; tokens left.

    Shared by rule answers and plugin responders so both finish the same way.
    """
    text = _apply_stop(choice, text, req.stop)
    if len(text) > remaining or (req.ignore_eos and not calling and len(text) == remaining
                                 and choice.finish_reason == "stop"):
        # With ignore_eos the model runs into max_tokens, which is a "length" finish.
        del text[remaining:]
        choice.finish_reason = "length"
        choice.stop_sequence = None
    choice.pieces = text
    return remaining - len(text)
