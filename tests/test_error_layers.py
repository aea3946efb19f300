"""The same error carries the same envelope and headers whichever layer raised it, for every
builtin API family (issue 15): a 429 from a rule, a control header or the load model; a 404
from the engine (unknown model) or the router (unknown URL); a 400 from the body decoder
(malformed JSON) or the engine's control headers; a 500 from a rule, a fault or a plugin
endpoint that crashed. "The same" is compared as the envelope's key structure and the set of
header names; values (messages, ids) differ by design.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockllm import Endpoint, Registry, hookimpl
from mockllm.testing import LiveServer, run_server, test_context

CONFIG = """
models:
  - {id: gpt-4o, provider: openai}
  - {id: claude-x, provider: anthropic}
  - {id: gemini-2.5-flash, provider: gemini}
  - {id: "llama3.2:3b", provider: ollama}
  - {id: "anthropic.claude-haiku-4-5-20251001-v1:0", provider: bedrock}
  - {id: nvidia/llama-3.2-nv-rerankqa-1b-v2, provider: nim}
  - {id: rerank-v3.5, provider: cohere}
  - {id: busy-gpt, provider: openai, load: {max_concurrent: 1, queue_size: 0},
     latency: {ttft_ms: 0, itl_ms: 1000}}
  - {id: busy-claude, provider: anthropic, load: {max_concurrent: 1, queue_size: 0},
     latency: {ttft_ms: 0, itl_ms: 1000}}
  - {id: busy-gemini, provider: gemini, load: {max_concurrent: 1, queue_size: 0},
     latency: {ttft_ms: 0, itl_ms: 1000}}
  - {id: "busy-llama", provider: ollama, load: {max_concurrent: 1, queue_size: 0},
     latency: {ttft_ms: 0, itl_ms: 1000}}
defaults: {respond: {text: hello there}}
rules:
  - match: {header: {x-layer: rule429}}
    respond: {error: {status: 429}}
  - match: {header: {x-layer: rule500}}
    respond: {error: {status: 500}}
  - match: {model: "busy-*"}
    respond: {generate: {tokens: 60}}
"""

#: Headers every answer may carry whatever it is (the transport's, not the API's).
_TRANSPORT = {"date", "server", "content-length", "content-type", "connection"}


@dataclass
class Api:
    """How one API family is asked: its URL for a model, body and headers."""
    url: Callable[[str], str]
    body: Callable[[str, bool], dict[str, Any]]
    model: str
    unknown_url: str
    headers: dict[str, str] = field(default_factory=dict)
    busy: str | None = None  # a model whose one load slot a stream can hold
    stream_url: Callable[[str], str] | None = None


def _chat(model: str, stream: bool) -> dict[str, Any]:
    return {"model": model, "stream": stream, "max_tokens": 50,
            "messages": [{"role": "user", "content": "hi"}]}


def _gemini(model: str, stream: bool) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


APIS = {
    "openai": Api(lambda m: "/v1/chat/completions", _chat, "gpt-4o", "/v1/nope",
                  busy="busy-gpt"),
    "anthropic": Api(lambda m: "/v1/messages", _chat, "claude-x", "/v1/nope",
                     {"anthropic-version": "2023-06-01"}, busy="busy-claude"),
    "gemini": Api(lambda m: f"/v1beta/models/{m}:generateContent", _gemini, "gemini-2.5-flash",
                  "/v1beta/nope", busy="busy-gemini",
                  stream_url=lambda m: f"/v1beta/models/{m}:streamGenerateContent?alt=sse"),
    "ollama": Api(lambda m: "/api/chat", lambda m, s: {**_chat(m, s), "max_tokens": None},
                  "llama3.2:3b", "/api/nope", busy="busy-llama"),
    "azure": Api(lambda m: f"/openai/deployments/{m}/chat/completions?api-version=2024-10-21",
                 _chat, "gpt-4o", "/openai/nope"),
    "bedrock": Api(lambda m: f"/model/{m}/converse",
                   lambda m, s: {"messages": [{"role": "user", "content": [{"text": "hi"}]}]},
                   "anthropic.claude-haiku-4-5-20251001-v1:0", "/model/x/nope",
                   {"authorization": "Bearer ABSKmockllm"}),
    "nim": Api(lambda m: "/v1/ranking",
               lambda m, s: {"model": m, "query": {"text": "hi"}, "passages": [{"text": "a"}]},
               "nvidia/llama-3.2-nv-rerankqa-1b-v2", "/v1/ranking/nope"),
    "cohere": Api(lambda m: "/v2/rerank",
                  lambda m, s: {"model": m, "query": "hi", "documents": ["a"]},
                  "rerank-v3.5", "/v2/nope"),
}


def _crashes(name: str) -> type[Endpoint]:
    class Crashes(Endpoint):
        provider = name

        async def handle(self, request: Any) -> Any:
            raise RuntimeError(f"a bug in a {name} plugin endpoint")

    return Crashes


@hookimpl
def mockllm_register_endpoints(registry: Registry) -> None:
    for name in APIS:
        registry.register(f"acme.crash_{name}", path=f"/acme/crash/{name}",
                          methods=["POST"])(_crashes(name))


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    path: Path = tmp_path_factory.mktemp("layers") / "mockllm.yaml"
    path.write_text(CONFIG)
    with run_server(test_context(config_path=str(path), modules=[__name__])) as server:
        yield server


@pytest.fixture(scope="module")
def http(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=60) as client:
        yield client


def _shape(value: Any) -> Any:
    """The key structure of a JSON value (what a client's parser depends on)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    return "list" if isinstance(value, list) else "value"


def _same(responses: dict[str, httpx.Response], status: int) -> None:
    """Every response has ``status``, one envelope structure and one set of header names."""
    for layer, r in responses.items():
        assert r.status_code == status, (layer, r.status_code, r.text[:300])
    shapes = {layer: _shape(r.json()) for layer, r in responses.items()}
    names = {layer: sorted(set(r.headers) - _TRANSPORT) for layer, r in responses.items()}
    first = next(iter(responses))
    assert all(s == shapes[first] for s in shapes.values()), shapes
    assert all(n == names[first] for n in names.values()), names


def _post(http: httpx.Client, api: Api, model: str | None = None,
          headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
    model = model or api.model
    if "content" not in kw:
        kw["json"] = api.body(model, False)
    return http.post(api.url(model), headers={**api.headers, **(headers or {})}, **kw)


@pytest.mark.parametrize("name", sorted(APIS))
def test_a_429_from_a_rule_a_control_header_or_the_load_model(http: httpx.Client,
                                                              name: str) -> None:
    api = APIS[name]
    got = {"rule": _post(http, api, headers={"x-layer": "rule429"}),
           "control header": _post(http, api, headers={"x-mockllm-status": "429"})}
    if api.busy is not None:
        url = (api.stream_url or api.url)(api.busy)
        with http.stream("POST", url, json=api.body(api.busy, True),
                         headers=api.headers) as holder:
            lines = holder.iter_lines()  # keep it: dropping the iterator closes the stream
            next(lines)
            got["load model"] = _post(http, api, model=api.busy)
    _same(got, 429)
    if name != "bedrock":  # AWS's 429 carries no retry-after (botocore backs off by code)
        assert all("retry-after" in r.headers for r in got.values())


@pytest.mark.parametrize("name", sorted(APIS))
def test_a_404_from_the_engine_or_the_router(http: httpx.Client, name: str) -> None:
    api = APIS[name]
    model = "no-such-model"
    _same({"unknown model": _post(http, api, model=model, json=api.body(model, False)),
           "unknown URL": http.get(api.unknown_url, headers=api.headers)}, 404)


@pytest.mark.parametrize("name", sorted(APIS))
def test_a_400_from_the_decoder_or_the_control_headers(http: httpx.Client, name: str) -> None:
    api = APIS[name]
    _same({"malformed JSON": _post(http, api, content=b'{"model": '),
           "bad control header": _post(http, api, headers={"x-mockllm-fault": "nosuch"})}, 400)


@pytest.mark.parametrize("name", sorted(APIS))
def test_a_500_from_a_rule_a_fault_or_a_plugin_that_crashed(http: httpx.Client,
                                                           name: str) -> None:
    api = APIS[name]
    _same({"rule": _post(http, api, headers={"x-layer": "rule500"}),
           "error fault": _post(http, api, headers={"x-mockllm-fault": "error"}),
           "plugin exception": http.post(f"/acme/crash/{name}", json={},
                                         headers=api.headers)}, 500)
