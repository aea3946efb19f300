"""A third-party transport replaces a builtin one by key, and ``--use KEY=builtin`` (or a
runtime switch) brings the builtin back. The Ollama stream shows which one answered."""

from __future__ import annotations

import httpx

from mockllm.testing import run_server, test_context

PLUGIN = "tests.plugins.alt_transport"
BODY = {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}],
        "options": {"num_predict": 3}}


def chat(http: httpx.Client, url: str) -> httpx.Response:
    r = http.post(url + "/api/chat", json=BODY)
    assert r.status_code == 200
    return r


def test_plugin_transport_replaces_builtin_ndjson(http: httpx.Client) -> None:
    context = test_context(modules=[PLUGIN])
    resolution = context.transports.resolutions["ndjson"]
    assert resolution.winner.plugin == PLUGIN and resolution.reason == "plugin"
    with run_server(context) as live:
        r = chat(http, live.url)
    assert r.headers["content-type"] == "application/json-seq"
    records = r.content.split(b"\x1e")
    assert records[0] == b"" and len(records) == 5  # 3 tokens + the done object
    assert all(rec.startswith(b'{"model":"llama3.2"') and rec.endswith(b"}\n")
               for rec in records[1:])
    assert b'"done":true' in records[-1]


def test_use_builtin_brings_ndjson_back(http: httpx.Client) -> None:
    context = test_context(modules=[PLUGIN], use={"ndjson": "builtin"})
    assert context.transports.resolutions["ndjson"].reason == "override"
    with run_server(context) as live:
        r = chat(http, live.url)
    assert r.headers["content-type"] == "application/x-ndjson"
    lines = r.content.split(b"\n")
    assert b"\x1e" not in r.content and lines[-1] == b"" and len(lines) == 5


def test_runtime_switch_takes_effect_on_next_request(http: httpx.Client) -> None:
    context = test_context(modules=[PLUGIN])
    with run_server(context) as live:
        assert chat(http, live.url).headers["content-type"] == "application/json-seq"
        context.transports.use_implementation("ndjson", "builtin")
        assert chat(http, live.url).headers["content-type"] == "application/x-ndjson"
