"""The builtin tokenizer: tiktoken, offline, with the vocabularies shipped in the package.

``cl100k_base`` and ``o200k_base`` are read from ``plugins_builtin/vocab/`` (see the README
there for their provenance and licence) and checked against the sha256 that tiktoken itself
expects, so a count never depends on the network or on tiktoken's download cache. Another
vocabulary is used only when tiktoken's cache already holds its file, so no request ever
waits on a download; otherwise this returns None and the engine falls back to
``cl100k_base``, logged once and shown in ``GET /_mockllm/config``.

User text is ordinary text: ``<|endoftext|>`` in a prompt is counted as the characters it is
made of, the way the providers bill it, never refused as a special token.
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import tiktoken

from mockllm import hookimpl

VOCAB_DIR = Path(__file__).with_name("vocab")

#: The sha256 of each shipped file, as ``tiktoken_ext/openai_public.py`` lists it.
SHA256 = {
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
}

_ENDOFTEXT, _ENDOFPROMPT = "<|endoftext|>", "<|endofprompt|>"

# The split patterns and special tokens of tiktoken_ext/openai_public.py (tiktoken 0.7-0.14):
# tiktoken builds them inside the functions that download the files, so they are restated
# here; tests/test_tokenizers.py checks known token ids for both vocabularies.
_PATTERNS = {
    "cl100k_base": r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s""",  # noqa: E501
    "o200k_base": "|".join([
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",  # noqa: E501
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",  # noqa: E501
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]),
}
_SPECIAL = {
    "cl100k_base": {_ENDOFTEXT: 100257, "<|fim_prefix|>": 100258, "<|fim_middle|>": 100259,
                    "<|fim_suffix|>": 100260, _ENDOFPROMPT: 100276},
    "o200k_base": {_ENDOFTEXT: 199999, _ENDOFPROMPT: 200018},
}


class OrdinaryEncoding(tiktoken.Encoding):
    """A tiktoken encoding whose ``encode`` treats every character as text.

    tiktoken's own ``encode`` raises on ``<|endoftext|>``; the APIs count it as text.
    """

    def encode(self, text: str, **_: Any) -> list[int]:
        return self.encode_ordinary(text)


class VocabularyError(RuntimeError):
    """A shipped vocabulary file is missing or not the one tiktoken publishes."""


def ranks(name: str) -> dict[bytes, int]:
    """The BPE ranks of a shipped vocabulary, after checking the file's sha256."""
    path = VOCAB_DIR / f"{name}.tiktoken"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise VocabularyError(f"{path}: {exc}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256[name]:
        raise VocabularyError(f"{path}: sha256 {digest} is not tiktoken's {SHA256[name]}")
    out: dict[bytes, int] = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            out[base64.b64decode(token)] = int(rank)
    return out


@cache
def shipped(name: str) -> OrdinaryEncoding:
    """The encoding of a shipped vocabulary (built once per process)."""
    return OrdinaryEncoding(name, pat_str=_PATTERNS[name], mergeable_ranks=ranks(name),
                            special_tokens=_SPECIAL[name])


_BLOB = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"


def cache_dir() -> str:
    """Where tiktoken looks for downloaded vocabularies (same order as tiktoken.load)."""
    return (
        os.environ.get("TIKTOKEN_CACHE_DIR")
        or os.environ.get("DATA_GYM_CACHE_DIR")
        or os.path.join(tempfile.gettempdir(), "data-gym-cache")
    )


def _cached(name: str) -> bool:
    if name not in tiktoken.list_encoding_names():
        return False
    digest = hashlib.sha1(_BLOB.format(name).encode()).hexdigest()
    return os.path.exists(os.path.join(cache_dir(), digest))


def _from_cache(name: str) -> OrdinaryEncoding:
    enc = tiktoken.get_encoding(name)
    return OrdinaryEncoding(enc.name, pat_str=enc._pat_str,  # noqa: SLF001 - tiktoken's own
                            mergeable_ranks=enc._mergeable_ranks,  # noqa: SLF001
                            special_tokens=enc._special_tokens)  # noqa: SLF001


@hookimpl(trylast=True)
def mockllm_tokenizer(name: str) -> Any:
    if name in SHA256:
        return shipped(name)
    if _cached(name):
        return _from_cache(name)
    return None
