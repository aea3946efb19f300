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
import zlib
from functools import lru_cache

_WORD = re.compile(r"\w+")
_MAX_WORDS = 8


@lru_cache(maxsize=8192)
def _word_vector(word: str, dims: int, salt: int) -> tuple[float, ...]:
    rng = random.Random(zlib.crc32(word.encode()) ^ salt)
    return tuple(rng.random() - 0.5 for _ in range(dims))


@lru_cache(maxsize=2048)
def embed(text: str, dims: int, model: str) -> tuple[float, ...]:
    """A unit vector of ``dims`` numbers for ``text`` (cached)."""
    salt = zlib.crc32(model.encode())
    # A few distinct words carry the similarity; more would cost time on the hot path.
    words = list(dict.fromkeys(_WORD.findall(text.casefold())))[:_MAX_WORDS] or [text]
    acc: list[float] | tuple[float, ...] = _word_vector(words[0], dims, salt)
    for w in words[1:]:
        acc = list(map(operator.add, acc, _word_vector(w, dims, salt)))
    # The whole text's own vector keeps two texts with the same first words apart.
    acc = list(map(operator.add, acc, _word_vector(text, dims, salt ^ 1)))
    return _unit(acc)


def fixed(vector: list[float], dims: int) -> tuple[float, ...]:
    """A configured vector: used as given when ``dims`` matches, else cut or padded by
    repeating it, then normalised so it stays a unit vector."""
    if len(vector) != dims:
        vector = [vector[i % len(vector)] for i in range(dims)]
    return _unit(vector)


def _unit(v: list[float] | tuple[float, ...]) -> tuple[float, ...]:
    norm = math.sqrt(sum(map(operator.mul, v, v))) or 1.0
    return tuple(x / norm for x in v)


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
