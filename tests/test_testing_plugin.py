"""The pytest plugin that ships with mockllm (entry point ``pytest11``): fixtures, isolation
between tests, assertion messages, and that it costs nothing until a fixture is used.
docs/testing.md's examples run in tests/test_testing_docs.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import openai
import pytest

from mockllm.journal import Journal
from mockllm.testing import LiveServer, MockLLM
from tests.test_testing_docs import run_pytest

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


def test_mockllm_server_and_journal(
    http: httpx.Client, mockllm_server: LiveServer, mockllm_journal: Journal
) -> None:
    assert len(mockllm_journal) == 0
    r = http.post(mockllm_server.openai_base_url + "/chat/completions", json=CHAT)
    assert r.status_code == 200
    [entry] = mockllm_journal.query()
    assert (entry.endpoint, entry.model, entry.status) == ("openai.chat", "gpt-4o", 200)
    assert entry.completion_tokens == r.json()["usage"]["completion_tokens"]


def test_urls(mockllm_server: LiveServer, mockllm: MockLLM) -> None:
    assert mockllm.url == mockllm_server.url
    assert mockllm.openai_base_url == mockllm_server.url + "/v1"
    assert mockllm.anthropic_base_url == mockllm.ollama_host == mockllm_server.url


def test_env_points_the_sdks_at_the_server(mockllm: MockLLM,
                                           mockllm_env: dict[str, str]) -> None:
    mockllm.add_rules("match: {model: gpt-4o}\nrespond: {text: from env}")
    with openai.OpenAI(max_retries=0) as client:  # no base_url, no key: the environment's
        out = client.chat.completions.create(**CHAT)  # type: ignore[call-overload]
    assert out.choices[0].message.content == "from env"
    assert mockllm_env["ANTHROPIC_BASE_URL"] == mockllm.url


def test_env_points_boto3_bedrock_runtime_at_the_server(mockllm: MockLLM,
                                                        mockllm_env: dict[str, str]) -> None:
    import boto3

    mockllm.add_rules("match: {provider: bedrock}\nrespond: {text: from env}")
    client = boto3.client("bedrock-runtime")  # endpoint, region and keys: the environment's
    out = client.converse(modelId="us.anthropic.claude-sonnet-5-5",
                          messages=[{"role": "user", "content": [{"text": "hi"}]}])
    client.close()
    assert out["output"]["message"]["content"] == [{"text": "from env"}]
    mockllm.assert_called(endpoint="bedrock.converse", model="anthropic.claude-sonnet-5-5")


def test_assert_called_counts_and_lists_what_was_called(http: httpx.Client,
                                                        mockllm: MockLLM) -> None:
    with pytest.raises(AssertionError, match="No request reached mockllm"):
        mockllm.assert_called()
    for _ in range(2):
        http.post(mockllm.openai_base_url + "/chat/completions", json=CHAT)
    http.post(mockllm.url + "/v1/messages", json={"model": "claude-haiku-4-5", "max_tokens": 9,
                                                  "messages": [{"role": "user", "content": "yo"}]})
    assert len(mockllm.assert_called(endpoint="openai.chat", times=2)) == 2
    mockllm.assert_called(model="claude-haiku-4-5", contains="yo", times=1)  # an alias
    mockllm.assert_called(endpoint="anthropic", model="claude-*")
    with pytest.raises(AssertionError) as failure:
        mockllm.assert_called(endpoint="openai.chat", times=1)
    message = str(failure.value)
    assert "expected endpoint='openai.chat' 1 time(s), found 2." in message
    assert "The 3 request(s) of this test:" in message
    assert "3. anthropic.messages model=claude-haiku-4-5-20251001 status=200" in message
    assert mockllm.last_request.endpoint == "anthropic.messages"


def test_a_plugin_switch_and_sequence_are_reset(http: httpx.Client, mockllm: MockLLM) -> None:
    mockllm.add_rules({"name": "seq", "match": {"model": "gpt-4o"},
                       "respond": {"sequence": [{"text": "one"}, {"text": "two"}]}})
    ask = lambda: http.post(mockllm.openai_base_url + "/chat/completions",  # noqa: E731
                             json=CHAT).json()["choices"][0]["message"]["content"]
    assert [ask(), ask()] == ["one", "two"]
    r = http.post(mockllm.url + "/_mockllm/plugins/use",
                   json={"key": "sse", "plugin": "builtin"})
    assert r.json()["reason"] == "runtime"
    mockllm.server.reset()
    assert mockllm.requests == []
    assert ask() != "one"  # the runtime rule is gone
    mockllm.add_rules({"name": "seq", "match": {"model": "gpt-4o"},
                       "respond": {"sequence": [{"text": "one"}, {"text": "two"}]}})
    assert ask() == "one"  # the counter starts over
    plugins = http.get(mockllm.url + "/_mockllm/plugins").json()
    [sse] = [t for t in plugins["transports"] if t["key"] == "sse"]
    assert sse["reason"] != "runtime"


@pytest.mark.mockllm(rules=[{"match": {"model": "gpt-4o"}, "respond": {"text": "marked"}}])
def test_marker_rules(http: httpx.Client, mockllm: MockLLM) -> None:
    r = http.post(mockllm.openai_base_url + "/chat/completions", json=CHAT)
    assert r.json()["choices"][0]["message"]["content"] == "marked"


ISOLATION = '''
import httpx, pytest

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}

def ask(url):
    r = httpx.post(url + "/v1/chat/completions", json=CHAT, timeout=60)
    return r.json()["choices"][0]["message"]["content"]

@pytest.mark.parametrize("n", range(6))
def test_adds_a_rule(mockllm, n):
    mockllm.add_rules({"match": {"model": "gpt-4o"},
                       "respond": {"sequence": [{"text": f"first {n}"}, {"text": "later"}]}})
    assert ask(mockllm.url) == f"first {n}"
    mockllm.assert_called(times=1)

@pytest.mark.parametrize("n", range(6))
def test_server_only_sees_no_rule(mockllm_server, n):
    assert not ask(mockllm_server.url).startswith(("first", "later"))

@pytest.mark.mockllm(config="own.yaml")
def test_own_config(mockllm, mockllm_env, mockllm_server):
    assert mockllm.url != mockllm_server.url
    assert ask(mockllm.url) == "own config"
    assert mockllm_env["OPENAI_BASE_URL"] == mockllm.url + "/v1"

def test_unused():
    pass
'''


@pytest.mark.parametrize("args", [(), ("-n", "2")], ids=["serial", "xdist-2"])
def test_rules_never_leak_between_tests(tmp_path: Path, args: tuple[str, ...]) -> None:
    (tmp_path / "test_iso.py").write_text(ISOLATION)
    (tmp_path / "own.yaml").write_text("rules: [{respond: {text: own config}}]\n")
    out = run_pytest(tmp_path, "-p", "no:randomly", *args)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "14 passed" in out.stdout


NO_FIXTURE = '''
import sys

def test_nothing_of_the_server_is_imported():
    heavy = [m for m in ("uvicorn", "starlette", "tiktoken", "msgspec", "ruamel.yaml",
                         "mockllm.app", "mockllm.endpoint", "mockllm.context") if m in sys.modules]
    assert heavy == []
    assert "mockllm.testing" in sys.modules  # the plugin is loaded, just cheap
'''


def test_a_run_without_fixtures_imports_nothing_heavy(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text(NO_FIXTURE)
    out = run_pytest(tmp_path, "-p", "no:asyncio", "-p", "no:anyio")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]


def test_the_marker_is_registered_without_starting_anything() -> None:
    out = subprocess.run([sys.executable, "-m", "pytest", "--markers"], capture_output=True,
                         text=True, timeout=120)
    assert "@pytest.mark.mockllm(config=None, rules=None)" in out.stdout


@pytest.mark.parametrize("module", ["mockllm.config", "mockllm.engine", "mockllm.engine.schema",
                                    "mockllm.context", "mockllm.cli", "mockllm.app"])
def test_each_entry_module_imports_first(module: str) -> None:
    # ``import mockllm`` is lazy, so nothing is imported ahead of these and hides a cycle.
    out = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
