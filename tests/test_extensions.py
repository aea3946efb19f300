"""Plugin matchers, responders and validators, through the real SDKs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from mockllm.config import ConfigError
from mockllm.testing import run_config, test_context

PLUGIN = "tests.plugins.acme_hooks"

CONFIG = f"""
plugins: {{load: [{PLUGIN}]}}
models:
  - {{id: gpt-4o, provider: openai}}
  - {{id: claude-test, provider: anthropic, max_output_tokens: 4096}}
  - {{id: llama-test, provider: ollama}}
rules:
  - name: sad
    match: {{acme.sentiment: negative}}
    respond: {{template: "Sorry it is {{mood_word}}."}}
  - name: weather
    match: {{last_user: {{contains: weather}}}}
    respond: {{acme.forecast: Paris}}
  - name: bug
    match: {{last_user: {{contains: crash}}}}
    respond: {{acme.broken: 1}}
  - name: lorem
    match: {{last_user: {{contains: lorem}}}}
    respond: {{acme.lorem: {{sentences: 3}}}}
"""


@pytest.fixture(scope="module")
def live() -> Any:
    with run_config(CONFIG) as server:
        yield server


_clients: dict[str, Any] = {}


@pytest.fixture(scope="module", autouse=True)
def _close_clients(live: Any) -> Any:
    yield
    for client in _clients.values():
        client.close()
    _clients.clear()


YAML = {"content-type": "application/yaml"}

def oai(live: Any) -> openai.OpenAI:
    if "openai" not in _clients:
        _clients["openai"] = openai.OpenAI(base_url=live.openai_url, api_key="x", max_retries=0)
    return _clients["openai"]  # type: ignore[no-any-return]


def ant(live: Any) -> anthropic.Anthropic:
    if "anthropic" not in _clients:
        _clients["anthropic"] = anthropic.Anthropic(base_url=live.url, api_key="x",
                                                    max_retries=0)
    return _clients["anthropic"]  # type: ignore[no-any-return]


def ask(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


def test_hook_mockllm_matchers(live: Any) -> None:
    r = oai(live).chat.completions.create(model="gpt-4o", messages=ask("this is AWFUL"))
    assert r.choices[0].message.content == "Sorry it is awful."
    r = ant(live).messages.create(model="claude-test", max_tokens=50,
                                  messages=ask("my thing is broken"))
    assert r.content[0].text == "Sorry it is broken."  # type: ignore[union-attr]
    r2 = oai(live).chat.completions.create(model="gpt-4o", messages=ask("all fine"))
    assert "Sorry" not in (r2.choices[0].message.content or "")


def test_hook_mockllm_responders(live: Any) -> None:
    client = oai(live)
    r = client.chat.completions.create(model="gpt-4o", messages=ask("lorem please"))
    text = r.choices[0].message.content or ""
    assert text.count(".") == 3 and r.choices[0].finish_reason == "stop"
    count = live.context.engine.count("gpt-4o", text)
    assert r.usage is not None and r.usage.completion_tokens == count
    # The same answer streams, token by token, through the SDK's stream helper.
    with client.chat.completions.stream(model="gpt-4o", messages=ask("lorem please")) as s:
        for _ in s:
            pass
        final = s.get_final_completion()
    assert final.choices[0].message.content == text
    # max_tokens cuts a responder's answer like any other.
    cut = client.chat.completions.create(model="gpt-4o", messages=ask("lorem please"),
                                         max_tokens=3)
    assert cut.choices[0].finish_reason == "length"
    assert cut.usage is not None and cut.usage.completion_tokens == 3
    # Anthropic renders it too, streamed.
    with ant(live).messages.stream(model="claude-test", max_tokens=200,
                                   messages=ask("lorem please")) as st:
        msg = st.get_final_message()
    assert msg.content[0].text.count(".") == 3  # type: ignore[union-attr]


def test_responder_reply_gives_tool_calls_and_reasoning(live: Any) -> None:
    r = oai(live).chat.completions.create(
        model="gpt-4o", messages=ask("weather in Oslo"),
        tools=[{"type": "function", "function": {"name": "get_weather", "parameters": {
            "type": "object", "properties": {"city": {"type": "string"}}}}}])
    call = r.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert call.function.arguments == '{"city":"Oslo"}'  # type: ignore[union-attr]
    assert r.choices[0].finish_reason == "tool_calls"
    m = ant(live).messages.create(
        model="claude-test", max_tokens=2000, messages=ask("weather in Rome"),
        thinking={"type": "enabled", "budget_tokens": 1024})
    kinds = [b.type for b in m.content]
    assert kinds == ["thinking", "text", "tool_use"] and m.stop_reason == "tool_use"
    assert m.content[2].input == {"city": "Rome"}  # type: ignore[union-attr]


def test_hook_mockllm_validators(http: httpx.Client, live: Any) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        oai(live).chat.completions.create(model="gpt-4o", messages=ask("my secret is x"))
    assert e.value.body["type"] == "invalid_request_error"  # type: ignore[index]
    assert "must not contain secrets" in e.value.body["message"]  # type: ignore[index]
    with pytest.raises(anthropic.BadRequestError) as a:
        ant(live).messages.create(model="claude-test", max_tokens=5,
                                  messages=ask("a secret"))
    assert a.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    r = http.post(live.url + "/api/chat", json={"model": "llama-test", "stream": False,
                                                 "messages": ask("secret")})
    assert r.status_code == 400 and "secrets" in r.json()["error"]


def test_a_raising_responder_is_an_enveloped_500(live: Any) -> None:
    with pytest.raises(openai.InternalServerError) as e:
        oai(live).chat.completions.create(model="gpt-4o", messages=ask("crash now"))
    assert e.value.body["type"] == "server_error"  # type: ignore[index]
    with pytest.raises(anthropic.InternalServerError) as a:
        ant(live).messages.create(model="claude-test", max_tokens=5,
                                  messages=ask("crash now"))
    assert a.value.body["type"] == "error"  # type: ignore[index]


@pytest.mark.parametrize("rule, line, message", [
    ("match: {acme.sentiment: grumpy}", 5, "rules[0].match.acme.sentiment: expected one of"),
    ("respond: {acme.lorem: {sentences: 0}}", 5, "rules[0].respond.acme.lorem: sentences must"),
    ("respond: {acme.nope: 1}", 5, "unknown responder 'acme.nope'"),
    ("match: {acme.sentimnt: negative}", 5, "unknown matcher 'acme.sentimnt'"),
    ("respond: {sequence: [{text: a}, {acme.lorem: -1}]}", 5,
     "rules[0].respond.sequence[1].acme.lorem: sentences must"),
])
def test_a_bad_plugin_value_is_a_config_error_with_file_and_line(
    tmp_path: Path, rule: str, line: int, message: str
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(f"plugins:\n  load: [{PLUGIN}]\nrules:\n  - name: x\n    {rule}\n")
    with pytest.raises(ConfigError) as e:
        test_context(config_path=str(path))
    assert str(e.value).startswith(f"{path}:{line}: "), str(e.value)
    assert message in str(e.value)


def test_a_responder_cannot_go_with_other_content(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("rules:\n  - respond: {text: hi, acme.lorem: 1}\n")
    with pytest.raises(ConfigError, match=r"c.yaml:2: rules\[0\].respond.text: text cannot go"):
        test_context(config_path=str(path))


def test_runtime_rules_compile_plugin_values_and_refuse_bad_ones(
    http: httpx.Client, live: Any
) -> None:
    r = http.post(live.url + "/_mockllm/rules", content=b"match: {acme.sentiment: sad}\n",
                  headers=YAML)
    assert r.status_code == 400 and "expected one of" in r.json()["error"]["message"]
    r = http.post(live.url + "/_mockllm/rules", headers=YAML,
                  content=b"match: {last_user: {contains: zebra}}\nrespond: {acme.lorem: 1}\n")
    assert r.status_code == 200
    try:
        out = oai(live).chat.completions.create(model="gpt-4o", messages=ask("zebra"))
        assert (out.choices[0].message.content or "").count(".") == 1
    finally:
        http.delete(live.url + "/_mockllm/rules")


def test_the_responder_rng_draws_like_random_random_of_the_seed() -> None:
    import random

    from mockllm.engine.replies import SeededRandom

    for seed in (0, 1, 2**40 + 7):
        a, b = SeededRandom(seed), random.Random(seed)
        assert [a.random(), a.randint(0, 10**9), a.choice("abcdef"), a.gauss(0, 1),
                a.sample(range(100), 5), a.uniform(1, 2)] == [
            b.random(), b.randint(0, 10**9), b.choice("abcdef"), b.gauss(0, 1),
            b.sample(range(100), 5), b.uniform(1, 2)]
        c = SeededRandom(seed)
        assert c.getstate() == random.Random(seed).getstate()
