"""Large requests are measured in a worker thread (Endpoint.make_plan): the answers are the
same as on the direct path, through the real SDKs. (How long /health waits meanwhile is a
benchmark's question, benchmarks/health_stall.py, not a test's.)"""

from __future__ import annotations

import anthropic
import openai

from mockllm.endpoint import OFF_LOOP_BYTES, OFF_LOOP_INPUTS
from mockllm.testing import LiveServer
from plugins_builtin.tokenizers import mockllm_tokenizer

_LONG = "the quick brown fox jumps over the lazy dog " * (OFF_LOOP_BYTES // 40)


def test_a_large_prompt_is_counted_as_a_small_one_is(live: LiveServer) -> None:
    with openai.OpenAI(base_url=live.openai_url, api_key="k", max_retries=0) as client:
        big = client.chat.completions.create(
            model="gpt-4o", max_tokens=5, messages=[{"role": "user", "content": _LONG}])
        ref = client.chat.completions.create(
            model="gpt-4o", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
    assert big.usage is not None and ref.usage is not None
    tok = mockllm_tokenizer("o200k_base")  # gpt-4o's: the framing is the same for both
    assert big.usage.prompt_tokens - ref.usage.prompt_tokens == (
        len(tok.encode(_LONG)) - len(tok.encode("hi")))


def test_a_large_anthropic_prompt_is_answered(live: LiveServer) -> None:
    with anthropic.Anthropic(base_url=live.url, api_key="k", max_retries=0) as client:
        out = client.messages.create(model="claude-sonnet-5-5", max_tokens=5,
                                     messages=[{"role": "user", "content": _LONG}])
    assert out.usage.input_tokens > OFF_LOOP_BYTES // 10


def test_many_embedding_inputs_get_the_vectors_one_input_gets(live: LiveServer) -> None:
    texts = [f"passage {i} about rivers" for i in range(OFF_LOOP_INPUTS + 4)]
    with openai.OpenAI(base_url=live.openai_url, api_key="k", max_retries=0) as client:
        batch = client.embeddings.create(model="text-embedding-3-small", input=texts)
        alone = [client.embeddings.create(model="text-embedding-3-small", input=t)
                 for t in texts[:3]]
        floats = client.embeddings.create(model="text-embedding-3-small", input=texts,
                                          encoding_format="float")
    assert [d.embedding for d in batch.data[:3]] == [a.data[0].embedding for a in alone]
    assert [d.embedding for d in floats.data] == [d.embedding for d in batch.data]
    assert batch.usage.prompt_tokens == floats.usage.prompt_tokens
