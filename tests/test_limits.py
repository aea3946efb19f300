"""server.limits: one small request cannot ask for unbounded work. Each limit is the
provider's own 400 or 413, seen through the real SDKs."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import httpx
import openai
import pytest

from mockllm.testing import LiveServer, run_config

LIMITS = "server: {limits: {generated_tokens: 100, prompt_bytes: 1000}}\n"
HI = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with run_config(LIMITS) as live:
        yield live


@pytest.fixture(scope="module")
def oai(server: LiveServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.openai_url, api_key="k", max_retries=0) as c:
        yield c


def test_the_reported_case_is_refused_at_once(live: LiveServer) -> None:
    """n=4, max_tokens=16384, top_logprobs=20 took 7.9 s and 75 MB on the default config."""
    with openai.OpenAI(base_url=live.openai_url, api_key="k", max_retries=0) as c, \
            pytest.raises(openai.BadRequestError) as err:
        c.chat.completions.create(model="gpt-4o", messages=HI, n=4, max_tokens=16384,  # type: ignore[arg-type]
                                  logprobs=True, top_logprobs=20,
                                  extra_body={"ignore_eos": True})
    assert err.value.body["param"] == "top_logprobs"  # type: ignore[index]
    assert "server.limits.logprob_entries" in err.value.message


def test_a_large_logprobs_answer_within_the_budget_is_whole(live: LiveServer) -> None:
    """2,000 tokens x 20 logprobs is built off the event loop, and is all there."""
    with openai.OpenAI(base_url=live.openai_url, api_key="k", max_retries=0) as c:
        out = c.chat.completions.create(model="gpt-4o", messages=HI, max_tokens=2000,  # type: ignore[arg-type]
                                        logprobs=True, top_logprobs=20,
                                        extra_body={"ignore_eos": True})
    content = out.choices[0].logprobs.content  # type: ignore[union-attr]
    assert content is not None and len(content) == 2000 == out.usage.completion_tokens  # type: ignore[union-attr]
    assert all(len(t.top_logprobs) == 20 for t in content)


def test_generated_tokens_count_over_every_choice(oai: openai.OpenAI) -> None:
    ok = oai.chat.completions.create(model="gpt-4o", messages=HI, n=2, max_tokens=50,  # type: ignore[arg-type]
                                     extra_body={"ignore_eos": True})
    assert ok.usage is not None and ok.usage.completion_tokens == 100
    with pytest.raises(openai.BadRequestError) as err:
        oai.chat.completions.create(model="gpt-4o", messages=HI, n=3, max_tokens=50,  # type: ignore[arg-type]
                                    extra_body={"ignore_eos": True})
    assert "server.limits.generated_tokens" in err.value.message


def test_a_long_prompt_is_a_413_before_it_is_tokenized(server: LiveServer,
                                                        oai: openai.OpenAI) -> None:
    long = [{"role": "user", "content": "word " * 400}]  # 2,000 characters
    with pytest.raises(openai.APIStatusError) as err:
        oai.chat.completions.create(model="gpt-4o", messages=long)  # type: ignore[arg-type]
    assert err.value.status_code == 413 and "server.limits.prompt_bytes" in err.value.message
    with pytest.raises(openai.APIStatusError) as err:
        oai.embeddings.create(model="text-embedding-3-small", input=["é" * 600])  # 1,200 bytes
    assert err.value.status_code == 413
    assert oai.embeddings.create(model="text-embedding-3-small", input=["e" * 600]).data
    with anthropic.Anthropic(base_url=server.url, api_key="k", max_retries=0) as a:
        with pytest.raises(anthropic.APIStatusError) as aerr:
            a.messages.create(model="claude-sonnet-5-5", max_tokens=5, messages=long)  # type: ignore[arg-type]
        assert aerr.value.status_code == 413
        assert aerr.value.body["error"]["type"] == "request_too_large"  # type: ignore[index]
        with pytest.raises(anthropic.APIStatusError) as aerr:
            a.messages.count_tokens(model="claude-sonnet-5-5", messages=long)  # type: ignore[arg-type]
        assert aerr.value.status_code == 413


@pytest.mark.parametrize("headers", [
    {"x-mockllm-latency-ms": "ttft=1e308"},
    {"x-mockllm-latency-ms": "itl=600001"},
    {"x-mockllm-latency-ms": "prefill=1e9"},
    {"x-mockllm-fault": "stall:seconds=1e308"},
    {"x-mockllm-fault": "stall:seconds=601"},
])
def test_control_headers_are_bounded(oai: openai.OpenAI, headers: dict[str, str]) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        oai.chat.completions.create(model="gpt-4o", messages=HI, extra_headers=headers)  # type: ignore[arg-type]
    assert "600" in err.value.message


def test_bounded_control_headers_still_work(http: httpx.Client, server: LiveServer) -> None:
    r = http.post(server.openai_url + "/chat/completions",
                  json={"model": "gpt-4o", "messages": HI, "max_tokens": 2},
                  headers={"x-mockllm-latency-ms": "ttft=1,itl=1",
                           "x-mockllm-fault": "stall:seconds=0.01"})
    assert r.status_code == 200, r.text


def test_limits_must_be_positive(tmp_path: object) -> None:
    from mockllm.config import ConfigError, parse

    with pytest.raises(ConfigError, match="server.limits.generated_tokens: must be above 0"):
        parse("server: {limits: {generated_tokens: 0}}\n", "c.yaml")
