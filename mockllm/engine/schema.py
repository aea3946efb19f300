"""The config structs of the engine: models, rules, responses, defaults.

msgspec validates the shape; :meth:`Rule.problems` and :meth:`Respond.problems` add what a
type cannot say (a regex that does not compile, a template naming an unknown value, two
answers in one ``respond``). docs/config.md documents every field here.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import msgspec

from mockllm.engine.paths import argument_problems, parse_json_path, template_problem
from mockllm.engine.template import BUILTIN_NAMES
from mockllm.faults import KINDS as FAULT_KINDS


class Latency(msgspec.Struct, forbid_unknown_fields=True):
    """Timing of an answer; docs/latency.md documents every field."""

    ttft_ms: float = 0.0
    itl_ms: float = 0.0
    #: TTFT / ITL distributions ``{model: NAME, ...params}``; None: constant ttft_ms / itl_ms.
    ttft: dict[str, Any] | None = None
    itl: dict[str, Any] | None = None
    #: Prefill cost added to TTFT per prompt token.
    prefill_ms_per_token: float = 0.0
    #: Which prompt prefix counts as cached: nothing, the system prompt, or all but the last turn.
    cached_prefix: Literal["none", "system", "history"] = "none"
    #: Fraction of the prefill cost a cached token saves.
    cache_discount: float = 0.9
    #: A name in the top-level ``latency_profiles``; fields set here override the profile's.
    profile: str | None = None


class LoadConfig(msgspec.Struct, forbid_unknown_fields=True):
    """The load model of one model (docs/latency.md)."""

    max_concurrent: int
    #: Requests that may wait for a slot; past it they are refused with ``reject_status``.
    queue_size: int = 1024
    reject_status: Literal[429, 503, 529] = 429
    #: TTFT and ITL are multiplied by this when max_concurrent sequences run (1 when one does).
    time_factor_under_load: float = 1.0
    #: KV cache size in tokens for ``vllm:kv_cache_usage_perc`` (0: running / max_concurrent).
    kv_cache_tokens: int = 0


class Capabilities(msgspec.Struct, forbid_unknown_fields=True):
    """What the real model accepts; a request it refuses gets the provider's 400.

    Unset (None) means "not restricted": a custom model accepts everything, as before.
    docs/models.md says where each builtin model's values come from.
    """

    #: Anthropic ``thinking.type`` values accepted (``enabled``, ``adaptive``,
    #: ``between_tools``, ``disabled``).
    thinking: list[str] | None = None
    #: False: ``tool_choice`` that forces a tool (Anthropic ``any`` / ``tool``, OpenAI
    #: ``required`` / a named function) is refused.
    forced_tools: bool = True
    #: False: image inputs are refused.
    vision: bool = True
    #: False: ``response_format`` / ``text.format`` / ``output_config.format`` are refused.
    structured_output: bool = True
    #: Reasoning efforts accepted (OpenAI ``reasoning_effort``, Anthropic
    #: ``output_config.effort``); None: any.
    reasoning_efforts: list[str] | None = None


class ModelConfig(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    provider: str = "openai"
    aliases: list[str] = []
    context_window: int = 128_000
    max_output_tokens: int = 16_384
    tokenizer: str = "cl100k_base"
    owned_by: str = ""
    created: int = 1_715_367_049
    display_name: str = ""
    #: Vector length of embeddings when the request does not set ``dimensions``.
    dimensions: int = 1536
    latency: Latency | None = None
    load: LoadConfig | None = None
    capabilities: Capabilities | None = None


class TextMatch(msgspec.Struct, forbid_unknown_fields=True):
    """Tests on one text; every test given must pass. A bare string means ``contains``."""

    equals: str | None = None
    contains: str | None = None
    regex: str | None = None
    glob: str | None = None
    #: Case-sensitive comparison (default: case-insensitive).
    case: bool = False


class Count(msgspec.Struct, forbid_unknown_fields=True):
    """An integer range; a bare integer means exactly that number."""

    min: int | None = None
    max: int | None = None


class Match(msgspec.Struct, forbid_unknown_fields=True):
    model: str | None = None
    endpoint: str | None = None
    provider: str | None = None
    last_user: str | TextMatch | None = None
    system: str | TextMatch | None = None
    any_message: str | TextMatch | None = None
    #: Number of messages in the request (system included).
    message_count: int | Count | None = None
    #: Number of user messages so far (1 on the first turn).
    turn: int | Count | None = None
    #: True: the last message is a tool result; False: it is not.
    tool_result: bool | None = None
    #: Tool names that must all be offered by the request.
    tools: list[str] | None = None
    #: True: the request offers at least one tool; False: it offers none.
    has_tools: bool | None = None
    #: Header name -> glob of its value (names are case-insensitive).
    header: dict[str, str] = {}
    #: JSON path into the raw request body -> the value it must equal.
    json: dict[str, Any] = {}
    #: Plugin matchers by name (``acme.sentiment: negative``): the config loader moves every
    #: dotted key of a ``match`` here; each value goes to that matcher's factory.
    extensions: dict[str, Any] = {}


class Generate(msgspec.Struct, forbid_unknown_fields=True):
    #: How many tokens: a number, a range ``{min, max}`` the seed picks from, or omitted: a
    #: natural length (12 to 400, mostly short), as a model that finished its thought.
    tokens: int | Count | None = None
    seed: int | None = None
    #: When the request sets a token limit, generate exactly that many tokens (a model that
    #: never stops early, so load testers get the output length they ask for).
    fill: bool = False


class ToolCallSpec(msgspec.Struct, forbid_unknown_fields=True):
    #: The function name (a template).
    name: str
    #: A mapping (string values are templates), JSON text (literal), or omitted: generated
    #: from the offered tool's JSON schema.
    arguments: dict[str, Any] | str | None = None


class ErrorSpec(msgspec.Struct, forbid_unknown_fields=True):
    status: int = 500
    message: str | None = None
    type: str | None = None
    code: str | None = None
    #: Seconds; sent as ``retry-after`` (whole seconds) and ``retry-after-ms``.
    retry_after: float | None = None
    #: Extra response headers.
    headers: dict[str, str] = {}


class FaultSpec(msgspec.Struct, forbid_unknown_fields=True):
    #: A builtin kind (``faults.KINDS``) or a plugin's (``mockllm_faults``, a dotted name).
    kind: str
    after: int = 0
    seconds: float = 0.0
    #: ``error``: the status of the mid-stream error (and of a non-streamed answer).
    status: int = 500
    #: ``error``: its message (None: the provider's usual one for the status).
    message: str | None = None
    #: A plugin kind's value, given to its factory at config load.
    params: Any = None

    def problems(self) -> list[tuple[str, str]]:
        if "." in self.kind:
            return []  # a plugin kind: its factory checks it (unknown: ExtensionError)
        if self.kind not in FAULT_KINDS:
            return [("kind", f"unknown fault kind {self.kind!r} (one of "
                             f"{', '.join(FAULT_KINDS)}, or a plugin's dotted name)")]
        if self.params is not None:
            return [("params", f"only a plugin fault kind takes params, not {self.kind!r}")]
        return []


class Respond(msgspec.Struct, forbid_unknown_fields=True):
    text: str | None = None
    template: str | None = None
    generate: Generate | None = None
    tool_calls: list[ToolCallSpec] | None = None
    reasoning: str | Generate | None = None
    embedding: list[float] | None = None
    #: One vector per input, in order (input i gets ``embeddings[i % len]``): what
    #: ``mockllm record`` writes for a request with several inputs.
    embeddings: list[list[float]] | None = None
    #: One answer per choice index (``n`` > 1; index i gets ``choices[i % len]``), each
    #: with text, template, generate, tool calls or reasoning: what ``mockllm record``
    #: writes for an upstream answer with several choices.
    choices: list[Respond] | None = None
    error: ErrorSpec | None = None
    fault: FaultSpec | None = None
    sequence: list[Respond] | None = None
    #: After the last answer of ``sequence``: False repeats it, True starts over.
    cycle: bool = False
    #: A plugin responder by name (``acme.lorem: {sentences: 2}``): the config loader moves
    #: every dotted key of a ``respond`` here; the value goes to that responder's factory.
    extensions: dict[str, Any] = {}

    @property
    def empty(self) -> bool:
        return self == _EMPTY

    def problems(self, names: frozenset[str] | None, nested: bool = False) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        content = [k for k in ("text", "template", "generate") if getattr(self, k) is not None]
        if len(self.extensions) > 1:
            plugins = sorted(self.extensions)
            found.append((plugins[1], f"use one plugin responder per answer (found "
                                      f"{' and '.join(plugins)})"))
        if self.extensions:
            clash = content + [k for k in ("tool_calls", "reasoning", "embedding")
                               if getattr(self, k) is not None]
            if clash:
                found.append((clash[0], f"{clash[0]} cannot go with the plugin responder "
                                        f"{next(iter(self.extensions))!r}, which gives the "
                                        "whole answer"))
        if len(content) > 1:
            found.append((content[1], f"use only one of text, template, generate "
                                      f"(found {' and '.join(content)})"))
        if self.sequence is not None:
            if nested:
                found.append(("sequence", "a sequence cannot hold another sequence"))
            others = [f for f in self.__struct_fields__
                      if f not in ("sequence", "cycle", "extensions")
                      and getattr(self, f) is not None]
            others += sorted(self.extensions)
            if others:
                found.append((others[0], "a respond with a sequence holds nothing else; put "
                                         f"{others[0]} in the sequence's items"))
            if not self.sequence:
                found.append(("sequence", "a sequence needs at least one answer"))
            for i, item in enumerate(self.sequence):
                found.extend((f"sequence[{i}].{p}", m) for p, m in item.problems(names, True))
        if self.template is not None:
            found.extend(template_problem("template", self.template, names))
        for i, call in enumerate(self.tool_calls or []):
            found.extend(template_problem(f"tool_calls[{i}].name", call.name, names))
            if isinstance(call.arguments, dict):
                found.extend(argument_problems(f"tool_calls[{i}].arguments", call.arguments,
                                                names))
            elif isinstance(call.arguments, str):
                try:
                    msgspec.json.decode(call.arguments)
                except msgspec.DecodeError as exc:
                    found.append((f"tool_calls[{i}].arguments", f"not valid JSON text: {exc}"))
        if self.fault is not None:
            found.extend(("fault." + p, m) for p, m in self.fault.problems())
        if self.error is not None and not 400 <= self.error.status <= 599:
            found.append(("error.status", f"{self.error.status} is not an error status "
                                          "(400-599)"))
        if self.generate is not None:
            found.extend(("generate." + p, m) for p, m in _length_problems(self.generate))
        if isinstance(self.reasoning, Generate):
            found.extend(("reasoning." + p, m) for p, m in _length_problems(self.reasoning))
        if self.fault is not None and (self.fault.after < 0 or self.fault.seconds < 0):
            found.append(("fault", "after and seconds must be 0 or more"))
        if self.fault is not None and not 400 <= self.fault.status <= 599:
            found.append(("fault.status", f"{self.fault.status} is not an error status "
                                          "(400-599)"))
        if self.embedding is not None and not self.embedding:
            found.append(("embedding", "an embedding needs at least one number"))
        if self.embeddings is not None:
            if self.embedding is not None:
                found.append(("embeddings", "use embedding or embeddings, not both"))
            if not self.embeddings or not all(self.embeddings):
                found.append(("embeddings", "embeddings needs at least one vector, each of "
                                            "at least one number"))
        if self.choices is not None:
            found.extend(self._choice_problems(names))
        return found

    def _choice_problems(self, names: frozenset[str] | None) -> list[tuple[str, str]]:
        assert self.choices is not None
        found: list[tuple[str, str]] = []
        if not self.choices:
            found.append(("choices", "choices needs at least one answer"))
        clash = [k for k in ("text", "template", "generate", "tool_calls", "reasoning")
                 if getattr(self, k) is not None]
        if clash:
            found.append((clash[0], f"a respond with choices holds {clash[0]} in each "
                                    "choice, not beside them"))
        for i, item in enumerate(self.choices):
            whole = [k for k in ("sequence", "choices", "error", "fault", "embedding",
                                 "embeddings") if getattr(item, k) is not None]
            whole += sorted(item.extensions)
            if whole:
                found.append((f"choices[{i}].{whole[0]}", f"{whole[0]} belongs to the whole "
                              "answer, not to one choice"))
            found.extend((f"choices[{i}].{p}", m) for p, m in item.problems(names, True))
        return found


_EMPTY = Respond()


class Rule(msgspec.Struct, forbid_unknown_fields=True):
    name: str | None = None
    match: Match = msgspec.field(default_factory=Match)
    respond: Respond = msgspec.field(default_factory=Respond)
    latency: Latency | None = None
    #: After this many answers the rule stops matching (None: no limit).
    times: int | None = None

    def group_names(self) -> frozenset[str]:
        """Named regex groups of every text matcher: the rule's extra template names."""
        names: set[str] = set()
        for field in ("last_user", "system", "any_message"):
            tm = getattr(self.match, field)
            if isinstance(tm, TextMatch) and tm.regex is not None:
                try:
                    names.update(re.compile(tm.regex).groupindex)
                except re.error:
                    pass
        return frozenset(names)

    def problems(self) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for field in ("last_user", "system", "any_message"):
            tm = getattr(self.match, field)
            if isinstance(tm, TextMatch) and tm.regex is not None:
                try:
                    re.compile(tm.regex)
                except re.error as exc:
                    found.append((f"match.{field}.regex", f"invalid regex: {exc}"))
        for field in ("message_count", "turn"):
            c = getattr(self.match, field)
            if isinstance(c, Count) and c.min is not None and c.max is not None and c.min > c.max:
                found.append((f"match.{field}", f"min {c.min} is above max {c.max}"))
        for path in self.match.json:
            try:
                parse_json_path(path)
            except ValueError as exc:
                found.append((f"match.json.{path}", str(exc)))
        if self.times is not None and self.times < 1:
            found.append(("times", "must be 1 or more"))
        # A plugin matcher may return any template values: then names are not known here.
        names = None if self.match.extensions else BUILTIN_NAMES | self.group_names()
        found.extend((f"respond.{p}", m) for p, m in self.respond.problems(names))
        return found


def _length_problems(gen: Generate) -> list[tuple[str, str]]:
    t = gen.tokens
    if isinstance(t, int):
        return [("tokens", "must be 0 or more")] if t < 0 else []
    if isinstance(t, Count):
        if (t.min is not None and t.min < 0) or (t.max is not None and t.max < 0):
            return [("tokens", "min and max must be 0 or more")]
        if t.min is not None and t.max is not None and t.min > t.max:
            return [("tokens", f"min {t.min} is above max {t.max}")]
    return []


class ToolsDefaults(msgspec.Struct, forbid_unknown_fields=True):
    """What a generated answer does with offered tools (docs/config.md, ``defaults.tools``)."""

    #: ``tool_choice: auto`` (or none given): answer ``text``, or ``call`` the first offered
    #: tool while the last message is not a tool result. Unset: ``text``, except for APIs
    #: without ``tool_choice`` (Ollama), where a model given tools calls them.
    auto: Literal["text", "call"] | None = None
    #: Tools called at once when the request allows parallel calls (forced or ``call``).
    parallel: int = 1


class Defaults(msgspec.Struct, forbid_unknown_fields=True):
    respond: Respond = msgspec.field(default_factory=lambda: Respond(generate=Generate()))
    latency: Latency = msgspec.field(default_factory=Latency)
    tools: ToolsDefaults = msgspec.field(default_factory=ToolsDefaults)

    def problems(self) -> list[tuple[str, str]]:
        found = [(f"respond.{p}", m) for p, m in self.respond.problems(BUILTIN_NAMES)]
        if self.respond.empty:
            found.append(("respond", "the default answer cannot be empty"))
        if self.tools.parallel < 1:
            found.append(("tools.parallel", "must be 1 or more"))
        return found
