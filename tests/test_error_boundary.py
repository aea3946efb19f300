"""One error boundary: the same error carries the same envelope and headers whichever layer
raised it (a rule, a control header, the load model, the router, a plugin that crashed).

Through the real SDKs where they apply, and httpx for the raw headers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from mockllm import Endpoint, Registry, hookimpl
from mockllm.testing import LiveServer, run_server, test_context

CONFIG = """
server: {max_body_bytes: 4096}
models:
  - {id: gpt-4o, provider: openai}
  - {id: claude-x, provider: anthropic}
  - {id: busy, provider: openai, load: {max_concurrent: 1, queue_size: 0},
     latency: {ttft_ms: 0, itl_ms: 1000}}
  - {id: busy-claude, provider: anthropic, load: {max_concurrent: 1, queue_size: 0},
     latency: {ttft_ms: 0, itl_ms: 1000}}
defaults: {respond: {text: hello there}}
rules:
  - match: {last_user: {contains: limit me}}
    respond: {error: {status: 429}}
  - match: {model: "busy*"}
    respond: {generate: {tokens: 60}}
"""

RATE_LIMIT = {"retry-after", "retry-after-ms", "x-ratelimit-limit-requests",
              "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests",
              "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens",
              "x-ratelimit-reset-tokens"}


class Crashes(Endpoint):
    """A plugin endpoint with a bug."""

    async def handle(self, request: Any) -> Any:
        raise RuntimeError("plugin bug")


class Foreign:
    """Not an Endpoint at all: only the contract (``cls(context)``, ``await impl(request)``)."""

    def __init__(self, context: Any) -> None:
        self.context = context

    async def __call__(self, request: Any) -> Any:
        raise KeyError("foreign bug")


@hookimpl
def mockllm_register_endpoints(registry: Registry) -> None:
    registry.register("acme.crash", path="/v1/crash", methods=["POST"])(Crashes)
    registry.register("acme.foreign", path="/api/foreign", methods=["POST"])(Foreign)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    path: Path = tmp_path_factory.mktemp("boundary") / "mockllm.yaml"
    path.write_text(CONFIG)
    with run_server(test_context(config_path=str(path), modules=[__name__])) as server:
        yield server


@pytest.fixture(scope="module")
def http(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=60) as client:
        yield client


def _chat(model: str, text: str = "hi", stream: bool = False) -> dict[str, Any]:
    return {"model": model, "stream": stream, "messages": [{"role": "user", "content": text}]}


def _load_429(http: httpx.Client, path: str, body: dict[str, Any],
              headers: dict[str, str] | None = None) -> httpx.Response:
    """A 429 from the load model: one stream holds the only slot, the next is refused."""
    with http.stream("POST", path, json={**body, "stream": True},
                     headers=headers or {}) as holder:
        lines = holder.iter_lines()  # keep it: dropping the iterator closes the response
        next(lines)
        return http.post(path, json=body, headers=headers or {})


def test_a_429_has_the_same_headers_from_a_rule_a_header_or_the_load_model(
        http: httpx.Client) -> None:
    rule = http.post("/v1/chat/completions", json=_chat("gpt-4o", "limit me"))
    forced = http.post("/v1/chat/completions", json=_chat("gpt-4o"),
                       headers={"x-mockllm-status": "429"})
    load = _load_429(http, "/v1/chat/completions", _chat("busy"))
    for r in (rule, forced, load):
        assert r.status_code == 429
        assert RATE_LIMIT <= set(r.headers), set(r.headers)
        assert r.headers["x-request-id"].startswith("req_")
        assert r.json()["error"]["code"] == "rate_limit_exceeded"
    names = [sorted(k for k in r.headers if k.startswith(("x-ratelimit", "retry")))
             for r in (rule, forced, load)]
    assert names[0] == names[1] == names[2]
    values = [{k: r.headers[k] for k in ("x-ratelimit-limit-requests",
                                         "x-ratelimit-limit-tokens")}
              for r in (rule, forced, load)]
    assert values[0] == values[1] == values[2]


def test_an_anthropic_429_from_the_load_model_is_a_rate_limit_error_with_its_headers(
        http: httpx.Client, live: LiveServer) -> None:
    body = {"model": "busy-claude", "max_tokens": 100,
            "messages": [{"role": "user", "content": "hi"}]}
    headers = {"anthropic-version": "2023-06-01"}
    load = _load_429(http, "/v1/messages", body, headers)
    rule = http.post("/v1/messages", headers=headers, json={
        **body, "model": "claude-x", "messages": [{"role": "user", "content": "limit me"}]})
    for r in (load, rule):
        assert r.status_code == 429
        assert r.json()["error"]["type"] == "rate_limit_error"
        assert r.headers["anthropic-ratelimit-requests-remaining"] == "0"
        assert RATE_LIMIT <= set(r.headers)
        assert r.json()["request_id"] == r.headers["request-id"]
    client = anthropic.Anthropic(base_url=live.url, api_key="k", max_retries=0)
    with pytest.raises(anthropic.RateLimitError):
        client.messages.create(model="claude-x", max_tokens=10,
                               messages=[{"role": "user", "content": "limit me"}])


def test_a_faulty_body_keeps_its_request_id(http: httpx.Client) -> None:
    for kind in ("malformed", "truncate"):
        r = http.post("/v1/chat/completions", json=_chat("gpt-4o"),
                      headers={"x-mockllm-fault": kind})
        assert r.headers["x-request-id"].startswith("req_"), kind
        with pytest.raises(ValueError):
            r.json()


def test_a_plugin_exception_is_a_500_in_the_envelope_of_its_api(
        http: httpx.Client, live: LiveServer) -> None:
    crash = http.post("/v1/crash", json={})
    assert crash.status_code == 500
    assert crash.json()["error"]["type"] == "server_error"
    # Not an Endpoint: the boundary picks the envelope from the URL (Ollama's /api/).
    foreign = http.post("/api/foreign", json={})
    assert foreign.status_code == 500 and set(foreign.json()) == {"error"}
    client = openai.OpenAI(base_url=live.url + "/v1", api_key="k", max_retries=0)
    with pytest.raises(openai.InternalServerError):
        client.post("/crash", cast_to=httpx.Response, body={})


def test_a_malformed_body_is_worded_by_its_provider(http: httpx.Client) -> None:
    nim = http.post("/v1/ranking", content=b"{nope")
    assert nim.status_code == 400 and nim.json()["object"] == "error"
    assert "OpenAI" not in nim.json()["message"]
    oai = http.post("/v1/chat/completions", content=b"{nope")
    assert oai.status_code == 400 and "OpenAI API expects" in oai.json()["error"]["message"]
    ant = http.post("/v1/messages", content=b"{nope")
    assert ant.status_code == 400 and ant.json()["type"] == "error"
    oll = http.post("/api/chat", content=b"{nope")
    assert oll.status_code == 400 and oll.json()["error"].startswith("invalid JSON")


def test_unknown_urls_answer_in_the_envelope_of_the_api_spoken(http: httpx.Client) -> None:
    assert http.get("/v1/nope").json()["error"]["message"] == "Invalid URL (GET /v1/nope)"
    assert http.get("/api/nope").json() == {"error": "Invalid URL (GET /api/nope)"}
    ant = http.get("/v1/nope", headers={"anthropic-version": "2023-06-01"})
    assert ant.status_code == 404 and ant.json()["error"]["type"] == "not_found_error"
    assert ant.json()["request_id"] == ant.headers["request-id"]
    nim = http.get("/v1/ranking")
    assert nim.status_code == 405 and nim.json()["object"] == "error"


_ANT = {"anthropic-version": "2023-06-01"}


@pytest.mark.parametrize("method, path, kw, status", [
    ("POST", "/v1/chat/completions", {"content": b"{bad"}, 400),
    ("POST", "/v1/chat/completions", {"content": b"x" * 5000}, 413),
    ("POST", "/v1/chat/completions", {"json": _chat("gpt-4o"), "headers": {
        "x-mockllm-fault": "error"}}, 500),
    ("POST", "/v1/chat/completions", {"json": _chat("gpt-4o"), "headers": {
        "x-mockllm-fault": "nosuch"}}, 400),
    ("GET", "/v1/nothing-here", {}, 404),
    ("GET", "/v1/chat/completions", {}, 405),
    ("POST", "/_mockllm/reload", {"headers": {"origin": "http://evil.example"}}, 403),
    ("POST", "/_mockllm/rules", {"content": b"x", "headers": {"content-type": "text/plain"}},
     415),
    ("POST", "/v1/messages", {"content": b"{bad", "headers": _ANT}, 400),
    ("GET", "/v1/messages", {"headers": _ANT}, 405),
    ("POST", "/v1/messages", {"json": {"model": "claude-x", "max_tokens": 5, "messages": [
        {"role": "user", "content": "hi"}]}, "headers": {**_ANT, "x-mockllm-status": "529"}},
     529),
])
def test_every_error_envelope_carries_the_request_id(
        http: httpx.Client, method: str, path: str, kw: dict[str, Any], status: int) -> None:
    r = http.request(method, path, **kw)
    assert r.status_code == status, r.text
    header = "request-id" if "anthropic-version" in kw.get("headers", {}) else "x-request-id"
    assert r.headers[header].startswith("req_"), dict(r.headers)
