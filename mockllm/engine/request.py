"""The provider-neutral request every endpoint normalises to before matching."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

_json = msgspec.json.Encoder(order="sorted")


class ToolCallIn(msgspec.Struct):
    """A tool call already in the conversation (an assistant turn)."""

    id: str
    name: str
    arguments: str


class Message(msgspec.Struct):
    """One turn. ``text`` joins every text part; images and the like are not text."""

    role: str  # system | developer | user | assistant | tool
    text: str = ""
    tool_calls: list[ToolCallIn] = msgspec.field(default_factory=list)
    tool_call_id: str | None = None


class ToolDef(msgspec.Struct):
    name: str
    description: str = ""
    parameters: dict[str, Any] = msgspec.field(default_factory=dict)


class Billed(msgspec.Struct):
    """The prompt as the provider bills it, built by the endpoint that knows its template.

    ``texts`` are counted one by one with the model's tokenizer (the way the providers'
    own counting recipes count each field), ``fixed`` adds what needs no tokenizer: the
    chat template's tokens per message, the reply priming, images.
    """

    texts: list[str] = msgspec.field(default_factory=list)
    fixed: int = 0


class Measured(msgspec.Struct):
    """What ``engine.prepare`` measured of a large request in a worker thread, for the plan
    to reuse: prompt tokens, the longest input's tokens, derived vectors (``dims`` long)."""

    prompt_tokens: int
    too_long: int
    vectors: list[Sequence[float]] | None = None
    dims: int = 0


class NeutralRequest(msgspec.Struct):
    """What a rule can look at, the same for every provider.

    ``endpoint`` is the endpoint key (``openai.chat``), ``provider`` its family (``openai``).
    ``max_tokens`` is None when the request sets no limit. ``raw`` is the decoded JSON body,
    for ``match.json`` paths; ``headers`` are lower-cased.
    """

    endpoint: str
    provider: str
    model: str
    messages: list[Message] = msgspec.field(default_factory=list)
    tools: list[ToolDef] = msgspec.field(default_factory=list)
    max_tokens: int | None = None
    min_tokens: int = 0
    ignore_eos: bool = False
    stop: list[str] = msgspec.field(default_factory=list)
    n: int = 1
    seed: int | None = None
    stream: bool = False
    response_format: str | None = None  # None | "json_object" | "json_schema"
    json_schema: dict[str, Any] | None = None
    logprobs: bool = False
    top_logprobs: int = 0
    thinking: bool = False
    thinking_budget: int | None = None
    #: How hard to think: ``minimal`` .. ``max`` (None: the provider's default, medium).
    reasoning_effort: str | None = None
    #: ``auto`` | ``none`` | ``required``; ``tool_name`` set: that one tool is forced.
    tool_choice: str = "auto"
    tool_name: str | None = None
    parallel_tool_calls: bool = True
    inputs: list[str] = msgspec.field(default_factory=list)  # embeddings / rankings passages
    query: str = ""
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    raw: Any = None
    #: Requested vector length of embeddings (None: the model's ``dimensions``).
    dimensions: int | None = None
    #: The raw body bytes (``Endpoint.plan`` fills it); ``match.json`` decodes it when
    #: ``raw`` is not set, once and only if a rule looks.
    body: bytes = b""
    #: What the provider bills as the prompt (None: ``prompt_text()`` counted as one text).
    billed: Billed | None = None
    #: Set by ``Endpoint.make_plan`` for a large request (engine/prepare.py); else None.
    measured: Measured | None = None

    @property
    def system(self) -> str:
        return "\n".join(m.text for m in self.messages if m.role in ("system", "developer"))

    @property
    def last_user(self) -> str:
        """The last user message; for a ranking request (no messages), its query."""
        for m in reversed(self.messages):
            if m.role == "user":
                return m.text
        return self.query

    def prompt_text(self) -> str:
        """The text the model would see, for prompt token counting: messages, tool calls
        in the conversation, offered tool definitions, and embedding/ranking inputs."""
        messages = self.messages
        if (len(messages) == 1 and not messages[0].tool_calls and not self.tools
                and not self.query and not self.inputs):
            return messages[0].text  # the common one-question request, without the joins
        parts = [m.text for m in messages]
        for m in self.messages:
            parts.extend(tc.name + tc.arguments for tc in m.tool_calls)
        for t in self.tools:
            parts.append(t.name)
            if t.description:
                parts.append(t.description)
            if t.parameters:
                parts.append(_json.encode(t.parameters).decode())
        if self.query:
            parts.append(self.query)
        parts.extend(self.inputs)
        return "\n".join(parts)
