"""Plugin fault kinds (mockllm_faults): used by rules and the control header, acted out on
the wire of every API, checked at config load with FILE:LINE. Through the real SDKs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from mockllm.config import ConfigError
from mockllm.describe import plugins_json
from mockllm.testing import LiveServer, run_config, test_context

PLUGIN = "tests.plugins.acme_faults"

CONFIG = f"""
plugins: {{load: [{PLUGIN}]}}
models:
  - {{id: gpt-4o, provider: openai}}
  - {{id: claude-x, provider: anthropic}}
defaults: {{respond: {{text: hello there friend}}}}
rules:
  - name: twice
    match: {{last_user: {{contains: twice}}}}
    respond: {{text: hello there friend, fault: {{kind: acme.duplicate, after: 2,
                                                  params: {{times: 2}}}}}}
  - name: hang
    match: {{last_user: {{contains: hang}}}}
    respond: {{text: hello there friend, fault: {{kind: acme.hang_up, after: 2}}}}
  - name: explode
    match: {{last_user: {{contains: explode}}}}
    respond: {{text: hello there friend, fault: {{kind: acme.explode, after: 1}}}}
"""


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    with run_config(CONFIG) as server:
        yield server


def _ask(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


def test_hook_mockllm_faults(live: LiveServer) -> None:
    client = openai.OpenAI(base_url=live.url + "/v1", api_key="k", max_retries=0)
    with client:
        # Frames 0 and 1 (the role chunk, "hello") once, then every event twice.
        chunks = list(client.chat.completions.create(model="gpt-4o", messages=_ask("twice"),
                                                     stream=True))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == "hello there there friend friend"
        # The terminator is a frame too: `data: [DONE]` came twice, the SDK stopped at one.
        with pytest.raises(openai.APIConnectionError):
            list(client.chat.completions.create(model="gpt-4o", messages=_ask("hang"),
                                                stream=True))
        # A non-streamed answer is one frame (the body): after 0, the header's kind.
        reply = client.chat.completions.create(
            model="gpt-4o", messages=_ask("hi"), extra_headers={"x-mockllm-fault": "acme.shout"})
        assert reply.choices[0].message.content == "HELLO there friend"
    ant = anthropic.Anthropic(base_url=live.url, api_key="k", max_retries=0)
    with ant:
        with ant.messages.stream(model="claude-x", max_tokens=50, messages=_ask("hi"),
                                 extra_headers={"x-mockllm-fault": "acme.shout"}) as stream:
            assert stream.get_final_text() == "HELLO there friend"


def test_the_wire_of_a_plugin_fault(live: LiveServer) -> None:
    r = httpx.post(live.url + "/v1/chat/completions", json={
        "model": "gpt-4o", "stream": True, "messages": _ask("twice")})
    events = [line for line in r.text.splitlines() if line]
    assert events.count("data: [DONE]") == 2
    assert events[2::2] == events[3::2]  # from frame 2 on, every event twice
    first = [json.loads(e[6:]) for e in events[:2]]
    assert first[0]["choices"][0]["delta"]["role"] == "assistant"


def test_a_fault_action_that_raises_ends_the_stream_with_the_api_error(
        live: LiveServer) -> None:
    client = openai.OpenAI(base_url=live.url + "/v1", api_key="k", max_retries=0)
    with client, pytest.raises(openai.APIError) as exc:
        for _ in client.chat.completions.create(model="gpt-4o", messages=_ask("explode"),
                                                stream=True):
            pass
    assert "The server had an error" in exc.value.message


def test_an_unknown_kind_by_header_is_a_400(live: LiveServer) -> None:
    r = httpx.post(live.url + "/v1/chat/completions", headers={"x-mockllm-fault": "acme.nope"},
                   json={"model": "gpt-4o", "messages": _ask("hi")})
    assert r.status_code == 400
    assert "unknown fault 'acme.nope'" in r.json()["error"]["message"]
    assert r.headers["x-request-id"].startswith("req_")


@pytest.mark.parametrize("fault, message", [
    ("{kind: acme.duplicate, params: {times: 0}}",
     "rules[0].respond.fault.params: times must be"),
    ("{kind: acme.nope}", "rules[0].respond.fault.kind: unknown fault 'acme.nope'"),
    ("{kind: stal}", "rules[0].respond.fault.kind: unknown fault kind 'stal'"),
    ("{kind: stall, params: 1}", "rules[0].respond.fault.params: only a plugin fault kind"),
])
def test_a_bad_fault_is_a_config_error_with_file_and_line(
        tmp_path: Path, fault: str, message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(f"plugins:\n  load: [{PLUGIN}]\nrules:\n  - name: x\n"
                    f"    respond: {{text: hi, fault: {fault}}}\n")
    with pytest.raises(ConfigError) as e:
        test_context(config_path=str(path))
    assert str(e.value).startswith(f"{path}:5: "), str(e.value)
    assert message in str(e.value)


def test_mockllm_plugins_lists_the_fault_kinds() -> None:
    data = plugins_json(test_context(modules=[PLUGIN]))
    assert [f["name"] for f in data["faults"]] == sorted(
        ["acme.duplicate", "acme.explode", "acme.hang_up", "acme.shout"])
    mine = next(p for p in data["plugins"] if p["name"] == PLUGIN)
    assert "acme.duplicate" in mine["faults"]
