"""openai.completions (legacy) through the official SDK and byte for byte on the wire."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import openai
import pytest

from mockllm.testing import LiveServer, run_config
from plugins_builtin.openai import wire

CONFIG = """
models:
  - {id: gpt-3.5-turbo-instruct, provider: openai, tokenizer: cl100k_base, max_output_tokens: 4096}
rules:
  - name: sky
    match: {last_user: {contains: sky}}
    respond: {text: "The sky is blue."}
"""

MODEL = "gpt-3.5-turbo-instruct"
SKY = ["The", " sky", " is", " blue", "."]


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with run_config(CONFIG) as live:
        yield live


def test_create(client: openai.OpenAI) -> None:
    out = client.completions.create(model=MODEL, prompt="the sky")
    assert out.object == "text_completion"
    assert out.id.startswith("cmpl-")
    assert out.choices[0].text == "The sky is blue."
    assert out.choices[0].finish_reason == "stop"
    assert out.usage is not None and out.usage.completion_tokens == 5
    assert out.usage.prompt_tokens == 2


def test_default_max_tokens_is_sixteen(client: openai.OpenAI) -> None:
    out = client.completions.create(model=MODEL, prompt="hello")
    assert out.choices[0].finish_reason == "length"
    assert out.usage is not None and out.usage.completion_tokens == 16


def test_prompt_list_gives_choices_per_prompt(client: openai.OpenAI) -> None:
    out = client.completions.create(model=MODEL, prompt=["the sky", "hello", "sky again"], n=2,
                                    max_tokens=5)
    assert [c.index for c in out.choices] == list(range(6))
    assert [c.text for c in out.choices][:2] == ["The sky is blue."] * 2
    assert out.choices[4].text == "The sky is blue."
    assert out.usage is not None and out.usage.completion_tokens == 30


def test_token_prompts_are_decoded(client: openai.OpenAI, server: LiveServer) -> None:
    tok = server.context.tokenizers.get("cl100k_base")
    ids = tok.encode("what about the sky")
    out = client.completions.create(model=MODEL, prompt=ids)
    assert out.choices[0].text == "The sky is blue."
    out = client.completions.create(model=MODEL, prompt=[ids, ids])
    assert [c.text for c in out.choices] == ["The sky is blue."] * 2
    assert out.usage is not None and out.usage.prompt_tokens == 2 * len(ids)


def test_echo_suffix_and_logprobs(client: openai.OpenAI) -> None:
    out = client.completions.create(model=MODEL, prompt="the sky", echo=True, suffix="!")
    assert out.choices[0].text == "the skyThe sky is blue."
    out = client.completions.create(model=MODEL, prompt="sky", logprobs=2)
    lp = out.choices[0].logprobs
    assert lp is not None
    assert lp.tokens == SKY
    assert lp.text_offset == [0, 3, 7, 10, 15]
    assert lp.top_logprobs is not None and all(len(t) == 2 for t in lp.top_logprobs)


def test_stream(client: openai.OpenAI) -> None:
    chunks = list(client.completions.create(model=MODEL, prompt="sky", stream=True,
                                            stream_options={"include_usage": True}))
    assert {c.id for c in chunks} == {chunks[0].id}
    assert [c.choices[0].text for c in chunks[:-2]] == SKY
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 5


def test_stream_ignore_eos_gives_exactly_max_tokens(client: openai.OpenAI) -> None:
    chunks = list(client.completions.create(model=MODEL, prompt="sky", stream=True,
                                            max_tokens=40, extra_body={"ignore_eos": True},
                                            stream_options={"include_usage": True}))
    texts = [c.choices[0].text for c in chunks if c.choices and c.choices[0].text]
    assert len(texts) == 40
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 40


def test_stream_bytes_exact(
    http: httpx.Client, server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wire, "new_id", lambda prefix: prefix + "test")
    monkeypatch.setattr(wire, "now", lambda: 1700000000)
    raw = http.post(server.openai_url + "/completions",
                    json={"model": MODEL, "prompt": "sky", "stream": True})
    head = ('data: {"id":"cmpl-test","object":"text_completion","created":1700000000,'
            '"model":"gpt-3.5-turbo-instruct","choices":[')
    tail = '],"system_fingerprint":"fp_mockllm"}\n\n'
    expected = "".join(
        head + '{"text":' + json.dumps(p) + ',"index":0,"logprobs":null,"finish_reason":null}'
        + tail for p in SKY)
    expected += head + '{"text":"","index":0,"logprobs":null,"finish_reason":"stop"}' + tail
    expected += "data: [DONE]\n\n"
    assert raw.text == expected


@pytest.mark.anyio
async def test_async(server: LiveServer) -> None:
    async with openai.AsyncOpenAI(base_url=server.openai_url, api_key="t",
                                  max_retries=0) as client:
        out = await client.completions.create(model=MODEL, prompt="sky")
        assert out.choices[0].text == "The sky is blue."
        stream = await client.completions.create(model=MODEL, prompt="sky", stream=True)
        assert [c.choices[0].text async for c in stream if c.choices[0].text] == SKY
