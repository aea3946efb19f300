"""A plan: what the model answers, before any provider shapes it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Literal, Protocol

import msgspec

from mockllm.engine.schema import ModelConfig
from mockllm.errors import ApiError
from mockllm.faults import Fault
from mockllm.pacing import Pacing

FinishReason = Literal["stop", "length", "tool_calls", "stop_sequence"]


class HasText(Protocol):
    @property
    def text(self) -> str: ...


class ToolCall(msgspec.Struct):
    id: str
    name: str
    arguments: str  # JSON text
    #: ``arguments`` cut into the pieces a stream sends (joined, they equal ``arguments``).
    pieces: list[str] = msgspec.field(default_factory=list)


class Choice(msgspec.Struct, dict=True):
    """One answer. ``pieces`` are the text cut on token boundaries (one per streamed chunk).

    ``dict=True`` lets the engine attach the cached generation the pieces were copied from
    (:func:`joined_from`), outside the fields: equality, encoding and repr ignore it."""

    index: int = 0
    pieces: list[str] = msgspec.field(default_factory=list)
    reasoning_pieces: list[str] = msgspec.field(default_factory=list)
    tool_calls: list[ToolCall] = msgspec.field(default_factory=list)
    finish_reason: FinishReason = "stop"
    stop_sequence: str | None = None
    #: (``pieces`` as it was, its length, the source whose ``text`` joins the same pieces):
    #: set by :func:`joined_from`.
    _source: ClassVar[tuple[list[str], int, HasText] | None] = None

    @property
    def text(self) -> str:
        pieces, source = self.pieces, self._source
        if source is not None and source[0] is pieces and source[1] == len(pieces):
            return source[2].text
        return "".join(pieces)

    @property
    def reasoning(self) -> str:
        return "".join(self.reasoning_pieces)

    @property
    def completion_tokens(self) -> int:
        """Tokens actually sent: text, reasoning and tool-call argument pieces."""
        n = len(self.pieces) + len(self.reasoning_pieces)
        if self.tool_calls:
            n += sum(len(tc.pieces) for tc in self.tool_calls)
        return n


def joined_from(choice: Choice, source: HasText) -> None:
    """``source.text`` is ``"".join(choice.pieces)`` as they are now; ``choice.text`` uses it
    while ``pieces`` stays that list at that length (the engine only ever cuts it)."""
    choice.__dict__["_source"] = (choice.pieces, len(choice.pieces), source)


class Plan(msgspec.Struct):
    """The engine's answer for one request. Exactly one of ``error`` or the content is used."""

    model: ModelConfig
    rule: str | None
    prompt_tokens: int
    choices: list[Choice] = msgspec.field(default_factory=list)
    #: One vector per ``NeutralRequest.inputs`` item (embeddings requests), to be read, not
    #: changed: a list of floats when configured (``embedding:``), else packed float32
    #: (``array("f")``: 4 bytes a number, no float objects for the collector to walk).
    #: :func:`mockllm.engine.vectors.floats` gives a list either way.
    embeddings: list[Sequence[float]] = msgspec.field(default_factory=list)
    #: One relevance logit per ``inputs`` item when the request has a ``query`` (rankings).
    scores: list[float] = msgspec.field(default_factory=list)
    error: ApiError | None = None
    fault: Fault | None = None
    pacing: Pacing | None = None

    def hide_reasoning(self) -> None:
        """The API counts this answer's reasoning but does not send it (OpenAI chat, a
        Responses reasoning item without a summary, Gemini without ``includeThoughts``): its
        tokens still take their time at the ITL before the first visible token."""
        if self.pacing is not None:
            hidden = sum(len(c.reasoning_pieces) for c in self.choices)
            if hidden:
                self.pacing.hide(hidden)

    @property
    def completion_tokens(self) -> int:
        choices = self.choices
        if len(choices) == 1:  # the usual case, on every request's path
            return choices[0].completion_tokens
        return sum(c.completion_tokens for c in choices)
