"""``registry.wrap(key)(cls)``: extending whatever implementation wins a key."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from starlette.testclient import TestClient

from mockllm.app import build_app
from mockllm.assembly import StartupOptions, create_context
from mockllm.registry import PluginError
from mockllm.testing import run_server

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


def make(*modules: str, **kw: Any) -> Any:
    return create_context(StartupOptions(autoload=False, modules=list(modules), **kw))


def test_wrapper_delegates_to_the_builtin_through_the_openai_sdk() -> None:
    ctx = make("tests.plugins.wrap_chat")
    with run_server(ctx) as live:
        client = openai.OpenAI(base_url=live.openai_url, api_key="x")
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        assert raw.headers["x-wrapped"] == "wrap_chat"
        assert raw.parse().choices[0].message.content  # the builtin's answer, unchanged


def test_wrapper_wraps_another_plugins_implementation_and_runtime_switches() -> None:
    ctx = make("tests.plugins.acme_chat", "tests.plugins.wrap_chat")
    with TestClient(build_app(ctx)) as client:
        r = client.post("/v1/chat/completions", json=CHAT)
        assert r.json() == {"by": "acme"} and r.headers["x-wrapped"] == "wrap_chat"
        ctx.endpoints.use_implementation("openai.chat", "builtin")
        r = client.post("/v1/chat/completions", json=CHAT)
        assert r.json()["object"] == "chat.completion"
        assert r.headers["x-wrapped"] == "wrap_chat"


def test_wrappers_stack_in_precedence_order() -> None:
    # wrap_chat is loaded first, wrap_chat_outer is tryfirst: tryfirst ranks higher, so it is
    # outermost and stamps last.
    ctx = make("tests.plugins.wrap_chat", "tests.plugins.wrap_chat_outer")
    assert [w.plugin for w in ctx.endpoints.wrappers("openai.chat")] == [
        "tests.plugins.wrap_chat_outer", "tests.plugins.wrap_chat"]
    with TestClient(build_app(ctx)) as client:
        r = client.post("/v1/chat/completions", json=CHAT)
        assert r.headers["x-wrapped"] == "wrap_chat,outer"


def test_wrapping_a_key_nobody_implements_is_refused() -> None:
    with pytest.raises(PluginError, match="wraps endpoint 'openai.chat', which no plugin"):
        make("tests.plugins.wrap_chat", disable=["builtin.openai"])


def test_the_hook_registry_can_only_register() -> None:
    from mockllm import Registry

    public = {n for n in dir(Registry) if not n.startswith("_")}
    assert public == {"kind", "keys", "register", "wrap"}
