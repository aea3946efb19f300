"""OpenAI's error envelope: 400/401/404/413/429 as the SDK's exception classes see them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from mockllm.testing import LiveServer, run_server, test_context

MODELS = """
models:
  - {id: gpt-4o-mini, provider: openai, tokenizer: cl100k_base, max_output_tokens: 1000}
  - {id: text-embedding-3-small, provider: openai, tokenizer: cl100k_base, dimensions: 8}
"""
RULES = """
rules:
  - name: limited
    match: {last_user: {contains: ratelimit}}
    respond: {error: {status: 429, retry_after: 0}}
  - name: broken
    match: {last_user: {contains: explode}}
    respond: {error: {status: 503, message: "The engine is currently overloaded."}}
"""
MODEL = "gpt-4o-mini"
MSG = [{"role": "user", "content": "hi"}]


def serve(tmp: pytest.TempPathFactory, text: str) -> Iterator[LiveServer]:
    path = Path(tmp.mktemp("errors")) / "config.yaml"
    path.write_text(text)
    with run_server(test_context(config_path=str(path))) as live:
        yield live


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from serve(tmp_path_factory, MODELS + RULES + "server: {max_body_bytes: 4096}\n")


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from serve(tmp_path_factory, MODELS + "server: {api_keys: [sk-good-key-123456]}\n")


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from serve(tmp_path_factory, MODELS + "server: {strict: true}\n")


def error_of(response: httpx.Response) -> dict[str, object]:
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]  # type: ignore[no-any-return]


def post(
    http: httpx.Client, live: LiveServer, path: str, content: bytes, **headers: str
) -> httpx.Response:
    return http.post(live.openai_url + path, content=content,
                     headers={"content-type": "application/json", **headers})


# -- 400 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/chat/completions", "/completions", "/embeddings",
                                  "/responses"])
@pytest.mark.parametrize("body", [b"{not json", b"", b"[1, 2]", b'"text"', b"null"])
def test_malformed_bodies_are_400_never_500(
    http: httpx.Client, server: LiveServer, path: str, body: bytes
) -> None:
    r = post(http, server, path, body)
    assert r.status_code == 400
    err = error_of(r)
    assert err["type"] == "invalid_request_error"


def test_missing_field(http: httpx.Client, server: LiveServer) -> None:
    err = error_of(post(http, server, "/chat/completions", b'{"model": "gpt-4o-mini"}'))
    assert err["param"] == "messages"
    assert err["code"] == "missing_required_parameter"
    assert err["message"] == "Missing required parameter: 'messages'."
    err = error_of(post(http, server, "/chat/completions",
                        b'{"model": "gpt-4o-mini", "messages": [{"content": "x"}]}'))
    assert err["param"] == "messages[0].role"


def test_wrong_type_through_the_sdk(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=MODEL, messages=MSG,  # type: ignore[arg-type]
                                       max_tokens="many")  # type: ignore[arg-type]
    assert info.value.status_code == 400
    assert info.value.param == "max_tokens"  # type: ignore[attr-defined]
    assert info.value.code == "invalid_type"
    assert "expected an integer" in info.value.message


@pytest.mark.parametrize("extra, param", [
    ({"messages": []}, "messages"),
    ({"n": 0}, "n"),
    ({"max_tokens": 5000}, "max_tokens"),
    ({"messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
    ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id"),
    ({"response_format": {"type": "xml"}}, "response_format.type"),
    ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
    ({"stream_options": {"include_usage": True}}, "stream_options"),
    ({"top_logprobs": 21, "logprobs": True}, "top_logprobs"),
])
def test_invalid_values(client: openai.OpenAI, extra: dict[str, object], param: str) -> None:
    body: dict[str, object] = {"model": MODEL, "messages": MSG, **extra}
    with pytest.raises(openai.BadRequestError) as info:
        client.post("/chat/completions", body=body, cast_to=object)
    assert info.value.param == param  # type: ignore[attr-defined]


def test_responses_json_schema_needs_a_name(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.post("/responses", cast_to=object, body={
            "model": MODEL, "input": "x",
            "text": {"format": {"type": "json_schema", "schema": {"type": "object"}}}})
    assert info.value.param == "text.format.name"  # type: ignore[attr-defined]


# -- 404 ----------------------------------------------------------------------------------


def test_unknown_model_is_404_everywhere(client: openai.OpenAI) -> None:
    calls = [
        lambda: client.chat.completions.create(model="nope", messages=MSG),  # type: ignore[arg-type]
        lambda: client.completions.create(model="nope", prompt="x"),
        lambda: client.embeddings.create(model="nope", input="x"),
        lambda: client.responses.create(model="nope", input="x"),
        lambda: client.models.retrieve("nope"),
    ]
    for call in calls:
        with pytest.raises(openai.NotFoundError) as info:
            call()
        assert info.value.code == "model_not_found"
        assert info.value.param == "model" or info.value.param is None  # type: ignore[attr-defined]


# -- 401 ----------------------------------------------------------------------------------


def test_auth_off_by_default(client: openai.OpenAI) -> None:
    assert client.models.list().data


def test_api_keys(http: httpx.Client, keyed: LiveServer) -> None:
    with openai.OpenAI(base_url=keyed.openai_url, api_key="sk-wrong-key-999999",
                       max_retries=0) as bad:
        for call in (lambda: bad.chat.completions.create(model=MODEL, messages=MSG),  # type: ignore[arg-type]
                     lambda: bad.models.list(),
                     lambda: bad.embeddings.create(model="text-embedding-3-small", input="x")):
            with pytest.raises(openai.AuthenticationError) as info:
                call()
            assert info.value.code == "invalid_api_key"
            assert "sk-wrong-key-999999" not in info.value.message
    with openai.OpenAI(base_url=keyed.openai_url, api_key="sk-good-key-123456",
                       max_retries=0) as good:
        assert good.chat.completions.create(model=MODEL, messages=MSG).choices  # type: ignore[arg-type]
        assert good.models.list().data
    r = http.get(keyed.openai_url + "/models")
    assert r.status_code == 401 and error_of(r)["code"] == "invalid_api_key"
    r = http.get(keyed.openai_url + "/models", headers={"x-api-key": "sk-good-key-123456"})
    assert r.status_code == 200


# -- 413 ----------------------------------------------------------------------------------


def test_body_too_large(http: httpx.Client, server: LiveServer, client: openai.OpenAI) -> None:
    big = [{"role": "user", "content": "x" * 5000}]
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(model=MODEL, messages=big)  # type: ignore[arg-type]
    assert info.value.status_code == 413
    # Without a content-length (chunked upload) the limit still holds.
    chunks = iter([b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "',
                   b"y" * 5000, b'"}]}'])
    r = http.post(server.openai_url + "/chat/completions", content=chunks,
                  headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert error_of(r)["type"] == "invalid_request_error"


# -- strict mode --------------------------------------------------------------------------


def test_unknown_fields_accepted_unless_strict(client: openai.OpenAI, strict: LiveServer) -> None:
    assert client.chat.completions.create(model=MODEL, messages=MSG,  # type: ignore[arg-type]
                                          extra_body={"frobnicate": 1}).choices
    with openai.OpenAI(base_url=strict.openai_url, api_key="t", max_retries=0) as c:
        with pytest.raises(openai.BadRequestError) as info:
            c.chat.completions.create(model=MODEL, messages=MSG,  # type: ignore[arg-type]
                                      extra_body={"frobnicate": 1})
        assert info.value.message.endswith("Unrecognized request argument supplied: frobnicate")
        with pytest.raises(openai.BadRequestError):
            c.embeddings.create(model="text-embedding-3-small", input="x",
                                extra_body={"frobnicate": 1})
        # Every documented field and vLLM's load-test extensions still pass.
        out = c.chat.completions.create(
            model=MODEL, messages=MSG, temperature=0.5, top_p=1, user="u",  # type: ignore[arg-type]
            metadata={"a": "b"}, store=False, parallel_tool_calls=True, max_tokens=3,
            extra_body={"ignore_eos": True, "min_tokens": 1})
        assert out.usage is not None and out.usage.completion_tokens == 3
        assert c.responses.create(model=MODEL, input="hi", temperature=0.2).output
        assert c.completions.create(model=MODEL, prompt="hi", echo=False, best_of=1).choices


# -- 429 and other rule errors ------------------------------------------------------------


def test_rule_rate_limit_is_rate_limit_error(client: openai.OpenAI, server: LiveServer) -> None:
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model=MODEL,
                                       messages=[{"role": "user", "content": "ratelimit me"}])
    assert info.value.code == "rate_limit_exceeded"
    assert info.value.request_id is not None and info.value.request_id.startswith("req_")
    headers = info.value.response.headers
    assert headers["retry-after"] == "0"
    assert headers["x-ratelimit-remaining-requests"] == "0"
    with pytest.raises(openai.RateLimitError):
        client.responses.create(model=MODEL, input="ratelimit me", stream=True)


def test_rule_server_error(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model=MODEL,
                                       messages=[{"role": "user", "content": "explode"}])
    assert info.value.status_code == 503
    assert info.value.message.endswith("The engine is currently overloaded.")


def test_mid_stream_error_fault_raises_api_error_in_the_sdk(
    http: httpx.Client, tmp_path: Path
) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "rules:\n  - match: {last_user: {contains: boom}}\n"
        "    respond: {text: one two three four five six,"
        " fault: {kind: error, after: 3, status: 500, message: backend fell over}}\n"
    )
    with run_server(test_context(config_path=str(cfg))) as live, openai.OpenAI(
        base_url=live.openai_url, api_key="x", max_retries=0
    ) as client:
        stream = client.chat.completions.create(
            model="gpt-4o", stream=True, messages=[{"role": "user", "content": "boom"}]
        )
        seen: list[str] = []
        with pytest.raises(openai.APIError, match="backend fell over"):
            for chunk in stream:
                seen.append(chunk.choices[0].delta.content or "")
        assert "".join(seen) == "one two three"  # ``after: 3`` counts tokens
        raw = http.post(live.openai_url + "/completions", json={
            "model": "gpt-4o", "prompt": "boom", "stream": True})
        assert raw.text.endswith('"code":"server_error"}}\n\n') or '"error"' in raw.text
        assert "[DONE]" not in raw.text


_CALL = {"role": "assistant", "content": None, "tool_calls": [
    {"id": "call_1", "type": "function", "function": {"name": "look", "arguments": "{}"}}]}


@pytest.mark.parametrize("messages, param, words", [
    # An empty id is given, so not "missing": it answers no call, as the API compares it.
    ([*MSG, _CALL, {"role": "tool", "tool_call_id": "", "content": "x"}], "messages.[1].role",
     "The following tool_call_ids did not have response messages: call_1"),
    ([*MSG, {"role": "tool", "tool_call_id": "", "content": "x"}], "messages.[1].role",
     "messages with role 'tool' must be a response to a preceeding message with 'tool_calls'"),
    ([*MSG, _CALL, *MSG], "messages.[1].role", "did not have response messages: call_1"),
])
def test_tool_messages_must_answer_the_calls_before_them(
        server: LiveServer, messages: list[dict[str, object]], param: str, words: str) -> None:
    with openai.OpenAI(base_url=server.openai_url, api_key="k", max_retries=0) as client, \
            pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=MODEL, messages=messages)  # type: ignore[arg-type]
    assert info.value.param == param and words in info.value.message
    assert info.value.code is None and "Missing required" not in info.value.message


def test_a_call_whose_id_is_empty_is_answered_by_an_empty_tool_call_id(
        server: LiveServer) -> None:
    call = {**_CALL, "tool_calls": [{**_CALL["tool_calls"][0], "id": ""}]}  # type: ignore[index]
    with openai.OpenAI(base_url=server.openai_url, api_key="k", max_retries=0) as client:
        out = client.chat.completions.create(model=MODEL, messages=[  # type: ignore[arg-type]
            *MSG, call, {"role": "tool", "tool_call_id": "", "content": "x"}])
    assert out.choices[0].message.content
