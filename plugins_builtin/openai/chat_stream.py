"""``openai.chat``'s stream: ``chat.completion.chunk`` events spliced from bytes.

A role chunk, one chunk per token piece, a finish chunk per choice, then the usage chunk
(``choices: []``) when ``stream_options.include_usage`` asks for it. The bytes every chunk of a
model shares are encoded once per process, a stream's own (id, time) once per stream, so a
token costs one join; every spliced chunk equals the struct's own encoding.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from msgspec import UNSET, UnsetType

from mockllm import Frame
from mockllm.engine import Plan

from .chat_schema import ChatChunk, ChunkChoice, Delta, FunctionDelta, ToolCallDelta
from .logprobs import ChoiceLogprobs, token_logprob
from .wire import FINISH, SYSTEM_FINGERPRINT, Usage, encoder


class ChunkWriter:
    """Renders one stream's chunks by splicing bytes: a chunk of one choice is the stream's
    head (``{"id":...,"choices":[``), the choice, and its tail (``]`` and ``usage``).

    What is the same for every stream of a model (the bytes after ``created``; the role and
    finish choices) is encoded once per process; what is the stream's own (the id, the
    time) is joined in once per stream; a token is one join.
    """

    def __init__(self, cid: str, created: int, model: str, include_usage: bool,
                 tier: str = "default") -> None:
        self.cid, self.created, self.model, self.tier = cid, created, model, tier
        self.usage: None | UnsetType = None if include_usage else UNSET
        mid, self.tail = _fixed_parts(model, tier, include_usage)
        self.head = b"".join((b'{"id":', encoder.encode(cid), _AFTER_ID, b"%d" % created, mid))
        self._around: dict[int, tuple[bytes, bytes]] = {}

    def chunk(self, choices: list[ChunkChoice], usage: Usage | None | UnsetType = None
              ) -> ChatChunk:
        return ChatChunk(self.cid, _OBJECT, self.created, self.model, self.tier,
                         SYSTEM_FINGERPRINT, choices, self.usage if usage is None else usage)

    def encode(self, choice: ChunkChoice) -> bytes:
        return encoder.encode(self.chunk([choice]))

    def spliced(self, choice: bytes) -> bytes:
        """The chunk of one already encoded choice: the same bytes as :meth:`encode`."""
        return b"".join((self.head, choice, self.tail))

    def role(self, index: int, text_first: bool) -> bytes:
        """The first chunk of a choice (``delta.role``; ``content: ""`` unless the choice
        starts with a tool call)."""
        return self.spliced(_role_choice(index, text_first))

    def finish(self, index: int, reason: str) -> bytes:
        return self.spliced(_finish_choice(index, FINISH[reason]))

    def around(self, index: int) -> tuple[bytes, bytes]:
        """The bytes before and after the JSON string of a token's text (no logprobs)."""
        around = self._around.get(index)
        if around is None:
            around = self._around[index] = (self.head + _content_before(index),
                                             _AFTER_NULL + self.tail)
        return around

    def content(self, index: int, piece: str, logprobs: bytes = b"null") -> bytes:
        """The same bytes as ``encode(ChunkChoice(index, Delta(content=piece)))``, spliced."""
        if logprobs == b"null":
            before, after = self.around(index)
            return b"".join((before, encoder.encode(piece), after))
        return b"".join((self.head, _content_before(index), encoder.encode(piece),
                         _content_after(logprobs), self.tail))


_OBJECT = "chat.completion.chunk"
_AFTER_ID = b',"object":"chat.completion.chunk","created":'


@lru_cache(maxsize=256)
def _fixed_parts(model: str, tier: str, include_usage: bool) -> tuple[bytes, bytes]:
    """What every chunk of a stream of ``model`` has after ``created`` up to and including
    ``"choices":[``, and after the one choice (``]``, ``usage``)."""
    usage: None | UnsetType = None if include_usage else UNSET
    whole = encoder.encode(ChatChunk("", _OBJECT, 0, model, tier, SYSTEM_FINGERPRINT, [],
                                     usage))
    start = b'{"id":""' + _AFTER_ID + b"0"
    if not whole.startswith(start):  # the struct's field order is what the splice assumes
        raise AssertionError(f"ChatChunk no longer encodes as {start!r}...")
    cut = whole.index(b'"choices":[') + len(b'"choices":[')
    return whole[len(start):cut], whole[cut:]


@lru_cache(maxsize=1024)
def _role_choice(index: int, text_first: bool) -> bytes:
    role = Delta("assistant", "" if text_first else None, None)
    out: bytes = encoder.encode(ChunkChoice(index, role))
    return out


@lru_cache(maxsize=1024)
def _finish_choice(index: int, reason: str) -> bytes:
    out: bytes = encoder.encode(ChunkChoice(index, Delta(), None, reason))
    return out


@lru_cache(maxsize=1024)
def _content_before(index: int) -> bytes:
    return b'{"index":%d,"delta":{"content":' % index


def _content_after(logprobs: bytes) -> bytes:
    return b'},"logprobs":' + logprobs + b',"finish_reason":null}'


_AFTER_NULL = _content_after(b"null")


_new_frame = tuple.__new__  # a Frame without the NamedTuple constructor's Python call


def chunks(writer: ChunkWriter, plan: Plan, top: int | None, usage: Usage | None
           ) -> Iterator[Frame]:
    """The stream's frames, made lazily as the transport sends them."""
    for c in plan.choices:
        text_first = bool(c.pieces) or not c.tool_calls
        yield Frame(None, writer.role(c.index, text_first))
        if top is None:
            before, after = writer.around(c.index)
            encode = encoder.encode
            for piece in c.pieces:
                yield _new_frame(Frame, (None, b"".join((before, encode(piece), after)), True,
                                         False))
        else:
            for i, piece in enumerate(c.pieces):
                lp = encoder.encode(ChoiceLogprobs([token_logprob(piece, i, top)]))
                yield Frame(None, writer.content(c.index, piece, lp), token=True)
        for n, tc in enumerate(c.tool_calls):
            header = ToolCallDelta(n, tc.id, "function", FunctionDelta(tc.name, ""))
            yield Frame(None, writer.encode(ChunkChoice(c.index, Delta(tool_calls=[header]))))
            for piece in tc.pieces:
                args = ToolCallDelta(n, function=FunctionDelta(arguments=piece))
                delta = Delta(tool_calls=[args])
                yield Frame(None, writer.encode(ChunkChoice(c.index, delta)), token=True)
        yield Frame(None, writer.finish(c.index, c.finish_reason), final=True)
    if usage is not None:
        yield Frame(None, encoder.encode(writer.chunk([], usage)), final=True)
