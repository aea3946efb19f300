"""Deterministic fake log-probabilities in OpenAI's shapes.

A mock has no distribution to sample from, so each token gets a stable value derived from its
text and position (the same request gives the same numbers), and ``top_logprobs`` lists the
sent token first, then fixed alternatives with strictly lower values.
"""

from __future__ import annotations

import zlib

import msgspec

_ALTERNATIVES = (" the", " a", " and", " to", " of", " in", " is", " it", ".", ",", " that",
                 " for", " on", " with", " as", " was", " this", " be", " at", " by")


class TopLogprob(msgspec.Struct):
    token: str
    logprob: float
    bytes: list[int]


class TokenLogprob(msgspec.Struct):
    """``choices[i].logprobs.content[j]`` of a chat completion."""

    token: str
    logprob: float
    bytes: list[int]
    top_logprobs: list[TopLogprob]


class ChoiceLogprobs(msgspec.Struct):
    content: list[TokenLogprob] | None
    refusal: None = None


class CompletionLogprobs(msgspec.Struct):
    """``choices[i].logprobs`` of a legacy completion."""

    tokens: list[str]
    token_logprobs: list[float]
    top_logprobs: list[dict[str, float]] | None
    text_offset: list[int]


def logprob(piece: str, position: int) -> float:
    """A value in (-1.5, 0] fixed by the token's text and position."""
    return -((zlib.crc32(f"{position}\x00{piece}".encode()) % 1500) / 1000.0)


def _alternatives(piece: str, position: int, count: int, best: float) -> list[tuple[str, float]]:
    start = zlib.crc32(piece.encode()) % len(_ALTERNATIVES)
    out: list[tuple[str, float]] = []
    k = 0
    while len(out) < count and k < len(_ALTERNATIVES):
        alt = _ALTERNATIVES[(start + k) % len(_ALTERNATIVES)]
        k += 1
        if alt != piece:
            out.append((alt, round(best - 0.75 * (len(out) + 1) - 0.125 * (position % 4), 6)))
    return out


def token_logprob(piece: str, position: int, top: int) -> TokenLogprob:
    lp = logprob(piece, position)
    tops = []
    if top > 0:
        tops.append(TopLogprob(piece, lp, list(piece.encode())))
        tops.extend(TopLogprob(t, v, list(t.encode()))
                    for t, v in _alternatives(piece, position, top - 1, lp))
    return TokenLogprob(piece, lp, list(piece.encode()), tops)


class EventTopLogprob(msgspec.Struct):
    token: str
    logprob: float


class EventLogprob(msgspec.Struct):
    """A Responses text event's logprob (the spec's ResponseLogProb: no ``bytes``)."""

    token: str
    logprob: float
    top_logprobs: list[EventTopLogprob]


def event_logprob(piece: str, position: int, top: int) -> EventLogprob:
    """The same values as :func:`token_logprob`, in a Responses event's shape."""
    full = token_logprob(piece, position, top)
    return EventLogprob(full.token, full.logprob,
                        [EventTopLogprob(t.token, t.logprob) for t in full.top_logprobs])


def chat_logprobs(pieces: list[str], top: int, offset: int = 0) -> ChoiceLogprobs:
    return ChoiceLogprobs([token_logprob(p, offset + i, top) for i, p in enumerate(pieces)])


def completion_logprobs(pieces: list[str], top: int, text_start: int = 0,
                        offset: int = 0) -> CompletionLogprobs:
    """Legacy ``logprobs: N``: ``top_logprobs`` maps each alternative to its value."""
    values = [logprob(p, offset + i) for i, p in enumerate(pieces)]
    tops: list[dict[str, float]] | None = None
    if top > 0:
        tops = []
        for i, (p, v) in enumerate(zip(pieces, values, strict=True)):
            entry = {p: v}
            entry.update(_alternatives(p, offset + i, top - 1, v))
            tops.append(entry)
    offsets, at = [], text_start
    for p in pieces:
        offsets.append(at)
        at += len(p)
    return CompletionLogprobs(list(pieces), values, tops, offsets)
