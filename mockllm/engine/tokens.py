"""Tokenizers (through the ``mockllm_tokenizer`` hook), cached once per vocabulary.

Every count the server reports (usage, streamed usage, count_tokens, the journal) comes from
here, so they all agree.
"""

from __future__ import annotations

import logging
import random
import sys
from collections.abc import Callable
from functools import lru_cache
from typing import Protocol, runtime_checkable

from mockllm.bytecache import TEXT_CACHE_BYTES, ByteLRU

log = logging.getLogger("mockllm.tokens")


@runtime_checkable
class Tokenizer(Protocol):
    def encode(self, text: str) -> list[int]: ...

    def decode(self, tokens: list[int]) -> str: ...

    def __hash__(self) -> int: ...  # cached per tokenizer object


class Tokenizers:
    """Resolves a vocabulary name to a tokenizer once; later look-ups are a dict read.

    ``fallbacks`` records every vocabulary that could not be loaded and what answers for it,
    for ``GET /_mockllm/config``.
    """

    FALLBACK = "cl100k_base"

    def __init__(self, provide: Callable[[str], Tokenizer | None]) -> None:
        self._provide = provide
        self._cache: dict[str, Tokenizer] = {}
        self.fallbacks: dict[str, str] = {}

    def get(self, name: str) -> Tokenizer:
        tok = self._cache.get(name)
        if tok is not None:
            return tok
        tok = self._provide(name)
        if tok is None:
            tok = self._provide(self.FALLBACK) if name != self.FALLBACK else None
            if tok is None:
                raise RuntimeError(f"no tokenizer plugin can load {name!r} or {self.FALLBACK!r}")
            self.fallbacks[name] = self.FALLBACK
            log.warning(
                "tokenizer %r is not available offline; counting with %r instead "
                "(counts may differ slightly from the real API)", name, self.FALLBACK,
            )
        self._cache[name] = tok
        return tok

    def count(self, name: str, text: str) -> int:
        return count(self.get(name), text)


class Generated:
    """A cached generation: its pieces, and their joined text once someone asks for it
    (a non-streamed answer does on every request; a stream never does)."""

    __slots__ = ("_text", "pieces")

    def __init__(self, pieces: tuple[str, ...]) -> None:
        self.pieces = pieces
        self._text: str | None = None

    @property
    def text(self) -> str:
        text = self._text
        if text is None:  # two threads may both join: the same text, no harm
            text = self._text = "".join(self.pieces)
        return text


#: Configured answers cut into pieces; generated texts (seed, length); prompt token counts.
#: Budgets are set from ``server.memory`` by :func:`budget`; keys hold the tokenizer itself
#: so a collected tokenizer's id can never be mistaken for a new one's.
PIECES: ByteLRU[tuple[int, Tokenizer, str], tuple[str, ...]] = ByteLRU(TEXT_CACHE_BYTES // 4)
GENERATED: ByteLRU[tuple[int, Tokenizer, int, int], Generated] = ByteLRU(
    TEXT_CACHE_BYTES // 2)
#: A count's key is (id, tokenizer, text), or (id, tokenizer, text, text, ...) for the sum
#: over a bill's texts (:func:`count_texts`).
COUNTS: ByteLRU[tuple[object, ...], int] = ByteLRU(TEXT_CACHE_BYTES // 4)

_STR = sys.getsizeof("")  # a str object's header: each distinct piece costs it again


def budget(text_cache_bytes: int) -> None:
    """Apply ``server.memory.text_cache_bytes``: half for generated texts (the large ones),
    a quarter each for answer pieces and prompt counts."""
    GENERATED.resize(text_cache_bytes // 2)
    PIECES.resize(text_cache_bytes // 4)
    COUNTS.resize(text_cache_bytes // 4)


def _pieces_size(out: tuple[str, ...]) -> int:
    return 8 * len(out) + sum(_STR + len(p) for p in out)


def cached_pieces(tok: Tokenizer, text: str) -> list[str]:
    """:func:`pieces`, cached: a configured answer is tokenised once, not per request."""
    key = (id(tok), tok, text)
    got = PIECES.get(key)
    if got is None:
        got = tuple(pieces(tok, text))
        PIECES.put(key, got, _STR + len(text) + _pieces_size(got))
    return list(got)


#: Prompts longer than this are counted every time: caching them would pin their text.
_COUNT_CACHE_CHARS = 8192


def count(tok: Tokenizer, text: str) -> int:
    """Tokens in ``text``. Short texts are cached: load tests and CI repeat their prompts,
    and tokenising is the largest per-request cost of the engine."""
    if not text:
        return 0
    if len(text) > _COUNT_CACHE_CHARS:
        return len(tok.encode(text))
    key = (id(tok), tok, text)
    got = COUNTS.get(key)
    if got is None:
        got = len(tok.encode(text))
        COUNTS.put(key, got, _STR + len(text))
    return got


#: Bills of more texts than this are summed text by text, without a cached total.
_COUNT_CACHE_TEXTS = 16


def count_texts(tok: Tokenizer, texts: list[str]) -> int:
    """``sum(count(tok, t) for t in texts)``. The total of a short bill is cached as well,
    under all its texts: a repeated prompt (a load test's) is one look-up, not one per
    message and role. A bill not seen before is counted text by text, which finds the
    texts it shares with earlier bills (a conversation one turn longer) in the cache."""
    if len(texts) > _COUNT_CACHE_TEXTS:
        return sum(count(tok, t) for t in texts)
    key = (id(tok), tok, *texts)
    got = COUNTS.get(key)
    if got is not None:
        return got
    got = 0
    size = _STR
    for text in texts:
        got += count(tok, text)
        size += len(text)
    if size <= _COUNT_CACHE_CHARS:
        COUNTS.put(key, got, size + 8 * len(texts))
    return got


def pieces(tok: Tokenizer, text: str) -> list[str]:
    """``text`` cut on token boundaries; a character split over tokens stays whole."""
    if not text:
        return []
    ids = tok.encode(text)
    single = getattr(tok, "decode_single_token_bytes", None)
    if single is None:
        return [tok.decode([i]) for i in ids]
    out: list[str] = []
    buf = b""
    for i in ids:
        buf += single(i)
        try:
            out.append(buf.decode("utf-8"))
        except UnicodeDecodeError:
            continue  # wait for the rest of a multi-byte character
        buf = b""
    if buf:
        out.append(buf.decode("utf-8", errors="replace"))
    return out


_WORDS = (
    "the model answers with tokens that are real words of its vocabulary so every count is "
    "exact and the same text comes back for the same seed and request when a test runs again "
    "data system value result time light water stream server client request response latency "
    "quick brown fox jumps over lazy dog river mountain forest city ocean cloud signal memory "
    "simple clear fast steady bright calm green blue north south east west open close start "
    "end first last small large early late new old good well also just then here there"
).split()


@lru_cache(maxsize=64)
def _vocabulary(tok_id: int, tok: Tokenizer) -> tuple[str, ...]:
    # Keep words that are one token with a leading space: the pre-tokenizer splits " word"
    # runs apart, so n such words encode to exactly n tokens.
    # The first word has no leading space, so it must be one token bare as well.
    # Kept with their space: a generated text then points at these few string objects
    # (8 bytes a token) instead of making a new string per token.
    return tuple(
        " " + w for w in dict.fromkeys(_WORDS)
        if len(tok.encode(" " + w)) == 1 and len(tok.encode(w)) == 1
    )


#: Fewer single-token words than this and generation cuts word text into the tokenizer's
#: own pieces instead (a character-level or unusual vocabulary).
_MIN_WORDS = 8


def _generated(tok_id: int, tok: Tokenizer, n: int, seed: int) -> Generated:
    key = (tok_id, tok, n, seed)
    got = GENERATED.get(key)
    if got is not None:
        return got
    words = _vocabulary(tok_id, tok)
    rng = random.Random(seed)
    if len(words) < _MIN_WORDS:
        pieces = _pieces_of_words(tok, n, rng)
        got = Generated(pieces)
        GENERATED.put(key, got, _pieces_size(pieces) + _text_size(pieces))
        return got
    out = rng.choices(words, k=n)
    if out:
        out[0] = out[0][1:]
    got = Generated(tuple(out))
    # Shared word objects: one pointer a token, plus the text a non-streamed answer joins.
    GENERATED.put(key, got, 8 * n + _STR + 8 + _text_size(got.pieces))
    return got


def _text_size(pieces: tuple[str, ...]) -> int:
    """What the joined text of ``pieces`` will hold (counted up front, kept or not)."""
    return _STR + sum(map(len, pieces))


def _pieces_of_words(tok: Tokenizer, n: int, rng: random.Random) -> tuple[str, ...]:
    """``n`` pieces of any tokenizer: random words, cut on that tokenizer's own boundaries.

    Chunks are drawn one after another from ``rng``, so the result is prefix-stable like the
    word path (``generate(n)[:k] == generate(k)``)."""
    out: list[str] = []
    while len(out) < n:
        chunk = " ".join(rng.choices(_WORDS, k=16))
        got = pieces(tok, (" " if out else "") + chunk)
        if not got:  # a tokenizer that encodes words to nothing: fall back to characters
            got = list((" " if out else "") + chunk)
        out.extend(got)
    return tuple(out[:n])


def generate(tok: Tokenizer, n: int, seed: int) -> list[str]:
    """``n`` token pieces of deterministic text for ``seed`` (cached: repeats are free)."""
    return list(_generated(id(tok), tok, n, seed).pieces)


def generation(tok: Tokenizer, n: int, seed: int) -> Generated:
    """:func:`generate`'s cached entry itself (read-only: copy its pieces before changing
    them), whose ``text`` is joined once for every answer that sends it whole."""
    got = GENERATED.get((id(tok), tok, n, seed))  # a hit (most requests): one call less
    return got if got is not None else _generated(id(tok), tok, n, seed)
