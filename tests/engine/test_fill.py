"""Answer lengths: a natural stop by default, exact lengths for load testers (--osl N)."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from mockllm.app import build_app
from mockllm.engine.behaviour import natural_length
from mockllm.engine.schema import Count
from mockllm.testing import test_context


def _chat(client: TestClient, content: str = "hi", **extra: object) -> dict[str, object]:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": content}], **extra}
    return client.post("/v1/chat/completions", json=body).json()  # type: ignore[no-any-return]


def test_embedded_default_stops_on_its_own_before_the_limit() -> None:
    with TestClient(build_app(test_context())) as client:
        lengths = set()
        for i in range(12):
            out = _chat(client, f"question {i}", max_completion_tokens=4000)
            assert out["choices"][0]["finish_reason"] == "stop"  # type: ignore[index]
            n = out["usage"]["completion_tokens"]  # type: ignore[index]
            assert 12 <= n <= 400
            lengths.add(n)
            again = _chat(client, f"question {i}", max_completion_tokens=4000)
            assert again["choices"] == out["choices"]  # the same request, the same answer
        assert len(lengths) > 6  # lengths vary with the prompt


def test_the_same_seed_gives_the_same_answer() -> None:
    with TestClient(build_app(test_context())) as client:
        a = _chat(client, "one", seed=7)
        b = _chat(client, "one", seed=7)
        assert a["choices"] == b["choices"] and a["usage"] == b["usage"]


def test_a_low_limit_cuts_the_answer() -> None:
    with TestClient(build_app(test_context())) as client:
        out = _chat(client, max_tokens=5)
        assert out["usage"]["completion_tokens"] == 5  # type: ignore[index]
        assert out["choices"][0]["finish_reason"] == "length"  # type: ignore[index]


def test_ignore_eos_and_min_tokens_give_exact_lengths() -> None:
    with TestClient(build_app(test_context())) as client:
        out = _chat(client, max_tokens=700, ignore_eos=True)
        assert out["usage"]["completion_tokens"] == 700  # type: ignore[index]
        assert out["choices"][0]["finish_reason"] == "length"  # type: ignore[index]
        out = _chat(client, max_tokens=900, min_tokens=500)
        assert out["usage"]["completion_tokens"] == 500  # type: ignore[index]
        assert out["choices"][0]["finish_reason"] == "stop"  # type: ignore[index]


def test_fill_runs_to_the_limit(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("defaults: {respond: {generate: {fill: true}}}\n")
    with TestClient(build_app(test_context(config_path=str(cfg)))) as client:
        out = _chat(client, max_completion_tokens=50)
        assert out["usage"]["completion_tokens"] == 50  # type: ignore[index]
        assert out["choices"][0]["finish_reason"] == "length"  # type: ignore[index]


def test_a_fixed_length_or_range_keeps_its_own_length(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("defaults: {respond: {generate: {tokens: 20}}}\n"
                   "rules: [{match: {last_user: range}, "
                   "respond: {generate: {tokens: {min: 30, max: 35}}}}]\n")
    with TestClient(build_app(test_context(config_path=str(cfg)))) as client:
        out = _chat(client, max_tokens=50)
        assert out["usage"]["completion_tokens"] == 20  # type: ignore[index]
        assert out["choices"][0]["finish_reason"] == "stop"  # type: ignore[index]
        for i in range(5):
            n = _chat(client, f"range {i}")["usage"]["completion_tokens"]  # type: ignore[index]
            assert 30 <= n <= 35


def test_natural_length_is_long_tailed_and_in_range() -> None:
    lengths = [natural_length(None, seed) for seed in range(2000)]
    assert min(lengths) >= 12 and max(lengths) <= 400
    short = sum(n < 70 for n in lengths)
    assert 0.4 < short / len(lengths) < 0.75  # log-uniform: the median is ~70 tokens
    assert {natural_length(Count(min=3, max=3), s) for s in range(20)} == {3}
