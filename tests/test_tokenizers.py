"""The shipped vocabularies: tiktoken's own files and hashes, offline, special tokens as text."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockllm.testing import LiveServer, run_server, test_context
from plugins_builtin import tokenizers
from plugins_builtin.tokenizers import SHA256, VocabularyError, ranks, shipped

SPECIAL = "<|endoftext|> and <|fim_prefix|>x<|fim_suffix|>y<|fim_middle|> <|endofprompt|>"


def _tiktoken_hashes() -> dict[str, str]:
    """The expected_hash of each vocabulary in the installed tiktoken's source."""
    spec = importlib.util.find_spec("tiktoken_ext.openai_public")
    assert spec is not None and spec.origin is not None
    source = Path(spec.origin).read_text()
    found = re.findall(r'encodings/(\w+)\.tiktoken",\s*expected_hash="([0-9a-f]{64})"', source)
    return dict(found)


def test_the_shipped_files_are_the_ones_tiktoken_expects() -> None:
    published = _tiktoken_hashes()
    for name, digest in SHA256.items():
        assert published[name] == digest
        assert (tokenizers.VOCAB_DIR / f"{name}.tiktoken").is_file()


@pytest.mark.parametrize(("name", "text", "ids"), [
    ("cl100k_base", "hello world", [15339, 1917]),
    ("o200k_base", "hello world", [24912, 2375]),
    ("o200k_base", "Hello, world!", [13225, 11, 2375, 0]),
    ("cl100k_base", "Hello, world!", [9906, 11, 1917, 0]),
])
def test_known_token_ids(name: str, text: str, ids: list[int]) -> None:
    enc = shipped(name)
    assert enc.encode(text) == ids
    assert enc.decode(ids) == text


def test_o200k_is_its_own_vocabulary_not_a_fallback() -> None:
    assert shipped("o200k_base").n_vocab == 200019
    assert shipped("cl100k_base").n_vocab == 100277
    text = "Anthropic und OpenAI zählen Tokens unterschiedlich."
    assert shipped("o200k_base").encode(text) != shipped("cl100k_base").encode(text)


@pytest.mark.parametrize("name", sorted(SHA256))
def test_special_tokens_in_text_are_ordinary_text(name: str) -> None:
    enc = shipped(name)
    ids = enc.encode(SPECIAL)
    assert enc.decode(ids) == SPECIAL
    assert not set(ids) & set(enc._special_tokens.values())  # noqa: SLF001


def test_a_file_that_is_not_tiktokens_is_refused(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    (tmp_path / "cl100k_base.tiktoken").write_bytes(b"aGk= 0\n")
    monkeypatch.setattr(tokenizers, "VOCAB_DIR", tmp_path)
    with pytest.raises(VocabularyError, match="sha256"):
        ranks("cl100k_base")
    with pytest.raises(VocabularyError, match="o200k_base"):
        ranks("o200k_base")


# -- every POST endpoint that reads text ------------------------------------------------

@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    with run_server(test_context()) as server:
        yield server


_ANTHROPIC = {"anthropic-version": "2023-06-01", "x-api-key": "k"}
_MSG = [{"role": "user", "content": SPECIAL}]

ENDPOINTS: list[tuple[str, dict[str, Any], dict[str, str]]] = [
    ("/v1/chat/completions", {"model": "gpt-4o", "messages": _MSG}, {}),
    ("/v1/chat/completions", {"model": "gpt-4o", "messages": _MSG, "stream": True}, {}),
    ("/v1/completions", {"model": "gpt-3.5-turbo-instruct", "prompt": SPECIAL}, {}),
    ("/v1/embeddings", {"model": "text-embedding-3-small", "input": SPECIAL}, {}),
    ("/v1/responses", {"model": "gpt-4o", "input": SPECIAL}, {}),
    ("/v1/responses", {"model": "gpt-4o", "input": SPECIAL, "stream": True}, {}),
    ("/v1/messages", {"model": "claude-haiku-4-5", "max_tokens": 16, "messages": _MSG},
     _ANTHROPIC),
    ("/v1/messages", {"model": "claude-haiku-4-5", "max_tokens": 16, "messages": _MSG,
                      "stream": True}, _ANTHROPIC),
    ("/v1/messages/count_tokens", {"model": "claude-haiku-4-5", "messages": _MSG}, _ANTHROPIC),
    ("/v1/ranking", {"model": "nvidia/nv-rerankqa-mistral-4b-v3", "query": {"text": SPECIAL},
                     "passages": [{"text": SPECIAL}]}, {}),
    ("/api/chat", {"model": "llama3.2", "messages": _MSG, "stream": False}, {}),
    ("/api/chat", {"model": "llama3.2", "messages": _MSG}, {}),
    ("/api/generate", {"model": "llama3.2", "prompt": SPECIAL, "stream": False}, {}),
    ("/api/embed", {"model": "nomic-embed-text", "input": SPECIAL}, {}),
    ("/api/embeddings", {"model": "nomic-embed-text", "prompt": SPECIAL}, {}),
]


@pytest.mark.parametrize(("path", "body", "headers"), ENDPOINTS,
                         ids=[f"{p}{'-stream' if b.get('stream') else ''}"
                              for p, b, _ in ENDPOINTS])
def test_special_tokens_are_text_on_every_post_endpoint(
    http: httpx.Client, live: LiveServer, path: str, body: dict[str, Any], headers: dict[str, str]
) -> None:
    r = http.post(live.url + path, json=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.content  # a whole answer or a whole stream, not an error


def test_special_tokens_are_counted_as_their_characters(
    http: httpx.Client, live: LiveServer
) -> None:
    r = http.post(live.url + "/v1/embeddings",
                  json={"model": "text-embedding-3-small", "input": SPECIAL})
    assert r.json()["usage"]["prompt_tokens"] == len(shipped("cl100k_base").encode(SPECIAL))
