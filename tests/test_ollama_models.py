"""Ollama's model endpoints through the official ollama client: ``GET /`` (the liveness
probe), ``/api/ps`` (what keep_alive keeps loaded) and ``/api/show``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import ollama
import pytest

from mockllm.testing import LiveServer, run_config
from plugins_builtin.ollama.running import keep_alive_seconds

CONFIG = """
models:
  - {id: "llama3.2:3b", provider: ollama, aliases: [llama3.2], context_window: 131072}
  - {id: "qwen3:8b", provider: ollama, aliases: [qwen3], context_window: 40960,
     capabilities: {thinking: [enabled]}}
  - {id: "nomic-embed-text:latest", provider: ollama, aliases: [nomic-embed-text],
     context_window: 2048, dimensions: 768}
  - {id: gpt-4o, provider: openai}
"""


@pytest.fixture
def server() -> Iterator[LiveServer]:
    # Function-scoped: /api/ps lists what earlier requests loaded.
    with run_config(CONFIG) as live:
        yield live


@pytest.fixture
def client(server: LiveServer) -> Iterator[ollama.Client]:
    c = ollama.Client(host=server.url)
    yield c
    c.close()


def test_root_says_ollama_is_running(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url) as http:
        r = http.get("/")
        assert r.status_code == 200 and r.text == "Ollama is running"
        assert r.headers["content-type"] == "text/plain; charset=utf-8"
        head = http.head("/")
        assert head.status_code == 200 and head.content == b""
        # The routes beside it are untouched.
        assert http.get("/health").status_code == 200
        assert http.get("/api/version").json() == {"version": "0.13.0"}


def test_another_method_on_root_is_ollamas_405(server: LiveServer) -> None:
    # Real Ollama (gin with HandleMethodNotAllowed, since 0.6.6) answers POST / with 405
    # "405 method not allowed" and an Allow header; in Ollama's envelope here, not OpenAI's.
    with httpx.Client(base_url=server.url) as http:
        r = http.post("/", json={"model": "qwen3"})
        wrong = http.get("/api/chat")
    assert r.status_code == 405 and r.json() == {"error": "405 method not allowed"}
    assert {m.strip() for m in r.headers["allow"].split(",")} >= {"GET", "HEAD"}
    assert wrong.status_code == 405 and wrong.json() == {"error": "405 method not allowed"}
    client = ollama.Client(host=server.url)
    with pytest.raises(ollama.ResponseError) as err:  # the client's own request path
        client._request_raw("POST", "/", json={})  # noqa: SLF001 - no public call for it
    client.close()
    assert err.value.error == "405 method not allowed" and err.value.status_code == 405


def test_ps_lists_what_keep_alive_keeps_loaded(client: ollama.Client) -> None:
    assert client.ps().models == []
    before = datetime.now(UTC)
    client.chat(model="qwen3", messages=[{"role": "user", "content": "hi"}])
    client.generate(model="llama3.2", prompt="hi", keep_alive=-1)
    client.embed(model="nomic-embed-text", input="hello", keep_alive="1h30m")
    models = client.ps().models
    # Ollama's order: the model that stays loaded longest first.
    assert [m.model for m in models] == ["llama3.2:3b", "nomic-embed-text:latest", "qwen3:8b"]
    forever, embed, qwen = models
    assert forever.expires_at is not None and forever.expires_at.year > 2300
    assert embed.expires_at is not None and qwen.expires_at is not None
    assert embed.expires_at >= before + timedelta(minutes=90)
    assert before + timedelta(minutes=5) <= qwen.expires_at < before + timedelta(minutes=90)
    assert qwen.name == "qwen3:8b" and qwen.context_length == 4096
    assert qwen.size == qwen.size_vram == 5_040_000_000  # 8B parameters at Q4_K_M
    assert qwen.details is not None and qwen.details.parameter_size == "8B"
    assert qwen.digest and len(qwen.digest) == 64


def test_keep_alive_zero_unloads(client: ollama.Client) -> None:
    client.generate(model="llama3.2", prompt="")
    assert [m.model for m in client.ps().models] == ["llama3.2:3b"]
    out = client.generate(model="llama3.2", prompt="", keep_alive=0)
    assert out.done and out.done_reason == "unload"
    assert client.ps().models == []
    loaded = client.chat(model="llama3.2", messages=[])
    assert loaded.done_reason == "load"


def test_bad_keep_alive_is_a_400(server: LiveServer) -> None:
    r = httpx.post(server.url + "/api/chat", json={"model": "qwen3", "messages": [],
                                                   "keep_alive": "5 fortnights"})
    assert r.status_code == 400 and r.json() == {"error": 'time: invalid duration "5 fortnights"'}


@pytest.mark.parametrize(("value", "seconds"), [
    (None, 300.0), (60, 60.0), ("10", 10.0), ("5m", 300.0), ("1h30m", 5400.0),
    ("-1", -1.0), ("-1m", -60.0), ("250ms", 0.25), (0, 0.0),
])
def test_keep_alive_durations(value: str | int | None, seconds: float) -> None:
    assert keep_alive_seconds(value) == seconds


def test_show_is_complete(client: ollama.Client) -> None:
    show = client.show("qwen3")
    assert show.details is not None and show.details.family == "qwen"
    assert show.template is not None and "<|im_start|>" in show.template
    assert show.parameters is not None
    assert show.parameters.splitlines() == [
        'stop                           "<|im_start|>"',
        'stop                           "<|im_end|>"',
    ]
    assert show.modelfile is not None and "# FROM qwen3:8b" in show.modelfile
    assert f'TEMPLATE """{show.template}"""' in show.modelfile
    assert show.modelinfo is not None
    assert show.modelinfo["general.parameter_count"] == 8_000_000_000
    assert show.modelinfo["qwen.context_length"] == 40960
    assert show.capabilities == ["completion", "tools", "thinking"]
    assert show.modified_at is not None
    llama = client.show("llama3.2:3b")
    assert llama.template is not None and "<|start_header_id|>" in llama.template
    assert llama.capabilities == ["completion", "tools"]
    embed = client.show("nomic-embed-text")
    assert embed.capabilities == ["embedding"]
    assert embed.modelinfo is not None and embed.modelinfo["nomic.embedding_length"] == 768
    assert embed.parameters == "num_ctx                        2048"


def test_show_unknown_model_is_404(client: ollama.Client, server: LiveServer) -> None:
    with pytest.raises(ollama.ResponseError) as err:
        client.show("nope")
    assert err.value.status_code == 404 and err.value.error == "model 'nope' not found"
    r = httpx.post(server.url + "/api/show", json={"model": "nope"})
    assert r.status_code == 404 and r.json() == {"error": "model 'nope' not found"}
    missing = httpx.post(server.url + "/api/show", json={})
    assert missing.status_code == 400 and missing.json() == {"error": "model is required"}


def test_ollama_routes_take_no_key_as_ollama_has_no_auth() -> None:
    # With server.api_keys set, the OpenAI routes need a key; Ollama's own (show, chat,
    # tags) answer without one, as a real Ollama server does (it has no API keys).
    with run_config(CONFIG + "server: {api_keys: [sk-only]}\n") as live:
        client = ollama.Client(host=live.url)
        try:
            assert client.show("qwen3").capabilities
            assert client.chat(model="qwen3", messages=[{"role": "user", "content": "hi"}],
                               think=False).message.content
            assert [m.model for m in client.list().models]
        finally:
            client.close()
        r = httpx.post(live.url + "/v1/chat/completions",
                       json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
        assert r.status_code == 401
