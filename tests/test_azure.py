"""Azure OpenAI through the official ``openai.AzureOpenAI`` client (and the v1 routes through
``openai.OpenAI``), plus the wire details the client does not check."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import openai
import pydantic
import pytest

from mockllm.testing import LiveServer, run_config, run_server, test_context

KEY = "azure-test-key"
VERSION = "2024-10-21"

CONFIG = """
server: {api_keys: [azure-test-key]}
models:
  - {id: gpt-4o, provider: openai, aliases: [my-gpt4o-deployment]}
  - {id: gpt-3.5-turbo-instruct, provider: openai}
  - {id: text-embedding-3-small, provider: openai, dimensions: 1536}
rules:
  - name: weather
    match: {last_user: {contains: weather}}
    respond: {tool_calls: [{name: get_weather, arguments: {city: Paris}}]}
  - name: broken-mid-stream
    match: {header: {x-mock-scenario: mid-stream}}
    respond: {text: "one two three four five six", fault: {kind: error, status: 500, after: 2}}
  - name: limited
    match: {header: {x-mock-scenario: limited}}
    respond: {error: {status: 429, retry_after: 1}}
  - name: hello
    match: {last_user: {contains: hello}}
    respond: {text: "Hello from Azure."}
"""

HELLO = [{"role": "user", "content": "hello"}]


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with run_config(CONFIG) as live:
        yield live


@pytest.fixture
def azure(server: LiveServer) -> Iterator[openai.AzureOpenAI]:
    with openai.AzureOpenAI(azure_endpoint=server.url, api_key=KEY, api_version=VERSION,
                            max_retries=0) as client:
        yield client


def test_chat_per_deployment_with_content_filter_results(azure: openai.AzureOpenAI) -> None:
    r = azure.chat.completions.create(model="my-gpt4o-deployment", messages=HELLO)
    assert r.choices[0].message.content == "Hello from Azure."
    assert r.model == "gpt-4o"  # the deployment's model, as Azure names it
    extra = r.model_extra or {}
    prompt = extra["prompt_filter_results"][0]
    assert prompt["prompt_index"] == 0
    assert prompt["content_filter_results"]["hate"] == {"filtered": False, "severity": "safe"}
    choice_extra = r.choices[0].model_extra or {}
    assert choice_extra["content_filter_results"]["violence"]["filtered"] is False
    assert r.usage is not None and r.usage.completion_tokens > 0


def test_stream_opens_with_the_prompt_filter_chunk(azure: openai.AzureOpenAI,
                                                   server: LiveServer) -> None:
    stream = azure.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True,
                                           stream_options={"include_usage": True})
    chunks = list(stream)
    assert chunks[0].choices == []
    assert (chunks[0].model_extra or {})["prompt_filter_results"][0]["prompt_index"] == 0
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from Azure."
    assert chunks[-1].usage is not None
    raw = httpx.post(
        f"{server.url}/openai/deployments/gpt-4o/chat/completions",
        params={"api-version": VERSION}, headers={"api-key": KEY},
        json={"messages": HELLO, "stream": True}).content
    events = raw.split(b"\n\n")
    assert events[0].startswith(b'data: {"choices":[],"created":0,"id":"","model":"",'
                                b'"object":"","prompt_filter_results":')
    assert raw.endswith(b"data: [DONE]\n\n")


def test_body_without_model_uses_the_deployment(server: LiveServer) -> None:
    r = httpx.post(f"{server.url}/openai/deployments/my-gpt4o-deployment/chat/completions",
                   params={"api-version": VERSION}, headers={"api-key": KEY},
                   json={"messages": HELLO})
    assert r.status_code == 200 and r.json()["model"] == "gpt-4o"


def test_tool_choice_and_structured_output(azure: openai.AzureOpenAI) -> None:
    tools = [{"type": "function", "function": {"name": "get_time", "parameters": {
        "type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]}}}]
    r = azure.chat.completions.create(model="gpt-4o", tools=tools, tool_choice="required",
                                      messages=[{"role": "user", "content": "time?"}])
    call = (r.choices[0].message.tool_calls or [])[0]
    assert call.function.name == "get_time"
    assert "zone" in json.loads(call.function.arguments)

    class City(pydantic.BaseModel):
        name: str
        population: int

    parsed = azure.chat.completions.parse(model="gpt-4o", response_format=City,
                                          messages=[{"role": "user", "content": "a city"}])
    assert isinstance(parsed.choices[0].message.parsed, City)


def test_completions_embeddings_responses_models(azure: openai.AzureOpenAI) -> None:
    c = azure.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say", max_tokens=5)
    assert c.choices[0].text and (c.model_extra or {})["prompt_filter_results"]
    e = azure.embeddings.create(model="text-embedding-3-small", input=["a", "b"],
                                dimensions=8)
    assert [len(d.embedding) for d in e.data] == [8, 8]
    r = azure.responses.create(model="gpt-4o", input="hello")
    assert r.output_text == "Hello from Azure."
    assert azure.responses.retrieve(r.id).id == r.id
    assert "gpt-4o" in [m.id for m in azure.models.list()]


def test_v1_routes_through_the_plain_openai_client(server: LiveServer) -> None:
    with openai.OpenAI(base_url=f"{server.url}/openai/v1/", api_key=KEY,
                       max_retries=0) as v1:
        r = v1.chat.completions.create(model="my-gpt4o-deployment", messages=HELLO)
        assert r.choices[0].message.content == "Hello from Azure."
        assert v1.responses.create(model="gpt-4o", input="hello").output_text == \
            "Hello from Azure."
        assert "gpt-4o" in [m.id for m in v1.models.list()]
        chunks = list(v1.chat.completions.create(model="gpt-4o", messages=HELLO,
                                                 stream=True))
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == \
            "Hello from Azure."


def test_errors(server: LiveServer, azure: openai.AzureOpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as nf:
        azure.chat.completions.create(model="no-such-deployment", messages=HELLO)
    assert isinstance(nf.value.body, dict) and nf.value.body["code"] == "DeploymentNotFound"
    url = f"{server.url}/openai/deployments/gpt-4o/chat/completions"
    no_version = httpx.post(url, headers={"api-key": KEY}, json={"messages": HELLO})
    assert no_version.status_code == 404
    assert no_version.json() == {"error": {"code": "404", "message": "Resource not found"}}
    bad_key = httpx.post(url, params={"api-version": VERSION}, headers={"api-key": "x"},
                         json={"messages": HELLO})
    assert bad_key.status_code == 401 and bad_key.json()["error"]["code"] == "401"
    with openai.AzureOpenAI(azure_endpoint=server.url, api_key="wrong", api_version=VERSION,
                            max_retries=0) as wrong, pytest.raises(openai.AuthenticationError):
        wrong.chat.completions.create(model="gpt-4o", messages=HELLO)
    limited = azure.with_options(default_headers={"x-mock-scenario": "limited"})
    with pytest.raises(openai.RateLimitError):
        limited.chat.completions.create(model="gpt-4o", messages=HELLO)
    empty = httpx.post(url, params={"api-version": VERSION}, headers={"api-key": KEY},
                       json={"messages": []})
    assert empty.status_code == 400 and empty.json()["error"]["type"] == \
        "invalid_request_error"


def test_an_unknown_url_under_openai_is_azures_404(server: LiveServer) -> None:
    # The Azure strategy claims /openai/: its gateway's body, not OpenAI's "Invalid URL".
    r = httpx.post(f"{server.url}/openai/deployments/gpt-4o/nothing-here",
                   params={"api-version": VERSION}, headers={"api-key": KEY}, json={})
    assert r.status_code == 404
    assert r.json() == {"error": {"code": "404", "message": "Resource not found"}}
    assert r.headers["x-request-id"].startswith("req_")


def test_mid_stream_error(azure: openai.AzureOpenAI) -> None:
    broken = azure.with_options(default_headers={"x-mock-scenario": "mid-stream"})
    got = []
    with pytest.raises(openai.APIError):
        for chunk in broken.chat.completions.create(model="gpt-4o", messages=HELLO,
                                                    stream=True):
            got.extend(c.delta.content or "" for c in chunk.choices)
    assert "".join(got) == "one two"


def test_journal_names_the_azure_key(server: LiveServer, azure: openai.AzureOpenAI) -> None:
    server.context.journal.clear()
    azure.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert [e.endpoint for e in server.context.journal.query()] == ["azure.chat"]


def test_default_config_and_a_plugin_replacing_azure_chat() -> None:
    with run_server(test_context()) as live, openai.AzureOpenAI(
            azure_endpoint=live.url, api_key="any", api_version=VERSION,
            max_retries=0) as client:
        r = client.chat.completions.create(model="gpt-4o", messages=HELLO)
        assert r.choices[0].finish_reason == "stop" and r.choices[0].message.content
    with run_server(test_context(modules=["tests.plugins.acme_azure"])) as live:
        r2 = httpx.post(f"{live.url}/openai/deployments/gpt-4o/chat/completions",
                        params={"api-version": VERSION}, json={"messages": HELLO})
        assert r2.json() == {"by": "acme-azure"}
