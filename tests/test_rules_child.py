"""Large runtime-rules bodies are parsed in a child process (mockllm.rulesproc): the same
rules, the same ``file:line`` problems and the same answers as a body parsed in the server."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from mockllm import rulesproc
from mockllm.config import ConfigError, parse_rules_located
from mockllm.testing import LiveServer, run_config

YAML = {"content-type": "application/yaml"}

CONFIG = """
plugins: {load: [tests.plugins.acme_hooks]}
models: [{id: gpt-4o, provider: openai}]
"""

BODIES = [
    b"- name: hello\n  match: {last_user: {contains: hello}}\n  respond: {text: hi there}\n",
    b"rules:\n  - name: lorem\n    match: {last_user: {contains: lorem}}\n"
    b"    respond: {acme.lorem: {sentences: 2}}\n",
    b"match: {last_user: {contains: [}\nrespond: {text: x}\n",  # a YAML syntax error
    b"- name: a\n  respond: {text: x}\n- name: b\n  respond: {txt: x}\n",  # an unknown key
    b"- name: a\n  respond: {text: x}\n- name: a\n  respond: {text: y}\n",  # a name twice
    b"- name: a\n  respond: {text: x}\n- name: b\n  match: {acme.sentiment: grumpy}\n",
    b"rules:\n  - respond: {sequence: [{text: a}, {acme.lorem: -1}]}\n",  # a plugin's refusal
    b"{" * 1500,
]


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    with run_config(CONFIG) as server:
        yield server


def _post(http: httpx.Client, live: LiveServer, body: bytes) -> tuple[int, Any]:
    r = http.post(live.url + "/_mockllm/rules", content=body, headers=YAML)
    http.delete(live.url + "/_mockllm/rules")
    return r.status_code, r.json()


@pytest.mark.parametrize("body", BODIES)
def test_a_body_parsed_in_a_child_is_answered_as_one_parsed_here(
    http: httpx.Client, live: LiveServer, body: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = _post(http, live, body)
    monkeypatch.setattr(rulesproc, "OFF_PROCESS_BYTES", 0)
    assert _post(http, live, body) == here


def test_plugin_problems_from_a_child_name_the_line(
    http: httpx.Client, live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rulesproc, "OFF_PROCESS_BYTES", 0)
    status, answer = _post(http, live, BODIES[5])
    assert status == 400
    assert answer["error"]["message"].startswith(
        "<request body>:4: rules[1].match.acme.sentiment: expected one of"), answer


def _large(n: int) -> bytes:
    return "".join(f"- name: r{i}\n  match: {{last_user: {{contains: needle{i}x}}}}\n"
                   f"  respond: {{text: \"answer {i} {'word ' * 20}\"}}\n"
                   for i in range(n)).encode()


def test_a_large_body_goes_to_a_child_that_exits_and_its_rules_answer(
    http: httpx.Client, live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = _large(600)
    assert len(body) > rulesproc.OFF_PROCESS_BYTES
    started: list[subprocess.Popen[bytes]] = []
    real = rulesproc.subprocess.Popen

    def popen(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        started.append(real(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(rulesproc.subprocess, "Popen", popen)
    try:
        r = http.post(live.url + "/_mockllm/rules", content=body, headers=YAML)
        assert r.status_code == 200, r.text
        assert r.json()["added"] == [f"r{i}" for i in range(600)]
        assert len(started) == 1 and started[0].returncode == 0
        with openai.OpenAI(base_url=live.openai_url, api_key="x", max_retries=0) as client:
            out = client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "find needle599x"}])
        assert out.choices[0].message.content == "answer 599 " + "word " * 20
    finally:
        http.delete(live.url + "/_mockllm/rules")


def test_the_child_gives_the_rules_a_parse_here_gives() -> None:
    text = _large(300).decode()  # two frames of rules from the child
    assert 300 > rulesproc.BATCH
    seen: list[str] = []

    def check(rules: list[Any], where: Any) -> None:
        seen.append(where("rules[299].respond.text"))

    via_child = rulesproc.parse_and_check(text, "big.yaml", 64, check)
    here, where = parse_rules_located(text, "big.yaml", 64)
    assert via_child == here
    assert seen == ["big.yaml:900"] and where("rules[299].respond.text") == "big.yaml:900"


def test_a_child_that_cannot_start_falls_back_to_a_parse_here(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rulesproc, "OFF_PROCESS_BYTES", 0)
    monkeypatch.setattr(rulesproc.sys, "executable", "/nonexistent/python")
    rules = rulesproc.parse_and_check("respond: {text: hi}\n", "b", 64, lambda r, w: None)
    assert [r.respond.text for r in rules] == ["hi"]
    with pytest.raises(ConfigError, match=r"^b:1: rules\[0\].respond.txt: unknown key"):
        rulesproc.parse_and_check("respond: {txt: hi}\n", "b", 64, lambda r, w: None)
