"""Embedding vectors and ranking scores: deterministic, derived from the input text.

The same input, model and length always give the same unit vector, and similar texts get
similar vectors (each vector is the normalised sum of per-word vectors), so a test of a
retrieval pipeline sees plausible neighbours. Ranking scores are the similarity of the query
to each passage, scaled into the logit range rerankers answer with.
"""

from __future__ import annotations

import math
import operator
import random
import re
import sys
import zlib
from array import array
from collections.abc import Sequence

from mockllm.bytecache import EMBEDDING_CACHE_BYTES, ByteLRU

_WORD = re.compile(r"\w+")
_MAX_WORDS = 8

#: Vectors are kept packed as float32 (what the APIs send anyway: base64 is float32), 4
#: bytes a number; a tuple of Python floats costs 32. A quarter of the budget holds word
#: vectors, the rest whole texts' vectors.
WORDS: ByteLRU[tuple[str, int, int], array[float]] = ByteLRU(EMBEDDING_CACHE_BYTES // 4)
TEXTS: ByteLRU[tuple[str, int, str], array[float]] = ByteLRU(EMBEDDING_CACHE_BYTES * 3 // 4)

_STR = sys.getsizeof("")


def budget(embedding_cache_bytes: int) -> None:
    """Apply ``server.memory.embedding_cache_bytes``."""
    WORDS.resize(embedding_cache_bytes // 4)
    TEXTS.resize(embedding_cache_bytes - embedding_cache_bytes // 4)


def _word_vector(word: str, dims: int, salt: int) -> array[float]:
    key = (word, dims, salt)
    got = WORDS.get(key)
    if got is None:
        rng = random.Random(zlib.crc32(word.encode()) ^ salt)
        got = array("f", [rng.random() - 0.5 for _ in range(dims)])
        WORDS.put(key, got, 4 * dims + _STR + len(word))
    return got


def embed(text: str, dims: int, model: str) -> array[float]:
    """A unit vector of ``dims`` float32 numbers for ``text`` (cached, packed)."""
    key = (text, dims, model)
    got = TEXTS.get(key)
    if got is not None:
        return got
    salt = zlib.crc32(model.encode())
    # A few distinct words carry the similarity; more would cost time on the hot path.
    words = list(dict.fromkeys(_WORD.findall(text.casefold())))[:_MAX_WORDS] or [text]
    acc: Sequence[float] = _word_vector(words[0], dims, salt)
    for w in words[1:]:
        acc = list(map(operator.add, acc, _word_vector(w, dims, salt)))
    # The whole text's own vector keeps two texts with the same first words apart. It is
    # made, not cached: it serves this text only, which TEXTS already keeps.
    rng = random.Random(zlib.crc32(text.encode()) ^ salt ^ 1)
    acc = [a + (rng.random() - 0.5) for a in acc]
    got = _unit(acc)
    TEXTS.put(key, got, 4 * dims + _STR + len(text) + len(model))
    return got


def floats(vector: Sequence[float]) -> list[float]:
    """A plan's vector (``Plan.embeddings``: packed or a list) as a list of floats."""
    return vector.tolist() if isinstance(vector, array) else list(vector)


def fixed(vector: list[float], dims: int) -> list[float]:
    """A configured vector: used as given when ``dims`` matches, else cut or padded by
    repeating it, then normalised so it stays a unit vector."""
    if len(vector) != dims:
        vector = [vector[i % len(vector)] for i in range(dims)]
    # Not packed: a configured vector comes back as configured (and is not cached).
    return list(_unit64(vector))


def _unit64(v: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(map(operator.mul, v, v))) or 1.0
    return [x / norm for x in v]


def _unit(v: Sequence[float]) -> array[float]:
    return array("f", _unit64(v))


def scores(query: str, passages: list[str], model: str) -> list[float]:
    """One logit per passage: the more distinct query words a passage shares, the higher.

    The shared-word count sets the score's whole-number band (so one more shared word always
    ranks higher); the fraction of the passage's words that are query words orders passages
    within a band, and a small hash of the passage breaks the remaining ties deterministically.
    Scaled into the logit range rerankers answer with (about -10 to 10).
    """
    q = set(_WORD.findall(query.casefold()))
    salt = zlib.crc32(model.encode())
    out = []
    for p in passages:
        words = _WORD.findall(p.casefold())
        shared = len(q.intersection(words))
        density = sum(w in q for w in words) / len(words) if words else 0.0
        tie = (zlib.crc32(p.encode()) ^ salt) / 2**32
        out.append(round(-10.0 + 2.0 * shared + 1.5 * density + 0.25 * tie, 4))
    return out
