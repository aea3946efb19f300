"""vLLM's /tokenize, /detokenize and /version (vLLM has no client library for them)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from mockllm.testing import LiveServer, run_server, test_context


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with run_server(test_context()) as live:
        yield live


def test_tokenize_counts_what_completions_usage_counts(server: LiveServer) -> None:
    prompt = "The quick brown fox jumps over the lazy dog."
    r = httpx.post(f"{server.url}/tokenize", json={"model": "gpt-3.5-turbo-instruct",
                                                     "prompt": prompt,
                                                     "return_token_strs": True})
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == len(body["tokens"]) and body["max_model_len"] == 4096
    assert "".join(body["token_strs"]) == prompt
    with openai.OpenAI(base_url=server.openai_url, api_key="x", max_retries=0) as oa:
        c = oa.completions.create(model="gpt-3.5-turbo-instruct", prompt=prompt, max_tokens=3)
    assert c.usage is not None and c.usage.prompt_tokens == body["count"]
    back = httpx.post(f"{server.url}/detokenize", json={"model": "gpt-3.5-turbo-instruct",
                                                         "tokens": body["tokens"]})
    assert back.json() == {"prompt": prompt}


def test_errors_and_version(server: LiveServer) -> None:
    assert httpx.get(f"{server.url}/version").json()["version"]
    bad = httpx.post(f"{server.url}/tokenize", json={"model": "nope", "prompt": "x"})
    assert bad.status_code == 404 and bad.json()["error"]["type"] == "NotFoundError"
    missing = httpx.post(f"{server.url}/tokenize", json={"model": "gpt-4o"})
    assert missing.status_code == 400 and missing.json()["error"]["code"] == 400
    broken = httpx.post(f"{server.url}/tokenize", content=b"{no")
    assert broken.status_code == 400
    out_of_vocab = httpx.post(f"{server.url}/detokenize",
                              json={"model": "gpt-4o", "tokens": [10**9]})
    assert out_of_vocab.status_code == 400
    no_model = httpx.post(f"{server.url}/tokenize", json={"prompt": "hi there"})
    assert no_model.status_code == 200 and no_model.json()["count"] >= 1


def test_api_keys_guard_only_the_v1_routes_as_vllm_does() -> None:
    # vLLM's --api-key middleware checks only paths under /v1 (its AuthenticationMiddleware:
    # "the request path doesn't start with /v1" skips it): /tokenize, /detokenize and
    # /version answer without a key; the OpenAI routes do not.
    from mockllm.testing import run_config
    with run_config("server: {api_keys: [sk-vllm]}\n") as live:
        tok = httpx.post(f"{live.url}/tokenize", json={"prompt": "hi there"})
        assert tok.status_code == 200 and tok.json()["count"] >= 1
        back = httpx.post(f"{live.url}/detokenize", json={"tokens": tok.json()["tokens"]})
        assert back.status_code == 200 and back.json() == {"prompt": "hi there"}
        assert httpx.get(f"{live.url}/version").status_code == 200
        with openai.OpenAI(base_url=live.openai_url, api_key="wrong", max_retries=0) as oa, \
                pytest.raises(openai.AuthenticationError):
            oa.completions.create(model="gpt-3.5-turbo-instruct", prompt="x", max_tokens=2)
        with openai.OpenAI(base_url=live.openai_url, api_key="sk-vllm", max_retries=0) as oa:
            assert oa.completions.create(model="gpt-3.5-turbo-instruct", prompt="x",
                                         max_tokens=2).choices
