"""Stateful quotas (engine/quotas.py) through the real SDKs: RPM and TPM per API key, per
header value and per model, the providers' 429s and rate-limit headers on every answer."""

from __future__ import annotations

import time
from collections.abc import Iterator

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from mockllm.config import ConfigError, parse
from mockllm.engine.quotas import Quota, Quotas
from mockllm.state.memory import MemoryState
from mockllm.testing import LiveServer, run_config

CONFIG = """
models:
  - {id: gpt-4o, provider: openai}
  - {id: gpt-4o-mini, provider: openai}
  - {id: claude-sonnet-4-5, provider: anthropic}
  - {id: gemini-2.5-flash, provider: gemini}
quotas:
  - {per: api_key, models: ["gpt-4o"], rpm: 3}
  - {per: "header:x-tenant", models: ["gpt-4o-mini"], tpm: 60}
  - {per: model, models: ["claude-*"], rpm: 2, tpm: 100000}
  - {per: api_key, models: ["gemini-*"], rpm: 1}
"""


def away_from_a_window_edge() -> None:
    """Quotas count in calendar minutes; start a test well inside one."""
    left = 60 - time.time() % 60
    if left < 15:
        time.sleep(left + 0.1)


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    with run_config(CONFIG) as server:
        yield server


def _chat(live: LiveServer, key: str, model: str = "gpt-4o", **kw: object) -> object:
    with openai.OpenAI(base_url=live.url + "/v1", api_key=key, max_retries=0) as client:
        return client.chat.completions.with_raw_response.create(
            model=model, messages=[{"role": "user", "content": "hi"}], max_tokens=8,
            **kw)  # type: ignore[call-overload]


def test_rpm_per_api_key_counts_down_then_429s_with_openai_headers(live: LiveServer) -> None:
    away_from_a_window_edge()
    remaining = []
    for _ in range(3):
        r = _chat(live, "key-a")
        remaining.append(r.headers["x-ratelimit-remaining-requests"])  # type: ignore[attr-defined]
        assert r.headers["x-ratelimit-limit-requests"] == "3"  # type: ignore[attr-defined]
        reset = r.headers["x-ratelimit-reset-requests"]  # type: ignore[attr-defined]
        assert reset.endswith("s") and 0 < float(reset.rstrip("ms")) <= 60
    assert remaining == ["2", "1", "0"]
    with pytest.raises(openai.RateLimitError) as err:
        _chat(live, "key-a")
    e = err.value
    assert e.code == "rate_limit_exceeded" and e.type == "requests"
    assert "on requests per min (RPM): Limit 3, Used 3, Requested 1" in e.message
    assert e.response.headers["x-ratelimit-remaining-requests"] == "0"
    assert 1 <= int(e.response.headers["retry-after"]) <= 60
    # Another key has its own count; the refused request did not count.
    assert _chat(live, "key-b").headers["x-ratelimit-remaining-requests"] == "2"  # type: ignore[attr-defined]


def test_a_per_key_quota_counts_the_key_where_the_api_sends_it(live: LiveServer) -> None:
    # Azure's clients send ``api-key``: each key has its own count (not one count for "").
    away_from_a_window_edge()
    for key in ("azure-a", "azure-b"):
        with openai.AzureOpenAI(azure_endpoint=live.url, api_key=key, max_retries=0,
                                api_version="2024-10-21") as client:
            r = client.chat.completions.with_raw_response.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hi"}], max_tokens=8)
            assert r.headers["x-ratelimit-remaining-requests"] == "2", key


def test_a_per_key_quota_counts_each_gemini_query_key_apart(live: LiveServer) -> None:
    # ``?key=`` is Gemini's own way of sending the key (the REST docs' curl examples): each
    # key has its own count, not one count for "" (what the strategy saw in headers only).
    away_from_a_window_edge()
    url = f"{live.url}/v1beta/models/gemini-2.5-flash:generateContent"
    body = {"contents": [{"parts": [{"text": "hi"}]}],
            "generationConfig": {"maxOutputTokens": 8}}
    for key in ("gemini-a", "gemini-b"):
        first = httpx.post(url, params={"key": key}, json=body)
        assert first.status_code == 200, (key, first.text)
        second = httpx.post(url, params={"key": key}, json=body)
        assert second.status_code == 429, key
        error = second.json()["error"]
        assert error["status"] == "RESOURCE_EXHAUSTED" and error["code"] == 429
        assert "Quota exceeded for metric" in error["message"], error
        assert 1 <= int(second.headers["retry-after"]) <= 60
    # The SDK sends the key as x-goog-api-key: the same key, the same count.
    sdk = genai.Client(api_key="gemini-a", http_options=types.HttpOptions(base_url=live.url))
    with pytest.raises(genai_errors.ClientError) as err:
        sdk.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert err.value.code == 429


def test_tpm_per_header_value_counts_prompt_and_answer_tokens(live: LiveServer) -> None:
    away_from_a_window_edge()
    seen = []
    with pytest.raises(openai.RateLimitError) as err:
        for _ in range(10):
            r = _chat(live, "k", "gpt-4o-mini", extra_headers={"x-tenant": "t1"})
            seen.append(int(r.headers["x-ratelimit-remaining-tokens"]))  # type: ignore[attr-defined]
            assert "x-ratelimit-limit-requests" not in r.headers  # type: ignore[attr-defined]
    assert seen == sorted(seen, reverse=True) and len(set(seen)) == len(seen) >= 2
    assert err.value.type == "tokens" and "tokens per min (TPM): Limit 60" in err.value.message
    # Another tenant starts afresh; a stream carries the headers too.
    with openai.OpenAI(base_url=live.url + "/v1", api_key="k", max_retries=0) as client, \
            client.chat.completions.with_streaming_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], max_tokens=4,
            stream=True, extra_headers={"x-tenant": "t2"}) as stream:
        assert int(stream.headers["x-ratelimit-remaining-tokens"]) < 60
        assert "".join(stream.iter_lines())


def test_anthropic_gets_its_own_headers_and_429(live: LiveServer) -> None:
    away_from_a_window_edge()
    with anthropic.Anthropic(base_url=live.url, api_key="k", max_retries=0) as client:
        _anthropic_quota(client)


def _anthropic_quota(client: anthropic.Anthropic) -> None:
    for left in ("1", "0"):
        r = client.messages.with_raw_response.create(
            model="claude-sonnet-4-5", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
        assert r.headers["anthropic-ratelimit-requests-limit"] == "2"
        assert r.headers["anthropic-ratelimit-requests-remaining"] == left
        assert r.headers["anthropic-ratelimit-requests-reset"].endswith("Z")
        assert int(r.headers["anthropic-ratelimit-tokens-remaining"]) < 100000
        assert not [h for h in r.headers if h.startswith("x-ratelimit")]
    with pytest.raises(anthropic.RateLimitError) as err:
        client.messages.create(model="claude-sonnet-4-5", max_tokens=8,
                               messages=[{"role": "user", "content": "hi"}])
    assert err.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    assert "rate limit of 2 requests per minute" in err.value.message


def test_windows_start_over_and_unmatched_models_are_not_counted() -> None:
    quotas = Quotas([Quota(per="all", models=["gpt-*"], rpm=1)])
    state = MemoryState()
    assert quotas.admit(state, "openai", "claude-x", {}, 5, now=0.0) is None
    first = quotas.admit(state, "openai", "gpt-4o", {}, 5, now=1.0)
    assert first is not None and first.error is None
    second = quotas.admit(state, "openai", "gpt-4o", {}, 5, now=59.0)
    assert second is not None and second.error is not None
    assert second.headers["x-ratelimit-reset-requests"] == "1s"
    third = quotas.admit(state, "openai", "gpt-4o", {}, 5, now=60.5)
    assert third is not None and third.error is None
    assert third.headers["x-ratelimit-reset-requests"] == "59.5s"


@pytest.mark.parametrize("quota, message", [
    ("{per: user, rpm: 1}", "per must be model, api_key, all or header:NAME"),
    ("{per: model}", "give rpm, tpm or both"),
    ("{rpm: 0}", "rpm and tpm must be at least 1"),
])
def test_a_bad_quota_is_a_config_error_with_its_line(quota: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse(f"models: [{{id: m}}]\nquotas:\n  - {quota}\n", "q.yaml")
    assert f"q.yaml:3: quotas[0]: {message}" in str(err.value)
