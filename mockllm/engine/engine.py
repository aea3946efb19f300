"""The engine: a neutral request in, a plan out.

Everything that can be prepared is prepared in ``__init__`` (rules compiled, templates
parsed, models indexed), so :meth:`Engine.plan` does only cheap per-request work: a linear
scan of compiled checks, then rendering the chosen answer.

How often each rule answered (sequences, ``times`` and ``{counter}``) is kept in one
:class:`~mockllm.engine.counters.RuleCounter` per rule, keyed by the rule's content, from the
engine's :class:`~mockllm.engine.counters.Counters` (the server's state: this process, or
shared by every process). A hot reload builds the new engine on the same counters, so a rule
that did not change keeps its count; a changed rule starts over. Runtime rules
(``POST /_mockllm/rules``) are handed on too.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import zlib
from collections.abc import Callable
from functools import partial

import msgspec

from mockllm.config_error import ConfigError
from mockllm.config_schema import Config, locate
from mockllm.engine import control, limits, vectors
from mockllm.engine.answers import Answer, make_error
from mockllm.engine.behaviour import Behaviour
from mockllm.engine.counters import Counters, LocalCounters, RuleCounter
from mockllm.engine.extend import NONE, ExtensionError, Extensions
from mockllm.engine.matching import Check, RequestView, compile_match
from mockllm.engine.models import ModelRegistry
from mockllm.engine.plan import Plan
from mockllm.engine.prepare import derived, is_embedding, measure, prompt_tokens_of
from mockllm.engine.quotas import Quotas
from mockllm.engine.replies import render_reply
from mockllm.engine.request import NeutralRequest
from mockllm.engine.schema import ErrorSpec, ModelConfig, Rule
from mockllm.engine.timing import Timing, TimingRuntime
from mockllm.engine.tokens import Tokenizer, Tokenizers
from mockllm.engine.values import TemplateValues, no_values
from mockllm.errors import ApiError
from mockllm.provider import provider_for

log = logging.getLogger("mockllm.engine")

_key_encoder = msgspec.json.Encoder(order="sorted")


class CompiledRule:
    __slots__ = ("answer", "checks", "counter", "encoded", "exact", "key", "latency", "name",
                 "rule", "times")

    def __init__(self, rule: Rule, name: str, key: bytes, counter: RuleCounter,
                 ext: Extensions = NONE) -> None:
        self.rule = rule
        self.name = name
        self.key = key
        self.encoded = b""  # the rule's JSON for its key, made ahead by check_rules
        try:
            self.checks: tuple[Check, ...] = compile_match(rule.match, ext)
        except ExtensionError as exc:
            raise ExtensionError(f"match.{exc.path}", exc.message) from None
        try:
            self.answer = Answer(rule.respond, ext)
        except ExtensionError as exc:
            raise ExtensionError(f"respond.{exc.path}", exc.message) from None
        self.latency = rule.latency
        self.times = rule.times
        self.counter = counter
        #: The answer depends on how often the rule answered (a shared state then counts
        #: before answering; otherwise it may count in a batch).
        self.exact = self.times is not None or _counted(self.answer)

    def matches(self, view: RequestView) -> bool:
        if self.counter.exhausted(self.times):
            return False
        for check in self.checks:
            if not check(view):
                return False
        return True


def _counted(answer: Answer) -> bool:
    return bool(answer.sequence) or answer.needs_values


class Engine:
    def __init__(
        self,
        config: Config,
        tokenizers: Tokenizers,
        timing: TimingRuntime,
        previous: Engine | None = None,
        counters: Counters | None = None,
        extensions: Extensions | None = None,
    ) -> None:
        """Compile ``config``; a plugin matcher or responder it cannot compile is a
        :class:`ConfigError` with FILE:LINE (``timing``: the server's timing state, kept
        across reloads; ``extensions``: the plugins' contributions, by default those of
        ``previous``)."""
        if extensions is None:
            extensions = previous.ext if previous is not None else NONE
        self.ext: Extensions = extensions
        #: Runtime rules compiled when they were checked (id -> compiled), reused on apply.
        self._checked: dict[int, CompiledRule] = {}
        self.config, self.tokenizers = config, tokenizers
        #: The compiled latency blocks (timing.py); None only while a bad config is refused.
        self.timing: Timing | None = None
        #: Every problem of this config, latency blocks and plugin values alike, raised
        #: together at the end (so ``mockllm validate`` lists them all at once).
        problems: list[str] = []
        try:
            self.timing = timing.compile(config)
        except ConfigError as exc:
            problems.extend(exc.problems)
        self.models = ModelRegistry(config.models)
        self.ctl, self.limits = config.server.control_headers, config.server.limits
        #: Requests and tokens per minute (engine/quotas.py); None without ``quotas:``.
        self.quotas = Quotas(config.quotas) if config.quotas else None
        #: Where the counters live; a reload keeps them (so do runtime rules).
        self.counters: Counters = (counters if counters is not None else previous.counters
                                   if previous is not None else LocalCounters())
        self._keys: set[bytes] = set()
        where = partial(locate, config)
        self.rules = self._compile(config.rules, "rules", where, problems)
        self.runtime_rules: list[Rule] = list(previous.runtime_rules) if previous else []
        if previous is not None:
            self._checked = {id(r.rule): r for r in previous.runtime}
        self.runtime: tuple[CompiledRule, ...] = self._compile(
            self.runtime_rules, "runtime", None, problems)
        try:
            self._defaults = Answer(config.defaults.respond, self.ext)
        except ExtensionError as exc:
            path = f"defaults.respond.{exc.path}"
            problems.append(f"{where(path)}: {path}: {exc.message}")
        if problems:
            ordered: list[str] = sorted(problems, key=_line_of)
            raise ConfigError(ordered)
        self.behaviour = Behaviour(config.defaults.tools)
        self._default_latency = config.defaults.latency
        key = b"defaults:" + _key_encoder.encode(config.defaults.respond)
        self._keys.add(key)
        self._defaults_counter = self.counters.counter(key)
        self._defaults_exact = _counted(self._defaults)
        self.counters.retain(self._keys)
        self._index()

    # -- rules --------------------------------------------------------------------------

    def _compile(self, rules: list[Rule], prefix: str, where: Callable[[str], str] | None,
                 problems: list[str]) -> tuple[CompiledRule, ...]:
        out = []
        for i, rule in enumerate(rules):
            checked = self._checked.get(id(rule))
            checked = checked if checked is not None and checked.rule is rule else None
            encoded = checked.encoded if checked is not None else b""
            key = prefix.encode() + b":" + (encoded or _key_encoder.encode(rule))
            while key in self._keys:  # identical rules keep separate counts
                key += b"+"
            self._keys.add(key)
            name, counter = rule.name or f"{prefix}[{i}]", self.counters.counter(key)
            if checked is not None:
                # A runtime rule compiled by check_rules: its plugin factories ran once.
                checked.name, checked.key, checked.counter = name, key, counter
                out.append(checked)
                continue
            try:
                out.append(CompiledRule(rule, name, key, counter, self.ext))
            except ExtensionError as exc:
                path = f"{prefix}[{i}].{exc.path}"
                problems.append(f"{where(path) if where else prefix}: {path}: {exc.message}")
        return tuple(out)

    def check_rules(self, rules: list[Rule], where: Callable[[str], str]) -> None:
        """Compile runtime rules before they are added (``POST /_mockllm/rules``): a plugin
        matcher or responder that cannot be compiled is a :class:`ConfigError` with
        ``where(path)``. The compiled rules are kept, so factories run once per rule."""
        problems: list[str] = []
        for i, rule in enumerate(rules):
            try:
                compiled = CompiledRule(rule, "", b"", self._defaults_counter, self.ext)
            except ExtensionError as exc:
                path = f"rules[{i}].{exc.path}"
                problems.append(f"{where(path)}: {path}: {exc.message}")
                continue
            compiled.encoded = _key_encoder.encode(rule)  # 15,000: ~0.1 s not on the loop
            self._checked[id(rule)] = compiled
        if problems:
            raise ConfigError(problems)

    def _index(self) -> None:
        self._all = self.runtime + self.rules
        self._by_name: dict[str, CompiledRule] = {}
        for r in reversed(self._all):  # a runtime rule shadows a file rule of the same name
            self._by_name[r.name] = r

    def add_rules(self, rules: list[Rule]) -> None:
        """Put runtime rules ahead of every other rule (the newest first)."""
        self._set_runtime([*rules, *self.runtime_rules])

    def clear_rules(self) -> None:
        self._set_runtime([])

    def _set_runtime(self, rules: list[Rule]) -> None:
        self.runtime_rules = rules
        self._keys = {k for k in self._keys if not k.startswith(b"runtime:")}
        problems: list[str] = []
        self.runtime = self._compile(rules, "runtime", None, problems)
        self._checked = {id(r.rule): r for r in self.runtime}
        if problems:  # not checked first (a change from another process): skip, say why
            log.error("runtime rules that cannot be compiled were left out:\n%s",
                      "\n".join(problems))
        self.counters.retain(self._keys)
        self._index()

    def select(self, view: RequestView, forced: str | None) -> CompiledRule | None:
        if forced is not None:
            rule = self._by_name.get(forced)
            if rule is None:
                raise ApiError(400, f"{control.RULE}: no rule named {forced!r}")
            for check in rule.checks:  # for the named groups templates may use
                check(view)
            return rule
        return self._scan(view, self._all)

    @staticmethod
    def _scan(view: RequestView, rules: tuple[CompiledRule, ...]) -> CompiledRule | None:
        for rule in rules:
            if rule.matches(view):
                return rule
        return None

    def _count(self, view: RequestView | None, rule: CompiledRule,
               forced: bool) -> tuple[CompiledRule | None, int]:
        """Count the answer of ``rule``: (the rule that answers, its uses before).

        A rule another process used up since it matched here (``times``) hands over to the
        next match; in one process ``matches`` already saw that.
        """
        current: CompiledRule | None = rule
        while current is not None:
            uses = current.counter.take(None if forced else current.times, current.exact)
            if uses is not None:
                return current, uses
            assert view is not None
            current = self._scan(view, self._all[self._all.index(current) + 1:])
        return None, self._defaults_counter.take(None, self._defaults_exact) or 0

    # -- plans --------------------------------------------------------------------------

    def plan(self, req: NeutralRequest, start: float | None = None) -> Plan:
        start = time.monotonic() if start is None else start  # arrival: TTFT counts from it
        bounds = self.limits
        ctl = control.read(req.headers, bounds.control_ms / 1000) if self.ctl else control.NONE
        if ctl.fault is not None and "." in ctl.fault.kind:  # a plugin's kind, by header
            ctl = dataclasses.replace(ctl, fault=dataclasses.replace(
                ctl.fault, action=self.ext.header_fault(ctl.fault.kind)))
        model = self.models.require(req.model)
        tok = self.tokenizers.get(model.tokenizer)
        embedding = bool(req.inputs) and not req.messages  # prepare.is_embedding
        prompt = "" if embedding else req.prompt_text()
        too_big = limits.prompt_error(req, [*req.inputs, req.query] if embedding else [prompt],
                                      bounds)
        if too_big is not None:  # before any tokenizing
            return Plan(model=model, rule=None, prompt_tokens=0, error=too_big)
        measured = req.measured  # measured off the loop if large
        if measured is None and not embedding:  # most requests: no Measured to allocate
            prompt_tokens = too_long = prompt_tokens_of(req, tok, prompt)
        else:
            measured = measured or measure(req, tok, prompt)
            prompt_tokens, too_long = measured.prompt_tokens, measured.too_long
        plan = Plan(model, None, prompt_tokens)
        provider = provider_for(req.provider)
        if provider.enforces_limits:
            if too_long > model.context_window:
                plan.error = provider.context_error(model, too_long)
                return plan
            if (req.max_tokens is not None and req.max_tokens > model.max_output_tokens
                    and not embedding):
                plan.error = provider.max_tokens_error(model, req.max_tokens)
                return plan
        view: RequestView | None = None
        if self.ext.validators:
            view = RequestView(req, model.id)
            self.ext.validate(view)  # a plugin's objection is this provider's 400
        # Without rules there is nothing to match: the view is built only if a template
        # or a plugin responder asks for it.
        if view is None and (self._all or ctl.rule is not None):
            view = RequestView(req, model.id)
        rule = self.select(view, ctl.rule) if view is not None else None
        plan.rule = rule.name if rule is not None else None
        if ctl.status is not None:
            # A forced error answers instead of the rule: its sequence does not advance.
            plan.error = make_error(ErrorSpec(status=ctl.status), provider)
            return plan
        if rule is None:
            uses = self._defaults_counter.take(None, self._defaults_exact) or 0
        else:
            rule, uses = self._count(view, rule, ctl.rule is not None)
            plan.rule = rule.name if rule is not None else None
        answer = rule.answer if rule is not None else self._defaults
        if answer.sequence:  # else the answer is itself: no call to make
            answer = answer.pick(uses)
        if answer.empty:
            answer = self._defaults.pick(uses)
        if answer.error is not None:
            plan.error = make_error(answer.error, provider)
            return plan
        plan.fault = ctl.fault or answer.fault
        if embedding:
            self._vectors(plan, req, model, answer)
        else:
            seed = req.seed if req.seed is not None else zlib.crc32(prompt.encode())
            budget = req.max_tokens if req.max_tokens is not None else model.max_output_tokens
            # Template values are gathered only for an answer that renders some.
            values = (TemplateValues(req, view or RequestView(req, model.id), model, plan.rule,
                              uses + 1) if answer.needs_values else no_values)
            the_view = ((view or RequestView(req, model.id)) if answer.responder is not None
                        else None)
            total = 0
            for index in range(max(req.n, 1)):
                per = answer.for_index(index) if answer.choices else answer
                if the_view is not None:
                    choice = render_reply(per, req, tok, index, seed + index, budget,
                                          the_view)
                else:
                    choice = per.choice(req, tok, index, seed + index, budget, values,
                                        self.behaviour)
                plan.choices.append(choice)
                total += choice.completion_tokens
                if total > bounds.generated_tokens:  # checked as they are made: stop early
                    break
            if total > bounds.generated_tokens or req.logprobs:  # else no limit to check
                plan.error = limits.output_error(req, total, bounds)
            if plan.error is not None:
                return plan
        # The defaults' block stands for "no rule latency": timing.py then uses the model's.
        latency = (rule.latency if rule is not None and rule.latency is not None
                   else self._default_latency)
        assert self.timing is not None  # a config it could not compile raised above
        plan.pacing = self.timing.pacing(start, req, model, latency, prompt_tokens, plan.fault)
        return plan

    def _vectors(self, plan: Plan, req: NeutralRequest, model: ModelConfig,
                 answer: Answer) -> None:
        if req.query:
            plan.scores = vectors.scores(req.query, req.inputs, model.id)
            return
        dims = req.dimensions or model.dimensions
        if answer.embeddings is not None:
            given = [vectors.fixed(v, dims) for v in answer.embeddings]
            plan.embeddings = [given[i % len(given)] for i in range(len(req.inputs))]
        elif answer.embedding is not None:
            fixed = vectors.fixed(answer.embedding, dims)
            plan.embeddings = [fixed for _ in req.inputs]
        elif req.measured is not None and req.measured.vectors is not None and (
                req.measured.dims == dims):
            plan.embeddings = req.measured.vectors
        else:
            plan.embeddings = derived(req, dims, model.id)

    def prepare(self, req: NeutralRequest) -> None:
        """Measure ``req`` ahead of :meth:`plan`, in a worker thread (engine/prepare.py; the
        caches lock). What the plan will refuse (unknown model, too long) is left to it."""
        model = self.models.get(req.model)
        if model is None:
            return
        embedding = is_embedding(req)
        prompt = "" if embedding else req.prompt_text()
        texts = [*req.inputs, req.query] if embedding else [prompt]
        if limits.prompt_error(req, texts, self.limits) is not None:
            return
        measured = measure(req, self.tokenizers.get(model.tokenizer), prompt)
        if embedding and not req.query:
            dims = req.dimensions or model.dimensions
            measured.vectors, measured.dims = derived(req, dims, model.id), dims
        req.measured = measured

    def count(self, model: str, text: str) -> int:
        """Tokens of ``text`` with ``model``'s tokenizer (404 for an unknown model)."""
        return self.tokenizers.count(self.models.require(model).tokenizer, text)

    def prompt_tokens(self, req: NeutralRequest, model: ModelConfig) -> int:
        """The prompt tokens ``req`` is billed (what usage and ``count_tokens`` report)."""
        too_big = limits.prompt_error(req, [req.prompt_text()], self.limits)
        if too_big is not None:
            raise too_big
        return prompt_tokens_of(req, self.tokenizers.get(model.tokenizer), None)

    def tokenizer(self, model: ModelConfig) -> Tokenizer:
        return self.tokenizers.get(model.tokenizer)


def _line_of(problem: str) -> int:
    """``FILE:LINE: ...`` problems in file order."""
    parts = problem.split(":", 2)
    return int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else 0
