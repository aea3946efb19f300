"""The pytest plugin that ships with mockllm (entry point ``pytest11``): its fixtures work."""

from __future__ import annotations

import httpx

from mockllm.journal import Journal
from mockllm.testing import LiveServer


def test_mockllm_server_and_journal(
    http: httpx.Client, mockllm_server: LiveServer, mockllm_journal: Journal
) -> None:
    assert len(mockllm_journal) == 0
    r = http.post(mockllm_server.openai_url + "/chat/completions",
                  json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 200
    [entry] = mockllm_journal.query()
    assert (entry.endpoint, entry.model, entry.status) == ("openai.chat", "gpt-4o", 200)
    assert entry.completion_tokens == r.json()["usage"]["completion_tokens"]
