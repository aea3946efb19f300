"""The config structs of the engine: models, rules, responses, defaults.

msgspec validates the shape; :meth:`Rule.problems` adds what a type cannot say (a regex that
does not compile). docs/config.md documents every field here.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import msgspec


class Latency(msgspec.Struct, forbid_unknown_fields=True):
    ttft_ms: float = 0.0
    itl_ms: float = 0.0


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


class TextMatch(msgspec.Struct, forbid_unknown_fields=True):
    equals: str | None = None
    contains: str | None = None
    regex: str | None = None
    glob: str | None = None
    case: bool = False


class Match(msgspec.Struct, forbid_unknown_fields=True):
    model: str | None = None
    endpoint: str | None = None
    provider: str | None = None
    last_user: TextMatch | None = None
    system: TextMatch | None = None
    any_message: TextMatch | None = None
    header: dict[str, str] = {}


class Generate(msgspec.Struct, forbid_unknown_fields=True):
    tokens: int = 32
    seed: int | None = None


class ToolCallSpec(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    arguments: dict[str, Any] | str | None = None


class ErrorSpec(msgspec.Struct, forbid_unknown_fields=True):
    status: int = 500
    message: str | None = None
    type: str | None = None
    code: str | None = None
    retry_after: float | None = None


class FaultSpec(msgspec.Struct, forbid_unknown_fields=True):
    kind: Literal["disconnect", "malformed", "stall", "truncate"]
    after: int = 0
    seconds: float = 0.0


class Respond(msgspec.Struct, forbid_unknown_fields=True):
    text: str | None = None
    generate: Generate | None = None
    tool_calls: list[ToolCallSpec] | None = None
    reasoning: str | None = None
    embedding: list[float] | None = None
    error: ErrorSpec | None = None
    fault: FaultSpec | None = None


class Rule(msgspec.Struct, forbid_unknown_fields=True):
    name: str | None = None
    match: Match = msgspec.field(default_factory=Match)
    respond: Respond = msgspec.field(default_factory=Respond)
    latency: Latency | None = None

    def problems(self) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for field in ("last_user", "system", "any_message"):
            tm: TextMatch | None = getattr(self.match, field)
            if tm is not None and tm.regex is not None:
                try:
                    re.compile(tm.regex)
                except re.error as exc:
                    found.append((f"match.{field}.regex", f"invalid regex: {exc}"))
        return found


class Defaults(msgspec.Struct, forbid_unknown_fields=True):
    respond: Respond = msgspec.field(default_factory=lambda: Respond(generate=Generate()))
    latency: Latency = msgspec.field(default_factory=Latency)
