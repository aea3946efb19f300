"""Engine.prepare (engine/prepare.py): what a large request measures in a worker thread
is what the plan would have measured itself, and a request the plan refuses is left to it."""

from __future__ import annotations

from mockllm.engine.request import NeutralRequest

from .conftest import _TOKENIZERS, chat, engine

_TEXT = "the quick brown fox jumps over the lazy dog " * 8000  # ~350 KB


def test_a_prepared_prompt_plans_as_an_unprepared_one() -> None:
    e = engine("rules: []")
    ahead = chat(_TEXT)
    e.prepare(ahead)
    assert ahead.measured is not None
    assert e.plan(ahead).prompt_tokens == e.plan(chat(_TEXT)).prompt_tokens
    assert ahead.measured.prompt_tokens == e.plan(chat(_TEXT)).prompt_tokens


def _embed(*inputs: str, **kw: object) -> NeutralRequest:
    return NeutralRequest("openai.embeddings", "openai", "emb", inputs=list(inputs),
                          **kw)  # type: ignore[arg-type]


def test_prepared_vectors_are_the_plans_own() -> None:
    e = engine("rules: []")
    texts = [f"passage {i} about rivers" for i in range(40)]
    ahead = _embed(*texts, dimensions=16)
    e.prepare(ahead)
    assert ahead.measured is not None and ahead.measured.dims == 16
    plan = e.plan(ahead)
    assert plan.embeddings == e.plan(_embed(*texts, dimensions=16)).embeddings
    assert plan.prompt_tokens == e.plan(_embed(*texts, dimensions=16)).prompt_tokens


def test_a_configured_vector_wins_over_a_prepared_one() -> None:
    e = engine("rules: [{respond: {embedding: [3, 4]}}]")
    ahead = _embed("a", "b", dimensions=2)
    e.prepare(ahead)
    assert e.plan(ahead).embeddings == [[0.6, 0.8], [0.6, 0.8]]


def test_what_the_plan_refuses_is_left_to_it() -> None:
    e = engine("server: {limits: {prompt_bytes: 1000}}")
    too_big, unknown = chat("x" * 2000), chat("hi", model="no-such-model")
    e.prepare(too_big)
    e.prepare(unknown)
    assert too_big.measured is None and unknown.measured is None
    assert e.plan(too_big).error is not None


def test_a_bills_cached_total_is_the_sum_of_its_texts() -> None:
    from mockllm.engine import tokens
    from mockllm.engine.tokens import count, count_texts

    tok = _TOKENIZERS.get("cl100k_base")
    texts = ["user", "a prompt seen for the first time here", "", "system", "be brief"]
    assert count_texts(tok, texts) == sum(count(tok, t) for t in texts)
    assert (id(tok), tok, *texts) in tokens.COUNTS  # the next one is a single look-up
    assert count_texts(tok, texts) == sum(count(tok, t) for t in texts)
    assert count_texts(tok, texts[:2]) == count(tok, texts[0]) + count(tok, texts[1])
    many = [f"turn {i}" for i in range(40)]  # past the cached length: summed, not kept
    assert count_texts(tok, many) == sum(count(tok, t) for t in many)
    assert (id(tok), tok, *many) not in tokens.COUNTS
    big = ["x " * 5000]  # past the cached characters
    assert count_texts(tok, big) == count(tok, big[0])
    assert (id(tok), tok, *big) not in tokens.COUNTS
