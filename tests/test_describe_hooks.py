"""`mockllm plugins` shows every contribution to every hook, with who won and why."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

import mockllm
from mockllm.app import build_app
from mockllm.cli import main
from mockllm.describe import plugins_json
from mockllm.testing import test_context

MODULES = ["tests.plugins.acme_hooks", "tests.plugins.wrap_chat", "tests.plugins.bimodal_latency"]


def test_plugins_json_lists_every_hook_contribution() -> None:
    data = plugins_json(test_context(modules=MODULES))
    acme = next(p for p in data["plugins"] if p["name"] == "tests.plugins.acme_hooks")
    assert acme["matchers"] == ["acme.sentiment"]
    assert acme["responders"] == ["acme.broken", "acme.forecast", "acme.lorem"]
    assert acme["validators"] == ["acme.no_secrets"]
    wrap = next(p for p in data["plugins"] if p["name"] == "tests.plugins.wrap_chat")
    assert wrap["wraps"] == ["openai.chat"]
    assert data["wraps"] == [{"key": "openai.chat", "kind": "endpoint", "wrappers": [
        {"plugin": "tests.plugins.wrap_chat", "class": "tests.plugins.wrap_chat:Stamped"}]}]
    bimodal = next(e for e in data["latency_models"] if e["name"] == "bimodal")
    assert bimodal["selected"] == "tests.plugins.bimodal_latency"
    assert bimodal["why"] == "the only implementation (there is no builtin for it)"
    assert {e["name"] for e in data["matchers"]} == {"acme.sentiment"}
    assert data["startup"][0] == "builtin.admin" and "builtin.admin" in data["shutdown"]
    assert "builtin.tokenizers" in data["tokenizers"]["implemented_by"]
    chat = next(e for e in data["endpoints"] if e["key"] == "openai.chat")
    assert chat["wrappers"] == ["tests.plugins.wrap_chat"]
    assert chat["why"] == "builtin (nothing else implements it)"


def test_why_words_are_true_for_the_key() -> None:
    data = plugins_json(test_context(modules=["tests.plugins.acme_chat",
                                              "tests.plugins.other_chat"]))
    chat = next(e for e in data["endpoints"] if e["key"] == "openai.chat")
    assert chat["why"].startswith("loaded before tests.plugins.other_chat")
    data = plugins_json(test_context(modules=["tests.plugins.acme_chat"]))
    chat = next(e for e in data["endpoints"] if e["key"] == "openai.chat")
    assert chat["why"] == "a plugin beats the builtin (builtin.openai)"


def test_a_bad_override_names_its_kind_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", "--use", "openai.chat=builtin.health"]) == 2
    err = capsys.readouterr().err
    assert "start-up override (--use) openai.chat=builtin.health" in err
    assert "override override" not in err


def test_plugins_text_shows_merged_hooks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", *(a for m in MODULES for a in ("-p", m))]) == 0
    out = capsys.readouterr().out
    for line in ("matchers:", "responders:", "validators:", "latency models:",
                 "wraps (outermost first):", "tokenizers:", "startup:", "shutdown:"):
        assert line in out
    assert main(["plugins", "--json"]) == 0
    assert "matchers" in json.loads(capsys.readouterr().out)


def test_an_observer_that_raises_never_fails_a_request(caplog: pytest.LogCaptureFixture) -> None:
    ctx = test_context()
    calls: list[Any] = []

    def bad(obs: mockllm.Observation) -> None:
        calls.append(obs)
        raise RuntimeError("observer bug")

    ctx.observers.append(bad)
    with TestClient(build_app(ctx)) as client:
        for _ in range(2):
            r = client.post("/v1/chat/completions", json={
                "model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
            assert r.status_code == 200
    assert len(calls) == 2
    assert ctx.observer_failures[id(bad)] == 2
    assert [r for r in caplog.records if "observer" in r.getMessage()][0].exc_info
    assert len([r for r in caplog.records if "observer" in r.getMessage()]) == 1
