"""First light: the official openai SDK against a live server on the default config."""

from __future__ import annotations

import openai

from mockllm.testing import LiveServer


def test_chat_through_openai_sdk(live: LiveServer) -> None:
    with openai.OpenAI(base_url=live.openai_url, api_key="test") as client:
        out = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], max_tokens=5
    )
        models = [m.id for m in client.models.list()]
    assert out.object == "chat.completion"
    assert out.model == "gpt-4o-mini-2024-07-18"
    assert out.choices[0].finish_reason == "length"
    assert out.usage is not None and out.usage.completion_tokens == 5
    assert models[0] == "gpt-6.2-sol"
