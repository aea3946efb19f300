"""Runtime rules (POST/GET/DELETE /_mockllm/rules), the journal and its filters, the
tokenizer fallback report."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest

from mockllm.testing import LiveServer

Serve = Callable[[str], AbstractContextManager[LiveServer]]
YAML = {"content-type": "application/yaml"}
FILE_RULES = "rules: [{name: file, match: {last_user: hello}, respond: {text: from file}}]\n"


@pytest.fixture
def http(serve: Serve) -> Iterator[httpx.Client]:
    with serve(FILE_RULES + "server: {journal_size: 5}\n") as live, \
            httpx.Client(base_url=live.url, timeout=60) as client:
        yield client


def ask(http: httpx.Client, text: str, model: str = "gpt-4o") -> httpx.Response:
    return http.post("/v1/chat/completions",
                     json={"model": model, "messages": [{"role": "user", "content": text}]})


def content(r: httpx.Response) -> str:
    assert r.status_code == 200, r.text
    return str(r.json()["choices"][0]["message"]["content"])


def test_runtime_rules_go_ahead_of_file_rules(http: httpx.Client) -> None:
    assert content(ask(http, "hello")) == "from file"
    r = http.post("/_mockllm/rules", headers=YAML, content="""
- name: override
  match: {last_user: hello}
  respond: {text: from runtime}
""")
    assert r.status_code == 200 and r.json() == {"added": ["override"], "runtime_rules": 1}
    assert content(ask(http, "hello")) == "from runtime"
    # JSON works too; the newest POST comes first.
    r = http.post("/_mockllm/rules", json={"rules": [
        {"name": "newer", "match": {"last_user": "hello"}, "respond": {"text": "newest"}}]})
    assert r.status_code == 200
    assert content(ask(http, "hello")) == "newest"
    listed = http.get("/_mockllm/rules").json()
    assert [x["name"] for x in listed["runtime"]] == ["newer", "override"]
    assert listed["runtime"][0]["uses"] == 1 and listed["file"][0]["name"] == "file"
    assert http.delete("/_mockllm/rules").json() == {"cleared": True}
    assert content(ask(http, "hello")) == "from file"


def test_a_bad_runtime_rule_is_a_400_with_its_path(http: httpx.Client) -> None:
    r = http.post("/_mockllm/rules", headers=YAML,
                  content="- respond: {text: a}\n- match: {last_user: {regex: '(?P<x'}}\n")
    assert r.status_code == 400
    message = r.json()["error"]["message"]
    assert message.startswith("<request body>:2: rules[1].match.last_user.regex: invalid regex")
    r = http.post("/_mockllm/rules", json={"respond": {"sequence": "nope"}})
    assert r.status_code == 400 and "rules[0].respond.sequence" in r.json()["error"]["message"]
    assert http.get("/_mockllm/rules").json()["runtime"] == []


def test_journal_records_and_filters(http: httpx.Client) -> None:
    content(ask(http, "hello"))
    content(ask(http, "other", model="gpt-4o-latest"))
    assert ask(http, "x", model="gpt-nope").status_code == 404
    entries = http.get("/_mockllm/requests").json()["requests"]
    assert [e["rule"] for e in entries[:2]] == ["file", None]
    first = entries[0]
    assert first["endpoint"] == "openai.chat" and first["model"] == "gpt-4o"
    assert first["status"] == 200 and first["prompt_tokens"] == 8
    assert first["completion_tokens"] == 2 and "total_ms" in first
    assert json.loads(first["body"])["messages"][0]["content"] == "hello"
    assert entries[1]["model"] == "gpt-4o"  # the alias is journaled as the canonical model
    assert entries[2]["status"] == 404
    assert [e["rule"] for e in http.get("/_mockllm/requests?rule=file").json()["requests"]] \
        == ["file"]
    assert http.get("/_mockllm/requests?model=gpt-4o").json()["count"] == 2
    assert http.get("/_mockllm/requests?limit=1").json()["requests"][0]["status"] == 404
    assert http.get("/_mockllm/requests?limit=x").status_code == 400
    assert http.delete("/_mockllm/requests").json() == {"cleared": True}
    assert http.get("/_mockllm/requests").json()["count"] == 0


def test_journal_is_a_bounded_ring(http: httpx.Client) -> None:
    for i in range(8):
        content(ask(http, f"message {i}"))
    entries = http.get("/_mockllm/requests").json()["requests"]
    assert len(entries) == 5
    assert json.loads(entries[0]["body"])["messages"][0]["content"] == "message 3"


def test_the_default_config_needs_no_tokenizer_fallback(http: httpx.Client,
                                                        live: LiveServer) -> None:
    shown = http.get(live.url + "/_mockllm/config").json()
    # o200k_base and cl100k_base ship with mockllm: nothing falls back.
    assert shown["tokenizer_fallbacks"] == {}
    assert shown["error"] is None and shown["source"] == "<embedded default>"


def test_a_fallback_is_shown_and_logged_once(tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    from mockllm.testing import run_server, test_context

    # p50k_base is a real tiktoken vocabulary that mockllm does not ship (and no test
    # machine has in tiktoken's cache: it is never downloaded).
    path = tmp_path / "mockllm.yaml"
    path.write_text("models: [{id: davinci, provider: openai, tokenizer: p50k_base}]\n")
    with caplog.at_level("WARNING", logger="mockllm.tokens"), \
            run_server(test_context(config_path=str(path))) as live, \
            httpx.Client(base_url=live.url, timeout=60) as http:
        for _ in range(3):
            assert ask(http, "hi", model="davinci").status_code == 200
        shown = http.get("/_mockllm/config").json()
    assert shown["tokenizer_fallbacks"] == {"p50k_base": "cl100k_base"}
    warnings = [r for r in caplog.records if "p50k_base" in r.getMessage()]
    assert len(warnings) == 1
    assert "not available offline; counting with 'cl100k_base'" in warnings[0].getMessage()


def test_a_runtime_rule_with_a_bad_latency_block_is_a_400(http: httpx.Client) -> None:
    r = http.post("/_mockllm/rules", json={"latency": {"profile": "nope"}})
    assert r.status_code == 400
    assert "rules[0].latency" in r.json()["error"]["message"]
    ok = http.post("/_mockllm/rules", json={"name": "slow", "latency": {"ttft_ms": 1},
                                            "respond": {"text": "slow"}})
    assert ok.status_code == 200 and content(ask(http, "x")) == "slow"
