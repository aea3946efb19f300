"""NIM text reranking: ``POST /v1/ranking`` shape, ordering, truncation and errors."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockllm.testing import LiveServer, run_config, run_server, test_context

MODEL = "nvidia/llama-3.2-nv-rerankqa-1b-v2"

CONFIG = """
models:
  - {id: nvidia/llama-3.2-nv-rerankqa-1b-v2, provider: nim, context_window: 64}
rules:
  - match: {header: {x-mock-scenario: limited}}
    respond: {error: {status: 429, message: "Too many requests"}}
"""

# NIM's documentation example.
QUERY = "which way should i go?"
PASSAGES = [
    "two roads diverged in a yellow wood, and sorry i could not travel both",
    "then took the other, as just as fair, and having perhaps the better claim",
    "and both that morning equally lay in leaves no step had trodden black.",
    "i shall be telling this with a sigh somewhere ages and ages hence",
]


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with run_config(CONFIG) as live:
        yield live


def rank(
    http: httpx.Client, server: LiveServer, query: str, passages: list[str], **extra: Any
) -> httpx.Response:
    body = {"model": MODEL, "query": {"text": query},
            "passages": [{"text": p} for p in passages], **extra}
    return http.post(server.url + "/v1/ranking", json=body)


def test_shape_and_order(http: httpx.Client, server: LiveServer) -> None:
    r = rank(http, server, QUERY, PASSAGES, truncate="END")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) == {"rankings", "usage"}
    rankings = body["rankings"]
    assert sorted(x["index"] for x in rankings) == [0, 1, 2, 3]
    assert all(set(x) == {"index", "logit"} and isinstance(x["logit"], float) for x in rankings)
    logits = [x["logit"] for x in rankings]
    assert logits == sorted(logits, reverse=True)
    assert body["usage"]["prompt_tokens"] == body["usage"]["total_tokens"] > 0
    assert rank(http, server, QUERY, PASSAGES, truncate="END").json() == body  # deterministic


def test_shared_words_rank_first(http: httpx.Client, server: LiveServer) -> None:
    passages = ["bananas grow on tall plants", "the h100 gpu memory bandwidth is 3 tb/s",
                "memory of a summer"]
    rankings = rank(http, server, "h100 gpu memory bandwidth", passages).json()["rankings"]
    assert [x["index"] for x in rankings] == [1, 2, 0]


def test_more_shared_words_always_score_higher(http: httpx.Client, server: LiveServer) -> None:
    rng = random.Random(1)
    vocab = [f"word{i}" for i in range(40)]
    for _ in range(100):
        query = rng.sample(vocab, 4)
        rest = [w for w in vocab if w not in query]
        fewer, more = sorted(rng.sample(range(5), 2))
        size = rng.randint(4, 8)
        texts = [" ".join(rng.sample(query, k) + rng.sample(rest, size - k)) for k in
                 (fewer, more)]
        rankings = rank(http, server, " ".join(query), texts).json()["rankings"]
        assert rankings[0]["index"] == 1


def test_truncate(http: httpx.Client, server: LiveServer) -> None:
    long = "word " * 100  # past the 64-token context of the test model
    r = rank(http, server, QUERY, ["short", long])
    assert r.status_code == 400
    body = r.json()
    assert body["object"] == "error" and body["type"] == "invalid_request_error"
    assert body["message"].startswith("Input length ")
    assert body["message"].endswith(" exceeds maximum allowed token size 64")
    ok = rank(http, server, QUERY, ["short", long], truncate="END")
    assert ok.status_code == 200 and len(ok.json()["rankings"]) == 2
    assert rank(http, server, QUERY, ["short"], truncate="MIDDLE").status_code == 400


def test_errors(http: httpx.Client, server: LiveServer) -> None:
    missing = http.post(server.url + "/v1/ranking", json={"model": MODEL, "passages": []})
    assert missing.status_code == 400 and missing.json()["object"] == "error"
    assert rank(http, server, QUERY, []).status_code == 400
    unknown = http.post(server.url + "/v1/ranking", json={
        "model": "nvidia/nope", "query": {"text": "q"}, "passages": [{"text": "p"}]})
    assert unknown.status_code == 404 and unknown.json()["type"] == "not_found_error"
    limited = http.post(server.url + "/v1/ranking", headers={"x-mock-scenario": "limited"},
                        json={"model": MODEL, "query": {"text": "q"},
                               "passages": [{"text": "p"}]})
    assert limited.status_code == 429
    assert limited.json() == {"object": "error", "message": "Too many requests", "detail": {},
                              "type": "rate_limit_error"}
    bad = http.post(server.url + "/v1/ranking", content=b"{nope")
    assert bad.status_code == 400 and bad.json()["object"] == "error"


def test_rules_match_the_query_as_the_last_user_message(http: httpx.Client, tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("rules:\n  - match: {endpoint: nim.rankings, last_user: {contains: outage}}\n"
                   "    respond: {error: {status: 503}}\n")
    with run_server(test_context(config_path=str(cfg))) as live:
        down = rank(http, live, "is there an outage", ["a", "b"])
        assert down.status_code == 503 and down.json()["object"] == "error"
        assert rank(http, live, "all good", ["a", "b"]).status_code == 200
