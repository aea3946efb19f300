"""Bad input never yields a 500 or a traceback: every endpoint answers 4xx in its envelope.

Cases found by an adversarial sweep of a live server (deep nesting, invalid UTF-8, schemas
that ask for huge answers, schemas with keywords of the wrong type), kept as regressions.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mockllm.engine import jsonschema
from mockllm.testing import LiveServer, run_config, run_server, test_context

#: Every POST endpoint, with the envelope its errors come in.
POSTS = {
    "/v1/chat/completions": "openai",
    "/v1/completions": "openai",
    "/v1/embeddings": "openai",
    "/v1/responses": "openai",
    "/v1/messages": "anthropic",
    "/v1/messages/count_tokens": "anthropic",
    "/v1/ranking": "nim",
    "/api/chat": "ollama",
    "/api/generate": "ollama",
    "/api/embed": "ollama",
    "/api/embeddings": "ollama",
    "/api/show": "ollama",
    "/_mockllm/plugins/use": "admin",
}

#: The content type an admin body must declare (cross-site forms cannot).
YAML = {"content-type": "application/yaml"}
DEPTH = 10_000
#: Past Python's recursion limit for ruamel's parser, yet quick to parse.
YAML_DEPTH = 1_500
MALFORMED = {
    "deep-object": b'{"a":' * DEPTH + b"1" + b"}" * DEPTH,
    "deep-array": b"[" * DEPTH + b"]" * DEPTH,
    "deep-object-in-field": b'{"model":"m","x":' + b'{"a":' * DEPTH + b"1" + b"}" * (DEPTH + 1),
    "invalid-utf8-in-string": b'{"model":"\xff\xfe","messages":[]}',
    "invalid-utf8-bare": b"\xff\xfe\x00",
    "lone-surrogate": b'{"model":"\\ud800","messages":[{"role":"user","content":"\\udfff"}]}',
    "nan": b'{"model": NaN}',
    "empty": b"",
    "not-json": b"not json",
    "array": b"[]",
    "string": b'"s"',
    "number": b"1",
    "null": b"null",
    "truncated": b'{"model":',
}

_CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}

#: Client-supplied JSON schemas the structured-output generator must refuse, not choke on.
BAD_SCHEMAS: dict[str, Any] = {
    "huge-minLength": {"type": "string", "minLength": 100_000_000},
    "huge-minItems": {"type": "array", "minItems": 10_000_000},
    "nested-minItems": {"type": "array", "minItems": 1000, "items": {
        "type": "array", "minItems": 1000, "items": {"type": "string"}}},
    "minLength-string": {"type": "string", "minLength": "x"},
    "properties-int": {"type": "object", "properties": 1},
    "required-int": {"type": "object", "required": 1},
    "multipleOf-string": {"type": "integer", "multipleOf": "x"},
    "inverted-range": {"type": "integer", "minimum": 10, "maximum": 1},
}


def _envelope_ok(kind: str, doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    if kind == "openai":
        return isinstance(doc.get("error"), dict) and {"message", "type", "param",
                                                      "code"} <= set(doc["error"])
    if kind == "anthropic":
        return doc.get("type") == "error" and {"type", "message"} <= set(doc["error"])
    if kind == "ollama":
        return isinstance(doc.get("error"), str)
    if kind == "nim":
        return doc.get("object") == "error" or "error" in doc
    return "error" in doc


class _Errors(logging.Handler):
    """Collects ERROR records and any record with a traceback, from every logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with run_server(test_context()) as live:
        yield live


@pytest.fixture(scope="module")
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


@pytest.fixture
def errors() -> Iterator[_Errors]:
    handler = _Errors()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


def _post(http: httpx.Client, path: str, body: bytes) -> httpx.Response:
    headers = {"content-type": "application/json", "anthropic-version": "2023-06-01"}
    return http.post(path, content=body, headers=headers)


def _assert_clean(r: httpx.Response, kind: str, errors: _Errors) -> None:
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    assert _envelope_ok(kind, r.json()), r.text[:300]
    assert not errors.records, [rec.getMessage() for rec in errors.records]


@pytest.mark.parametrize("name", list(MALFORMED))
@pytest.mark.parametrize("path", list(POSTS))
def test_malformed_body_is_a_4xx_in_the_envelope(
    http: httpx.Client, errors: _Errors, path: str, name: str
) -> None:
    _assert_clean(_post(http, path, MALFORMED[name]), POSTS[path], errors)


def test_malformed_rules_body_is_a_400(http: httpx.Client, errors: _Errors) -> None:
    for body in (b"rules: [", b"\xff\xfe", b"[" * YAML_DEPTH, b"rules: [{respond: 1}]"):
        _assert_clean(http.post("/_mockllm/rules", content=body, headers=YAML), "admin", errors)


@pytest.mark.parametrize("name", list(BAD_SCHEMAS))
@pytest.mark.parametrize("where", ["openai.chat", "openai.responses", "openai.tool",
                                   "anthropic.tool", "ollama.format"])
def test_bad_client_schema_is_a_400(
    http: httpx.Client, errors: _Errors, where: str, name: str
) -> None:
    schema = BAD_SCHEMAS[name]
    path, kind, body = {
        "openai.chat": ("/v1/chat/completions", "openai", {**_CHAT, "response_format": {
            "type": "json_schema", "json_schema": {"name": "x", "schema": schema}}}),
        "openai.responses": ("/v1/responses", "openai", {"model": "gpt-4o", "input": "hi",
            "text": {"format": {"type": "json_schema", "name": "x", "schema": schema}}}),
        "openai.tool": ("/v1/chat/completions", "openai", {**_CHAT, "tool_choice": "required",
            "tools": [{"type": "function", "function": {"name": "f", "parameters": schema}}]}),
        "anthropic.tool": ("/v1/messages", "anthropic", {
            "model": "claude-sonnet-4-5", "max_tokens": 5, "tool_choice": {"type": "any"},
            "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"name": "f", "input_schema": schema}]}),
        "ollama.format": ("/api/chat", "ollama", {"model": "llama3", "stream": False,
            "messages": [{"role": "user", "content": "hi"}], "format": schema}),
    }[where]
    r = _post(http, path, json.dumps(body).encode())
    if r.status_code == 200:
        # The endpoint may not honour this schema at all (e.g. a tool it did not call).
        assert not errors.records, [rec.getMessage() for rec in errors.records]
        return
    _assert_clean(r, kind, errors)


@pytest.mark.parametrize("name", list(BAD_SCHEMAS))
def test_schema_generator_refuses_with_schema_error(name: str) -> None:
    with pytest.raises(jsonschema.SchemaError):
        jsonschema.instance(BAD_SCHEMAS[name])


def test_generator_keeps_large_max_items_small() -> None:
    value = jsonschema.instance({"type": "array", "maxItems": 10**9, "items": {"type": "integer"}})
    assert 1 <= len(value) <= 16
    text = jsonschema.instance({"type": "string", "minLength": 5000})
    assert len(text) >= 5000


@pytest.mark.parametrize("body", [
    b"&a [*a]",  # an alias inside itself
    b"a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\n"
    b"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e]\n",
    b"rules: " + b"[" * YAML_DEPTH + b"]" * YAML_DEPTH,
    b"{" * YAML_DEPTH,
    b"- " * YAML_DEPTH + b"x",
    MALFORMED["deep-object"],
], ids=["self-alias", "billion-laughs", "deep-flow", "deep-unclosed", "deep-block", "deep-json"])
def test_hostile_yaml_rules_are_a_400(http: httpx.Client, errors: _Errors, body: bytes) -> None:
    r = http.post("/_mockllm/rules", content=body, headers=YAML)
    _assert_clean(r, "admin", errors)
    assert r.status_code == 400


def test_a_rules_body_past_yaml_bytes_is_a_413(errors: _Errors) -> None:
    with run_config("server: {limits: {yaml_bytes: 64}}\n") as live, \
            httpx.Client(base_url=live.url, timeout=60) as c:
        small = c.post("/_mockllm/rules", content=b"{respond: {text: hi}}", headers=YAML)
        big = c.post("/_mockllm/rules", content=b"{respond: {text: " + b"x" * 64 + b"}}",
                     headers=YAML)
    assert small.status_code == 200, small.text
    _assert_clean(big, "admin", errors)
    assert big.status_code == 413
    assert "server.limits.yaml_bytes" in big.json()["error"]["message"]


@pytest.mark.parametrize("dims", [-1, 2**63 - 1, 10**7])
def test_ollama_embed_dimensions_out_of_range(
    http: httpx.Client, errors: _Errors, dims: int
) -> None:
    """A negative length is a 400; a huge one is the model's own (Ollama only truncates)."""
    r = _post(http, "/api/embed", json.dumps(
        {"model": "nomic-embed-text", "input": "hi", "dimensions": dims}).encode())
    if dims < 0:
        _assert_clean(r, "ollama", errors)
        return
    assert r.status_code == 200, r.text[:300]
    vector = r.json()["embeddings"][0]
    assert 0 < len(vector) <= 4096
    assert not errors.records


@pytest.mark.parametrize("body", [{"key": "nope"}, {"key": "nope", "plugin": "x"},
                                  {"key": "openai.chat", "plugin": "nope"}, {"key": 1}, {}])
def test_plugins_use_with_bad_keys_is_a_400(
    http: httpx.Client, errors: _Errors, body: dict[str, Any]
) -> None:
    r = http.post("/_mockllm/plugins/use", json=body)
    _assert_clean(r, "admin", errors)
    assert r.status_code == 400


@pytest.mark.parametrize(("method", "path", "kind"), [
    ("GET", "/v1/chat/completions", "openai"),
    ("POST", "/v1/models", "openai"),
    ("GET", "/v1/nope", "openai"),
    ("GET", "/v1/messages", "anthropic"),
    ("PUT", "/v1/messages/count_tokens", "anthropic"),
    ("GET", "/v1/ranking", "nim"),
    ("GET", "/api/chat", "ollama"),
    ("POST", "/api/tags", "ollama"),
    ("GET", "/api/nope", "ollama"),
])
def test_wrong_method_or_url_is_in_the_provider_envelope(
    http: httpx.Client, errors: _Errors, method: str, path: str, kind: str
) -> None:
    r = http.request(method, path, content=b"{}")
    assert r.status_code in (404, 405)
    _assert_clean(r, kind, errors)


@pytest.mark.parametrize("value", [b"Bearer \xff\xfe", "Bearer é".encode(), b"Bearer"])
def test_non_ascii_admin_token_is_a_401(errors: _Errors, value: bytes) -> None:
    with run_config("server: {admin_token: tok}\n") as live, \
            httpx.Client(base_url=live.url, timeout=60) as c:
        r = c.get("/_mockllm/config", headers=[(b"authorization", value)])
        ok = c.get("/_mockllm/config", headers={"authorization": "Bearer tok"})
    _assert_clean(r, "admin", errors)
    assert r.status_code == 401
    assert ok.status_code == 200


@pytest.mark.parametrize("body", [MALFORMED["deep-object"], MALFORMED["invalid-utf8-in-string"],
                                  b"not json"])
def test_match_json_on_an_unreadable_body_matches_nothing(body: bytes) -> None:
    """``match.json`` decodes the raw body itself; an unreadable one is simply no match."""
    from mockllm.engine.matching import RequestView
    from mockllm.engine.request import NeutralRequest

    view = RequestView(NeutralRequest(endpoint="openai.chat", provider="openai", model="m",
                                      body=body))
    assert view.raw is None
