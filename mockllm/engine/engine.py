"""The engine: a neutral request in, a plan out.

Everything that can be prepared is prepared in ``__init__`` (rules compiled, models indexed),
so :meth:`Engine.plan` does only cheap per-request work.
"""

from __future__ import annotations

import fnmatch
import re
import time
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec

from mockllm.engine.models import ModelRegistry
from mockllm.engine.plan import Choice, Plan, ToolCall
from mockllm.engine.request import NeutralRequest
from mockllm.engine.schema import Latency, Respond, Rule, TextMatch
from mockllm.engine.tokens import Tokenizers, generate, pieces
from mockllm.errors import ApiError
from mockllm.engine.timing import build_pacing
from mockllm.streaming import Fault

if TYPE_CHECKING:
    from mockllm.config import Config

_json = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class _TextTest:
    equals: str | None
    contains: str | None
    regex: re.Pattern[str] | None
    glob: str | None
    fold: bool

    @classmethod
    def compile(cls, tm: TextMatch) -> _TextTest:
        fold = not tm.case
        flags = re.IGNORECASE if fold else 0
        return cls(
            tm.equals.lower() if fold and tm.equals else tm.equals,
            tm.contains.lower() if fold and tm.contains else tm.contains,
            re.compile(tm.regex, flags) if tm.regex is not None else None,
            tm.glob.lower() if fold and tm.glob else tm.glob,
            fold,
        )

    def __call__(self, text: str) -> bool:
        folded = text.lower() if self.fold else text
        if self.equals is not None and folded != self.equals:
            return False
        if self.contains is not None and self.contains not in folded:
            return False
        if self.glob is not None and not fnmatch.fnmatchcase(folded, self.glob):
            return False
        return not (self.regex is not None and self.regex.search(text) is None)


@dataclass(frozen=True, slots=True)
class _CompiledRule:
    rule: Rule
    name: str

    def matches(self, req: NeutralRequest, tests: dict[str, _TextTest]) -> bool:
        m = self.rule.match
        if m.model is not None and not fnmatch.fnmatchcase(req.model, m.model):
            return False
        if m.endpoint is not None and not fnmatch.fnmatchcase(req.endpoint, m.endpoint):
            return False
        if m.provider is not None and m.provider != req.provider:
            return False
        for k, v in m.header.items():
            if req.headers.get(k.lower()) != v:
                return False
        if "last_user" in tests and not tests["last_user"](req.last_user):
            return False
        if "system" in tests and not tests["system"](req.system):
            return False
        if "any_message" in tests:
            t = tests["any_message"]
            if not any(t(msg.text) for msg in req.messages):
                return False
        return True


class Engine:
    def __init__(self, config: Config, tokenizers: Tokenizers) -> None:
        self.config = config
        self.tokenizers = tokenizers
        self.models = ModelRegistry(config.models)
        self._rules: list[tuple[_CompiledRule, dict[str, _TextTest]]] = []
        for i, rule in enumerate(config.rules):
            tests = {
                f: _TextTest.compile(tm)
                for f in ("last_user", "system", "any_message")
                if (tm := getattr(rule.match, f)) is not None
            }
            self._rules.append((_CompiledRule(rule, rule.name or f"rules[{i}]"), tests))

    def match(self, req: NeutralRequest) -> tuple[str | None, Respond, Latency]:
        for compiled, tests in self._rules:
            if compiled.matches(req, tests):
                return compiled.name, compiled.rule.respond, (
                    compiled.rule.latency or self.config.defaults.latency
                )
        return None, self.config.defaults.respond, self.config.defaults.latency

    def plan(self, req: NeutralRequest) -> Plan:
        start = time.monotonic()
        model = self.models.require(req.model)
        tok = self.tokenizers.get(model.tokenizer)
        prompt_tokens = len(tok.encode(req.prompt_text()))
        if prompt_tokens > model.context_window:
            raise ApiError(
                400,
                f"This model's maximum context length is {model.context_window} tokens. "
                f"However, your messages resulted in {prompt_tokens} tokens. Please reduce "
                "the length of the messages.",
                param="messages",
                code="context_length_exceeded",
            )
        rule, respond, latency = self.match(req)
        plan = Plan(model=model, rule=rule, prompt_tokens=prompt_tokens)
        if respond.error is not None:
            e = respond.error
            headers = {"retry-after": _num(e.retry_after)} if e.retry_after is not None else {}
            plan.error = ApiError(
                e.status, e.message or f"mock error {e.status}", code=e.code, type_=e.type,
                headers=headers,
            )
            return plan
        if respond.fault is not None:
            f = respond.fault
            plan.fault = Fault(f.kind, f.after, f.seconds)
        seed = req.seed if req.seed is not None else zlib.crc32(req.prompt_text().encode())
        for index in range(max(req.n, 1)):
            plan.choices.append(self._choice(req, respond, tok, seed + index, index))
        plan.pacing = build_pacing(start, req, model, latency, prompt_tokens, plan.fault)
        return plan

    def _choice(
        self, req: NeutralRequest, respond: Respond, tok: object, seed: int, index: int
    ) -> Choice:
        choice = Choice(index=index)
        if respond.tool_calls:
            for i, spec in enumerate(respond.tool_calls):
                args = spec.arguments if isinstance(spec.arguments, str) else (
                    _json.encode(spec.arguments or {}).decode()
                )
                choice.tool_calls.append(
                    ToolCall(f"call_{seed & 0xFFFFFF:06x}{i}", spec.name, args, pieces(tok, args))  # type: ignore[arg-type]
                )
            choice.finish_reason = "tool_calls"
            return choice
        if respond.reasoning and req.thinking:
            choice.reasoning_pieces = pieces(tok, respond.reasoning)  # type: ignore[arg-type]
        if respond.text is not None:
            choice.pieces = pieces(tok, respond.text)  # type: ignore[arg-type]
        else:
            n = respond.generate.tokens if respond.generate else 32
            if respond.generate and respond.generate.seed is not None:
                seed = respond.generate.seed + index
            if req.ignore_eos and req.max_tokens is not None:
                n = req.max_tokens
            n = max(n, req.min_tokens)
            choice.pieces = generate(tok, n, seed)  # type: ignore[arg-type]
        _apply_stop(choice, req.stop)
        if req.max_tokens is not None and len(choice.pieces) > req.max_tokens:
            del choice.pieces[req.max_tokens:]
            choice.finish_reason = "length"
            choice.stop_sequence = None
        return choice


def _apply_stop(choice: Choice, stops: list[str]) -> None:
    if not stops:
        return
    text = choice.text
    cut = min(((text.find(s), s) for s in stops if s and s in text), default=None)
    if cut is None:
        return
    at, stop = cut
    kept, total = [], 0
    for piece in choice.pieces:
        if total + len(piece) > at:
            if at > total:
                kept.append(piece[: at - total])
            break
        kept.append(piece)
        total += len(piece)
    choice.pieces = kept
    choice.finish_reason = "stop_sequence"
    choice.stop_sequence = stop


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)
