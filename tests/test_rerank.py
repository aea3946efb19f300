"""Rerank through the real cohere SDK (``ClientV2`` on /v2/rerank, ``Client`` on /v1/rerank)
and vLLM's /rerank shape: ordering, top_n, documents, billing and Cohere's errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import cohere
import httpx
import pytest

from mockllm.testing import LiveServer, run_config

CONFIG = """
models:
  - {id: rerank-v3.5, provider: cohere, context_window: 4096}
  - {id: rerank-tiny, provider: cohere, context_window: 64}
  - {id: BAAI/bge-reranker-v2-m3, provider: vllm, context_window: 64}
rules:
  - match: {endpoint: rerank, header: {x-mock-scenario: limited}}
    respond: {error: {status: 429, message: "too many requests", retry_after: 2}}
"""

# Cohere's documentation example.
QUERY = "What is the capital of the United States?"
DOCS = [
    "Carson City is the capital city of the American state of Nevada.",
    "The Commonwealth of the Northern Mariana Islands is a group of islands in the Pacific "
    "Ocean. Its capital is Saipan.",
    "Capitalization or capitalisation in English grammar is the use of a capital letter at "
    "the start of a word.",
    "Washington, D.C. (also known as simply Washington or D.C.) is the capital of the United "
    "States. It is a federal district.",
    "Capital punishment has existed in the United States since before it was a country.",
]


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with run_config(CONFIG) as live:
        yield live


@pytest.fixture(scope="module")
def v2(server: LiveServer) -> Iterator[cohere.ClientV2]:
    client = cohere.ClientV2(base_url=server.url, api_key="x")
    yield client
    client._client_wrapper.httpx_client.httpx_client.close()


@pytest.fixture(scope="module")
def v1(server: LiveServer) -> Iterator[cohere.Client]:
    client = cohere.Client(base_url=server.url, api_key="x")
    yield client
    client._client_wrapper.httpx_client.httpx_client.close()


def test_v2_orders_by_relevance(v2: cohere.ClientV2) -> None:
    r = v2.rerank(model="rerank-v3.5", query=QUERY, documents=DOCS)
    assert r.id and r.meta and r.meta.api_version and r.meta.api_version.version == "2"
    assert r.meta.billed_units and r.meta.billed_units.search_units == 1
    assert sorted(x.index for x in r.results) == list(range(len(DOCS)))
    scores = [x.relevance_score for x in r.results]
    assert scores == sorted(scores, reverse=True) and all(0 < s < 1 for s in scores)
    assert r.results[0].index == 3  # the one document that answers the question
    again = v2.rerank(model="rerank-v3.5", query=QUERY, documents=DOCS)
    assert [(x.index, x.relevance_score) for x in again.results] == \
        [(x.index, x.relevance_score) for x in r.results]  # deterministic


def test_v2_top_n_and_no_documents_returned(v2: cohere.ClientV2, http: httpx.Client,
                                            server: LiveServer) -> None:
    r = v2.rerank(model="rerank-v3.5", query=QUERY, documents=DOCS, top_n=2)
    full = v2.rerank(model="rerank-v3.5", query=QUERY, documents=DOCS)
    assert [x.index for x in r.results] == [x.index for x in full.results[:2]]
    raw = http.post(server.url + "/v2/rerank", json={
        "model": "rerank-v3.5", "query": QUERY, "documents": DOCS, "top_n": 50}).json()
    assert set(raw) == {"id", "results", "meta"} and len(raw["results"]) == len(DOCS)
    assert all(set(x) == {"index", "relevance_score"} for x in raw["results"])
    assert raw["meta"] == {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}}


def test_v1_documents_objects_and_rank_fields(v1: cohere.Client) -> None:
    docs: list[Any] = [{"text": d, "title": f"doc {i}"} for i, d in enumerate(DOCS)]
    r = v1.rerank(model="rerank-v3.5", query=QUERY, documents=docs, top_n=3,
                  return_documents=True)
    assert r.meta and r.meta.api_version and r.meta.api_version.version == "1"
    assert len(r.results) == 3 and r.results[0].index == 3
    first = r.results[0].document
    assert first is not None and first.text == DOCS[3]
    assert first.dict()["title"] == "doc 3"  # every field of the document comes back
    plain = v1.rerank(model="rerank-v3.5", query=QUERY, documents=DOCS)
    assert all(x.document is None for x in plain.results)  # return_documents defaults off
    # rank_fields: the model reads only the named fields, so the title decides here.
    fielded = [{"title": "capital of the United States", "body": "unrelated"},
               {"title": "gardening", "body": "What is the capital of the United States?"}]
    by_title = v1.rerank(model="rerank-v3.5", query=QUERY, documents=fielded,
                         rank_fields=["title"])
    assert by_title.results[0].index == 0
    by_body = v1.rerank(model="rerank-v3.5", query=QUERY, documents=fielded,
                        rank_fields=["body"])
    assert by_body.results[0].index == 1


def test_v1_model_defaults_to_a_cohere_reranker(http: httpx.Client, server: LiveServer) -> None:
    r = http.post(server.url + "/v1/rerank", json={"query": QUERY, "documents": DOCS})
    assert r.status_code == 200 and r.json()["results"][0]["index"] == 3
    v2 = http.post(server.url + "/v2/rerank", json={"query": QUERY, "documents": DOCS})
    assert v2.status_code == 400
    assert v2.json()["message"] == "invalid request: model is required"


def test_long_documents_truncated_and_billed_by_chunk(http: httpx.Client,
                                                      server: LiveServer) -> None:
    long = " ".join(["capital"] * 500)
    body = {"model": "rerank-tiny", "query": QUERY, "documents": [long, *DOCS]}
    v1 = http.post(server.url + "/v1/rerank", json=body).json()
    # 64-token window minus the query: a 500-token document is several chunks.
    assert v1["meta"]["billed_units"]["search_units"] == 1
    # 30 documents of 10 chunks each (the 54-token window left by the query): 3 units.
    many = {**body, "documents": [long] * 30}
    assert http.post(server.url + "/v1/rerank", json=many).json()[
        "meta"]["billed_units"]["search_units"] == 3
    v2 = http.post(server.url + "/v2/rerank", json={**body, "max_tokens_per_doc": 10})
    assert v2.status_code == 200 and len(v2.json()["results"]) == len(DOCS) + 1


def test_vllm_rerank_shape(http: httpx.Client, server: LiveServer) -> None:
    body = {"model": "BAAI/bge-reranker-v2-m3", "query": QUERY, "documents": DOCS, "top_n": 2}
    r = http.post(server.url + "/rerank", json=body)
    assert r.status_code == 200
    out = r.json()
    assert set(out) == {"id", "model", "usage", "results"}
    assert out["model"] == "BAAI/bge-reranker-v2-m3" and out["usage"]["total_tokens"] > 0
    assert [x["index"] for x in out["results"]] == [3, out["results"][1]["index"]]
    assert out["results"][0]["document"] == {"text": DOCS[3]}
    bare = http.post(server.url + "/rerank", json={**body, "return_documents": False}).json()
    assert all(set(x) == {"index", "relevance_score"} for x in bare["results"])
    # A pair over the context window is refused unless the client asks for truncation.
    long = {**body, "documents": [" ".join(["capital"] * 200)]}
    assert http.post(server.url + "/rerank", json=long).status_code == 400
    cut = http.post(server.url + "/rerank", json={**long, "truncate_prompt_tokens": 60})
    assert cut.status_code == 200


@pytest.mark.parametrize(("body", "message"), [
    ({"model": "rerank-v3.5", "documents": DOCS}, "invalid request: query must not be empty"),
    ({"model": "rerank-v3.5", "query": QUERY},
     "invalid request: list of documents must not be empty"),
    ({"model": "rerank-v3.5", "query": QUERY, "documents": []},
     "invalid request: list of documents must not be empty"),
    ({"model": "rerank-v3.5", "query": QUERY, "documents": DOCS, "top_n": 0},
     "invalid request: top_n must be at least 1"),
    ({"model": "rerank-v3.5", "query": QUERY, "documents": ["x"] * 10_001},
     "invalid request: too many documents: 10001, the maximum is 10000"),
    ({"model": "rerank-v3.5", "query": QUERY, "documents": [{"title": "no text"}]},
     "invalid request: document at index 0 must have a 'text' field that is a string (or "
     "name its fields in rank_fields)"),
])
def test_bad_requests(http: httpx.Client, server: LiveServer, body: dict[str, Any],
                      message: str) -> None:
    for path in ("/v1/rerank", "/v2/rerank"):
        r = http.post(server.url + path, json=body)
        assert r.status_code == 400, path
        assert set(r.json()) == {"id", "message"} and r.json()["message"] == message


def test_errors_through_the_sdk(server: LiveServer, v2: cohere.ClientV2) -> None:
    with pytest.raises(cohere.NotFoundError) as missing:
        v2.rerank(model="nope", query=QUERY, documents=DOCS)
    assert missing.value.body["message"].startswith("model 'nope' not found")
    with pytest.raises(cohere.BadRequestError):
        v2.rerank(model="rerank-v3.5", query="", documents=DOCS)
    limited = cohere.ClientV2(base_url=server.url, api_key="x", timeout=30,
                              httpx_client=httpx.Client(headers={"x-mock-scenario": "limited"}))
    with pytest.raises(cohere.TooManyRequestsError) as err:
        limited.rerank(model="rerank-v3.5", query=QUERY, documents=DOCS,
                       request_options={"max_retries": 0})
    assert err.value.body["message"] == "too many requests"
    assert err.value.headers is not None and err.value.headers["retry-after"] == "2"
    limited._client_wrapper.httpx_client.httpx_client.close()


def test_malformed_and_wrong_types(http: httpx.Client, server: LiveServer) -> None:
    broken = http.post(server.url + "/v2/rerank", content=b"{nope")
    assert broken.status_code == 400 and broken.json()["message"].startswith("invalid request")
    typed = http.post(server.url + "/v2/rerank", json={"model": "rerank-v3.5", "query": 5,
                                                       "documents": DOCS})
    assert typed.status_code == 400 and "query" in typed.json()["message"]
    assert http.get(server.url + "/v2/rerank").status_code == 405
    unknown = http.post(server.url + "/v2/nothing", json={})
    assert unknown.status_code == 404 and set(unknown.json()) == {"id", "message"}


def test_api_key_checked() -> None:
    with run_config(CONFIG + "server: {api_keys: [co-secret]}\n") as live:
        ok = cohere.ClientV2(base_url=live.url, api_key="co-secret")
        assert ok.rerank(model="rerank-v3.5", query=QUERY, documents=DOCS).results
        wrong = cohere.ClientV2(base_url=live.url, api_key="co-wrong")
        with pytest.raises(cohere.UnauthorizedError) as err:
            wrong.rerank(model="rerank-v3.5", query=QUERY, documents=DOCS)
        assert err.value.body["message"] == "invalid api token"
        for c in (ok, wrong):
            c._client_wrapper.httpx_client.httpx_client.close()


def test_journal_records_rerank(http: httpx.Client, server: LiveServer) -> None:
    http.delete(server.url + "/_mockllm/requests")
    http.post(server.url + "/v2/rerank", json={"model": "rerank-v3.5", "query": QUERY,
                                               "documents": DOCS})
    entries = http.get(server.url + "/_mockllm/requests").json()["requests"]
    assert [(e["endpoint"], e["model"], e["status"]) for e in entries] == [
        ("rerank", "rerank-v3.5", 200)]


def test_strict_mode_refuses_unknown_fields(http: httpx.Client, server: LiveServer) -> None:
    body = {"model": "rerank-v3.5", "query": QUERY, "documents": DOCS, "colour": "blue"}
    assert http.post(server.url + "/v2/rerank", json=body).status_code == 200  # lenient
    with run_config(CONFIG + "server: {strict: true}\n") as strict:
        r = http.post(strict.url + "/v2/rerank", json=body)
        assert r.status_code == 400
        assert r.json()["message"] == "invalid request: unknown field 'colour'"
        known = {k: v for k, v in body.items() if k != "colour"}
        assert http.post(strict.url + "/v2/rerank", json={**known, "top_n": 1}).status_code == 200
