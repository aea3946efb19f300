"""server.memory: every cache and store is bounded by bytes, least recently used first
(issue 16: a soak grew 359 MB; one stored Response was megabytes; 16k-token seeds 1.1 MB)."""

from __future__ import annotations

import asyncio
from array import array
from collections.abc import Iterator

import openai
import pytest

from mockllm.bytecache import ENTRY_OVERHEAD, ByteLRU
from mockllm.config import ConfigError, parse
from mockllm.engine import tokens, vectors
from mockllm.journal import Journal
from mockllm.observe import Observation
from mockllm.state.memory import BoundedStore
from mockllm.testing import run_config
from plugins_builtin.tokenizers import mockllm_tokenizer


@pytest.fixture()
def small_caches() -> Iterator[None]:
    """Small budgets for one test; the process's caches are back at their defaults after."""
    tokens.budget(64 * 1024)
    vectors.budget(64 * 1024)
    yield
    for cache in (tokens.GENERATED, tokens.PIECES, tokens.COUNTS, vectors.WORDS,
                  vectors.TEXTS):
        cache.clear()
    tokens.budget(tokens.TEXT_CACHE_BYTES)
    vectors.budget(vectors.EMBEDDING_CACHE_BYTES)


def test_byte_lru_evicts_the_least_recently_used_by_bytes() -> None:
    lru: ByteLRU[str, bytes] = ByteLRU(3 * (100 + ENTRY_OVERHEAD))
    for k in "abc":
        lru.put(k, b"x" * 100, 100)
    assert lru.get("a") is not None  # "a" is now the most recent: "b" goes first
    lru.put("d", b"x" * 100, 100)
    assert "b" not in lru and all(k in lru for k in "acd")
    assert lru.bytes == 3 * (100 + ENTRY_OVERHEAD) and lru.evictions == 1
    lru.put("big", b"x" * 10_000, 10_000)  # larger than the whole budget: not kept
    assert "big" not in lru and len(lru) == 3
    lru.resize(100 + ENTRY_OVERHEAD)
    assert list(k for k in "acd" if k in lru) == ["d"]


def test_generated_texts_are_bounded_by_bytes(small_caches: None) -> None:
    tok = mockllm_tokenizer("o200k_base")
    assert tok is not None
    first = tokens.generate(tok, 2000, seed=1)
    for seed in range(2, 40):  # ~16 KB each: far past 32 KB
        tokens.generate(tok, 2000, seed)
    assert tokens.GENERATED.bytes <= tokens.GENERATED.budget == 32 * 1024
    assert tokens.GENERATED.evictions > 0
    assert tokens.generate(tok, 2000, seed=1) == first  # evicted, made again: the same


def test_embeddings_are_packed_float32_and_bounded_by_bytes(small_caches: None) -> None:
    vec = vectors.embed("the sky is blue", 256, "text-embedding-3-small")
    assert isinstance(vec, array) and vec.typecode == "f"
    for i in range(200):  # 1 KB each: past the 48 KB for whole texts
        vectors.embed(f"document {i}", 256, "text-embedding-3-small")
    assert vectors.TEXTS.bytes <= vectors.TEXTS.budget == 48 * 1024
    assert vectors.TEXTS.evictions > 0
    assert vectors.embed("the sky is blue", 256, "text-embedding-3-small") == vec


def test_store_evicts_by_bytes() -> None:
    async def go() -> None:
        store: BoundedStore[str] = BoundedStore(1000, str, max_bytes=3 * (1000 + 200))
        for k in "abc":
            await store.put(k, k * 1000)
        await store.get("a")  # used: "b" is now the least recent
        await store.put("d", "d" * 1000)
        assert [await store.get(k) is not None for k in "abcd"] == [True, False, True, True]
        assert store.bytes <= store.max_bytes
    asyncio.run(go())


def _obs(body: bytes) -> Observation:
    return Observation(endpoint="openai.chat", start=0.0, body=body)


def test_journal_bodies_are_bounded_by_bytes() -> None:
    journal = Journal(size=100, body_bytes=10_000)
    for _ in range(10):
        journal.record(_obs(b"x" * 4000))
    assert journal.kept <= 10_000
    bodies = [e.body for e in journal.query()]
    assert len(bodies) == 10  # the entries stay; the oldest lost their bodies
    assert bodies[:8] == [""] * 8 and bodies[8:] == ["x" * 4000] * 2
    journal.budget(0)
    assert journal.kept == 0 and all(e.body == "" for e in journal.query())


def test_journal_body_bytes_follow_the_ring() -> None:
    journal = Journal(size=3, body_bytes=10_000)
    for _ in range(10):  # the ring drops the oldest: their bytes are no longer counted
        journal.record(_obs(b"y" * 3000))
    assert len(journal) == 3 and journal.kept == 9000
    assert all(e.body for e in journal.query())


def test_a_negative_budget_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"server\.memory\.store_bytes"):
        parse("server: {memory: {store_bytes: -1}}\n", "t.yaml")


def test_a_response_evicted_by_the_store_budget_is_a_404() -> None:
    """Past ``store_bytes`` the least recently used response is gone, as a deleted one."""
    with run_config("server: {memory: {store_bytes: 30000}}\n") as live, \
            openai.OpenAI(base_url=live.openai_url, api_key="k", max_retries=0) as client:
        first = client.responses.create(model="gpt-4o", input="hi", max_output_tokens=200)
        assert client.responses.retrieve(first.id).id == first.id
        later = [client.responses.create(model="gpt-4o", input=f"hi {i}",
                                         max_output_tokens=200).id for i in range(30)]
        with pytest.raises(openai.NotFoundError) as err:
            client.responses.retrieve(first.id)
        assert err.value.body == {  # the API's own 404, as for a deleted response
            "message": f"Response with id '{first.id}' not found.",
            "type": "invalid_request_error", "param": "response_id", "code": None}
        with pytest.raises(openai.NotFoundError) as err:
            client.responses.create(model="gpt-4o", input="more",
                                    previous_response_id=first.id)
        assert err.value.body["param"] == "previous_response_id"  # type: ignore[index]
        assert client.responses.retrieve(later[-1]).id == later[-1]  # the newest stay
