"""The Gemini API through the official google-genai client (and byte-level, through httpx)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import jsonschema
import openai
import pydantic
import pytest
from google import genai
from google.genai import errors, types

from mockllm.engine.tokens import pieces as token_pieces
from mockllm.testing import LiveServer, run_config, run_server, test_context

MODEL = "gemini-2.5-flash"
KEY = "goog-test-key"

CONFIG = """
server: {api_keys: [goog-test-key]}
models:
  - {id: gemini-2.5-flash, provider: gemini, context_window: 1048576, max_output_tokens: 65536,
     tokenizer: o200k_base}
  - {id: gemini-2.5-pro, provider: gemini, max_output_tokens: 100, tokenizer: o200k_base}
  - {id: gemini-embedding-001, provider: gemini, context_window: 2048, dimensions: 3072}
  - {id: gpt-4o, provider: openai}
rules:
  - name: tool-result
    match: {provider: gemini, tool_result: true}
    respond: {text: "It is sunny and 18C in Paris."}
  - name: weather
    match: {provider: gemini, last_user: {contains: weather}}
    respond: {tool_calls: [{name: get_weather, arguments: {city: Paris, unit: celsius}}]}
  - name: think
    match: {provider: gemini, last_user: {contains: ponder}}
    respond: {text: "Forty-two.", reasoning: "Let me think about the question first."}
  - name: hello
    match: {provider: gemini, last_user: {contains: hello}}
    respond: {text: "Hello world, from Gemini."}
  - name: unavailable-mid-stream
    match: {header: {x-mock-scenario: mid-stream}}
    respond: {text: "one two three four five six", fault: {kind: error, status: 503, after: 2}}
  - name: limited
    match: {header: {x-mock-scenario: limited}}
    respond: {error: {status: 429}}
"""

WEATHER = types.FunctionDeclaration(
    name="get_weather",
    description="The current weather of a city.",
    parameters_json_schema={
        "type": "object",
        "properties": {"city": {"type": "string"},
                       "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city"],
    },
)


def pieces(server: LiveServer, text: str, model: str = MODEL) -> list[str]:
    """``text`` cut the way the server cuts it (its tokenizer for ``model``)."""
    engine = server.context.engine
    return token_pieces(engine.tokenizer(engine.models.require(model)), text)


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with run_config(CONFIG) as live:
        yield live


def client(server: LiveServer, version: str = "v1", **headers: str) -> genai.Client:
    return genai.Client(api_key=KEY, http_options=types.HttpOptions(
        base_url=server.url, api_version=version, headers=headers or None))


@pytest.fixture(params=["v1", "v1beta"])
def gemini(server: LiveServer, request: pytest.FixtureRequest) -> genai.Client:
    """google-genai 3.x calls /v1; 2.x called /v1beta: both are served."""
    return client(server, request.param)


def test_generate_content_text_usage_and_finish(server: LiveServer,
                                                gemini: genai.Client) -> None:
    r = gemini.models.generate_content(model=MODEL, contents="hello there")
    assert r.text == "Hello world, from Gemini."
    cand = r.candidates[0]
    assert cand.finish_reason == types.FinishReason.STOP
    assert cand.content.role == "model"
    usage = r.usage_metadata
    count = gemini.models.count_tokens(model=MODEL, contents="hello there")
    assert usage.prompt_token_count == count.total_tokens
    n = len(pieces(server, "Hello world, from Gemini."))
    assert usage.candidates_token_count == n
    assert usage.total_token_count == usage.prompt_token_count + n
    assert r.model_version == MODEL and r.response_id


def test_stream_chunks_all_carry_usage_and_the_last_the_finish_reason(
    server: LiveServer, gemini: genai.Client,
) -> None:
    chunks = list(gemini.models.generate_content_stream(model=MODEL, contents="hello"))
    assert "".join(c.text or "" for c in chunks) == "Hello world, from Gemini."
    assert all(c.usage_metadata is not None for c in chunks)
    assert [c.candidates[0].finish_reason for c in chunks[:-1]] == [None] * (len(chunks) - 1)
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    n = len(pieces(server, "Hello world, from Gemini."))
    assert len(chunks) == n + 1
    assert [c.usage_metadata.candidates_token_count for c in chunks] == [*range(1, n + 1), n]
    assert len({c.response_id for c in chunks}) == 1


def test_sse_framing_byte_for_byte(server: LiveServer) -> None:
    url = f"{server.url}/v1beta/models/{MODEL}:streamGenerateContent?alt=sse"
    body = {"contents": [{"role": "user", "parts": [{"text": "hello"}]}]}
    with httpx.Client() as h:
        r = h.post(url, json=body, headers={"x-goog-api-key": KEY})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/event-stream"
    raw = r.content
    assert raw.endswith(b"}\r\n\r\n") and b"[DONE]" not in raw
    events = raw.split(b"\r\n\r\n")[:-1]
    first = json.loads(events[0].removeprefix(b"data: "))
    rid, prompt = first["responseId"], first["usageMetadata"]["promptTokenCount"]
    cut = pieces(server, "Hello world, from Gemini.")
    assert len(cut) > 3

    def chunk(part: str, n: int, finish: str = "") -> bytes:
        end = f',"finishReason":"{finish}"' if finish else ""
        return ('data: {"candidates":[{"content":{"parts":[' + part + '],"role":"model"}'
                + end + ',"index":0}],"usageMetadata":{"promptTokenCount":' + str(prompt)
                + ',"candidatesTokenCount":' + str(n) + ',"totalTokenCount":'
                + str(prompt + n) + ',"promptTokensDetails":[{"modality":"TEXT",'
                '"tokenCount":' + str(prompt) + '}]},"modelVersion":"' + MODEL
                + '","responseId":"' + rid + '"}\r\n\r\n').encode()

    expected = b"".join(chunk(json.dumps({"text": p}, separators=(",", ":")), i + 1)
                        for i, p in enumerate(cut))
    expected += chunk('{"text":""}', len(cut), "STOP")
    assert raw == expected


def test_stream_without_alt_sse_is_one_json_array(server: LiveServer) -> None:
    url = f"{server.url}/v1beta/models/{MODEL}:streamGenerateContent?key={KEY}"
    r = httpx.post(url, json={"contents": [{"parts": [{"text": "hello"}]}]})
    assert r.status_code == 200
    chunks = r.json()
    assert "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks) == \
        "Hello world, from Gemini."
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"


def test_function_call_then_function_response(gemini: genai.Client) -> None:
    config = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[WEATHER])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    ask = types.Content(role="user", parts=[types.Part(text="What is the weather in Paris?")])
    r = gemini.models.generate_content(model=MODEL, contents=[ask], config=config)
    calls = r.function_calls
    assert calls is not None and len(calls) == 1
    assert calls[0].name == "get_weather"
    assert calls[0].args == {"city": "Paris", "unit": "celsius"}
    jsonschema.validate(calls[0].args, WEATHER.parameters_json_schema)
    assert r.usage_metadata.candidates_token_count > 0
    answer = types.Part.from_function_response(name="get_weather",
                                               response={"temp": 18, "sky": "sunny"})
    follow = [ask, r.candidates[0].content, types.Content(role="user", parts=[answer])]
    r2 = gemini.models.generate_content(model=MODEL, contents=follow, config=config)
    assert r2.text == "It is sunny and 18C in Paris."
    assert r2.function_calls is None


def test_function_call_streams_whole_in_one_chunk(gemini: genai.Client) -> None:
    config = types.GenerateContentConfig(tools=[types.Tool(function_declarations=[WEATHER])])
    chunks = list(gemini.models.generate_content_stream(
        model=MODEL, contents="weather in Paris?", config=config))
    calls = [fc for c in chunks for fc in (c.function_calls or [])]
    assert [(fc.name, fc.args) for fc in calls] == [
        ("get_weather", {"city": "Paris", "unit": "celsius"})]
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP


class City(pydantic.BaseModel):
    name: str
    population: int
    coastal: bool


def test_structured_output_with_response_schema(gemini: genai.Client) -> None:
    config = types.GenerateContentConfig(response_mime_type="application/json",
                                         response_schema=City)
    r = gemini.models.generate_content(model=MODEL, contents="A city, please", config=config)
    assert isinstance(r.parsed, City)


def test_structured_output_with_response_json_schema(gemini: genai.Client) -> None:
    schema = {"type": "object", "properties": {"tags": {
        "type": "array", "items": {"type": "string"}, "minItems": 2}}, "required": ["tags"]}
    config = types.GenerateContentConfig(response_mime_type="application/json",
                                         response_json_schema=schema)
    r = gemini.models.generate_content(model=MODEL, contents="Some tags", config=config)
    jsonschema.validate(json.loads(r.text or ""), schema)


def test_openapi_style_schema_with_upper_case_types(server: LiveServer) -> None:
    schema = {"type": "OBJECT", "properties": {"n": {"type": "INTEGER"},
              "note": {"type": "STRING", "nullable": True}}, "required": ["n", "note"]}
    body = {"contents": [{"parts": [{"text": "x"}]}],
            "generationConfig": {"responseMimeType": "application/json",
                                 "responseSchema": schema}}
    r = httpx.post(f"{server.url}/v1beta/models/{MODEL}:generateContent",
                   json=body, headers={"x-goog-api-key": KEY})
    out = json.loads(r.json()["candidates"][0]["content"]["parts"][0]["text"])
    assert isinstance(out["n"], int) and (out["note"] is None or isinstance(out["note"], str))


THOUGHT = "Let me think about the question first."


def test_thinking_gives_thought_parts_and_counts_them(server: LiveServer,
                                                      gemini: genai.Client) -> None:
    config = types.GenerateContentConfig(
        thinking_config=types.ThinkingConfig(include_thoughts=True, thinking_budget=1024))
    r = gemini.models.generate_content(model=MODEL, contents="ponder this", config=config)
    parts = r.candidates[0].content.parts
    assert parts[0].thought is True
    assert parts[0].text == THOUGHT
    assert r.text == "Forty-two."
    usage = r.usage_metadata
    assert usage.thoughts_token_count == len(pieces(server, THOUGHT))
    assert usage.total_token_count == (usage.prompt_token_count + usage.thoughts_token_count
                                       + usage.candidates_token_count)
    hidden = gemini.models.generate_content(model=MODEL, contents="ponder this", config=(
        types.GenerateContentConfig(thinking_config=types.ThinkingConfig(thinking_budget=512))))
    assert [p.thought for p in hidden.candidates[0].content.parts] == [None]
    assert hidden.usage_metadata.thoughts_token_count == len(pieces(server, THOUGHT))
    off = gemini.models.generate_content(model=MODEL, contents="ponder this", config=(
        types.GenerateContentConfig(thinking_config=types.ThinkingConfig(thinking_budget=0))))
    assert off.usage_metadata.thoughts_token_count is None


def test_stream_thoughts_come_first(server: LiveServer, gemini: genai.Client) -> None:
    config = types.GenerateContentConfig(
        thinking_config=types.ThinkingConfig(include_thoughts=True))
    chunks = list(gemini.models.generate_content_stream(model=MODEL, contents="ponder",
                                                        config=config))
    flags = [p.thought for c in chunks for p in c.candidates[0].content.parts if p.text]
    assert flags[0] is True and flags[-1] is None
    assert chunks[-1].usage_metadata.thoughts_token_count == len(pieces(server, THOUGHT))


def test_max_output_tokens_cuts_with_max_tokens(gemini: genai.Client) -> None:
    r = gemini.models.generate_content(model=MODEL, contents="say something", config=(
        types.GenerateContentConfig(max_output_tokens=5)))
    assert r.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS
    assert r.usage_metadata.candidates_token_count == 5


def test_errors_in_googles_envelope(server: LiveServer) -> None:
    g = client(server)
    with pytest.raises(errors.ClientError) as exc:
        g.models.generate_content(model="gemini-nope", contents="x")
    assert exc.value.code == 404 and exc.value.status == "NOT_FOUND"
    with pytest.raises(errors.ClientError) as exc:
        g.models.generate_content(model="gemini-2.5-pro", contents="x", config=(
            types.GenerateContentConfig(max_output_tokens=101)))
    assert exc.value.code == 400 and exc.value.status == "INVALID_ARGUMENT"
    assert "maxOutputTokens value of 101" in (exc.value.message or "")
    limited = client(server, **{"x-mock-scenario": "limited"})
    with pytest.raises(errors.ClientError) as exc:
        limited.models.generate_content(model=MODEL, contents="x")
    assert exc.value.code == 429 and exc.value.status == "RESOURCE_EXHAUSTED"
    r = httpx.post(f"{server.url}/v1beta/models/{MODEL}:generateContent",
                   content=b"{not json", headers={"x-goog-api-key": KEY})
    assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT"
    r = httpx.post(f"{server.url}/v1beta/models/{MODEL}:generateContent",
                   json={"contents": []}, headers={"x-goog-api-key": KEY})
    assert r.status_code == 400
    assert "contents is not specified" in r.json()["error"]["message"]
    r = httpx.post(f"{server.url}/v1beta/models/{MODEL}:generateContent",
                   json={"contents": [{"role": "bot", "parts": [{"text": "x"}]}]},
                   headers={"x-goog-api-key": KEY})
    assert r.status_code == 400 and r.json()["error"]["code"] == 400
    r = httpx.get(f"{server.url}/v1beta/nothing-here", headers={"x-goog-api-key": KEY})
    assert r.status_code == 404 and r.json()["error"]["status"] == "NOT_FOUND"


def test_decode_errors_are_worded_by_the_gemini_strategy(server: LiveServer) -> None:
    # The shared msgspec parser (mockllm.provider.split_validation), Google's words.
    url = f"{server.url}/v1beta/models/{MODEL}:generateContent"
    r = httpx.post(url, json={"contents": [{"parts": [{"text": "x"}]}],
                              "generationConfig": {"maxOutputTokens": "many"}},
                   headers={"x-goog-api-key": KEY})
    assert r.status_code == 400
    assert r.json()["error"]["message"] == (
        "Invalid JSON payload received. Invalid value at 'generationConfig.maxOutputTokens': "
        "Expected `int | null`, got `str`")
    r = httpx.post(url, content=b"{not json", headers={"x-goog-api-key": KEY})
    assert r.json()["error"]["message"].startswith("Invalid JSON payload received. JSON is")


def test_mid_stream_error_is_the_apis_error_event(server: LiveServer) -> None:
    g = client(server, **{"x-mock-scenario": "mid-stream"})
    got: list[str] = []
    with pytest.raises(errors.ServerError) as exc:
        for chunk in g.models.generate_content_stream(model=MODEL, contents="go"):
            got.append(chunk.text or "")
    assert exc.value.code == 503 and exc.value.status == "UNAVAILABLE"
    assert "".join(got) == "one two"


def test_api_key_in_header_or_query(server: LiveServer) -> None:
    url = f"{server.url}/v1beta/models/{MODEL}:generateContent"
    body = {"contents": [{"parts": [{"text": "hello"}]}]}
    assert httpx.post(url, json=body, params={"key": KEY}).status_code == 200
    missing = httpx.post(url, json=body)
    assert missing.status_code == 403
    assert missing.json()["error"]["status"] == "PERMISSION_DENIED"
    wrong = httpx.post(url, json=body, headers={"x-goog-api-key": "nope"})
    assert wrong.status_code == 400
    assert wrong.json()["error"]["details"][0]["reason"] == "API_KEY_INVALID"
    bad = genai.Client(api_key="nope", http_options=types.HttpOptions(base_url=server.url))
    with pytest.raises(errors.ClientError) as exc:
        bad.models.generate_content(model=MODEL, contents="x")
    assert exc.value.code == 400


def test_embed_content_and_batch(gemini: genai.Client) -> None:
    one = gemini.models.embed_content(model="gemini-embedding-001", contents="a cat")
    assert len(one.embeddings[0].values) == 3072
    many = gemini.models.embed_content(
        model="gemini-embedding-001", contents=["a cat", "a dog"],
        config=types.EmbedContentConfig(output_dimensionality=16))
    assert [len(e.values) for e in many.embeddings] == [16, 16]
    again = gemini.models.embed_content(
        model="gemini-embedding-001", contents=["a dog"],
        config=types.EmbedContentConfig(output_dimensionality=16))
    assert again.embeddings[0].values == many.embeddings[1].values


def test_embed_content_single_request_wire(server: LiveServer) -> None:
    r = httpx.post(f"{server.url}/v1beta/models/gemini-embedding-001:embedContent",
                   json={"content": {"parts": [{"text": "a cat"}]}, "outputDimensionality": 4},
                   headers={"x-goog-api-key": KEY})
    assert r.status_code == 200 and len(r.json()["embedding"]["values"]) == 4
    r = httpx.post(f"{server.url}/v1beta/models/gemini-embedding-001:batchEmbedContents",
                   json={"requests": [{"model": "models/gemini-embedding-001",
                                       "content": {"parts": [{"text": "a"}]},
                                       "outputDimensionality": 2},
                                      {"model": "models/gemini-embedding-001",
                                       "content": {"parts": [{"text": "b"}]},
                                       "outputDimensionality": 3}]},
                   headers={"x-goog-api-key": KEY})
    assert [len(e["values"]) for e in r.json()["embeddings"]] == [2, 3]


def test_models_list_and_get(gemini: genai.Client) -> None:
    names = [m.name for m in gemini.models.list()]
    assert names == ["models/gemini-2.5-flash", "models/gemini-2.5-pro",
                     "models/gemini-embedding-001"]
    pro = gemini.models.get(model="gemini-2.5-pro")
    assert pro.output_token_limit == 100 and "generateContent" in (pro.supported_actions or [])
    with pytest.raises(errors.ClientError) as exc:
        gemini.models.get(model="gpt-4o")
    assert exc.value.code == 404


def test_models_pages(server: LiveServer) -> None:
    url = f"{server.url}/v1beta/models"
    first = httpx.get(url, params={"pageSize": 2, "key": KEY}).json()
    assert len(first["models"]) == 2 and first["nextPageToken"]
    rest = httpx.get(url, params={"pageSize": 2, "pageToken": first["nextPageToken"],
                                  "key": KEY}).json()
    assert [m["name"] for m in rest["models"]] == ["models/gemini-embedding-001"]
    assert "nextPageToken" not in rest


def test_v1_models_is_openais_without_a_google_key(server: LiveServer) -> None:
    with openai.OpenAI(base_url=server.openai_url, api_key=KEY, max_retries=0) as oa:
        assert "gpt-4o" in [m.id for m in oa.models.list()]
    google = httpx.get(f"{server.url}/v1/models", headers={"x-goog-api-key": KEY}).json()
    assert "models" in google and "data" not in google
    query = httpx.get(f"{server.url}/v1/models/gemini-2.5-pro", params={"key": KEY}).json()
    assert query["name"] == "models/gemini-2.5-pro"


def test_journal_sees_gemini_requests(server: LiveServer) -> None:
    server.context.journal.clear()
    g = client(server)
    g.models.generate_content(model=MODEL, contents="hello")
    entries = server.context.journal.query()
    assert [e.endpoint for e in entries] == ["gemini.generate"]


def test_default_config_serves_current_gemini_models() -> None:
    with run_server(test_context()) as live:
        g = genai.Client(api_key="any", http_options=types.HttpOptions(base_url=live.url))
        names = {m.name for m in g.models.list()}
        assert {"models/gemini-3.8-flash", "models/gemini-2.5-pro",
                "models/gemini-embedding-001"} <= names
        r = g.models.generate_content(model="gemini-3.8-flash", contents="Hi")
        assert r.text and r.candidates[0].finish_reason == types.FinishReason.STOP
        engine = live.context.engine
        tok = engine.tokenizer(engine.models.require("gemini-3.8-flash"))
        assert r.usage_metadata.candidates_token_count == len(token_pieces(tok, r.text))
        assert r.usage_metadata.thoughts_token_count is None  # no thinking asked for
        assert g.models.get(model="gemini-flash-latest").name == "models/gemini-3.8-flash"


def test_a_plugin_replaces_gemini_generate_by_key() -> None:
    with run_server(test_context(modules=["tests.plugins.acme_gemini"])) as live:
        r = httpx.post(f"{live.url}/v1beta/models/{MODEL}:generateContent", json={})
        assert r.json() == {"by": "acme-gemini"}
        # The other Gemini keys are still the builtin's.
        r = httpx.post(f"{live.url}/v1beta/models/{MODEL}:countTokens",
                       json={"contents": [{"parts": [{"text": "hi"}]}]})
        assert r.json()["totalTokens"] == 1


def test_snake_case_names_are_read_like_camel_case(server: LiveServer) -> None:
    body = {"contents": [{"parts": [{"text": "say something"}]}],
            "generation_config": {"max_output_tokens": 3}}
    r = httpx.post(f"{server.url}/v1beta/models/{MODEL}:generateContent",
                   json=body, headers={"x-goog-api-key": KEY})
    assert r.json()["candidates"][0]["finishReason"] == "MAX_TOKENS"
    assert r.json()["usageMetadata"]["candidatesTokenCount"] == 3


def test_function_calling_config_is_checked(server: LiveServer) -> None:
    url = f"{server.url}/v1beta/models/{MODEL}:generateContent"
    tools = [{"functionDeclarations": [{"name": "get_weather", "parameters": {
        "type": "OBJECT", "properties": {"city": {"type": "STRING"}}}}]}]
    base = {"contents": [{"parts": [{"text": "x"}]}], "tools": tools}
    for fcc, status in [({"mode": "ANY", "allowedFunctionNames": ["get_weather"]}, 200),
                        ({"mode": "ANY", "allowedFunctionNames": ["nope"]}, 400),
                        ({"mode": "AUTO", "allowedFunctionNames": ["get_weather"]}, 400),
                        ({"mode": "SOMETIMES"}, 400), ({"mode": "NONE"}, 200)]:
        body = {**base, "toolConfig": {"functionCallingConfig": fcc}}
        r = httpx.post(url, json=body, headers={"x-goog-api-key": KEY})
        assert r.status_code == status, (fcc, r.text)
        if status == 400:
            assert r.json()["error"]["status"] == "INVALID_ARGUMENT"


def _default_client(live: LiveServer) -> genai.Client:
    return genai.Client(api_key="any", http_options=types.HttpOptions(base_url=live.url))


def test_default_config_obeys_function_calling_config() -> None:
    tools = [types.Tool(function_declarations=[WEATHER, types.FunctionDeclaration(
        name="get_time", parameters_json_schema={"type": "object", "properties": {
            "zone": {"type": "string"}}, "required": ["zone"]})])]

    def ask(mode: str, allowed: list[str] | None = None) -> types.GenerateContentResponse:
        config = types.GenerateContentConfig(
            tools=tools, tool_config=types.ToolConfig(function_calling_config=(
                types.FunctionCallingConfig(mode=mode, allowed_function_names=allowed))),
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True))
        return g.models.generate_content(model="gemini-3.8-flash", contents="Go",
                                         config=config)

    with run_server(test_context()) as live:
        g = _default_client(live)
        forced = ask("ANY", ["get_time"]).function_calls or []
        assert [c.name for c in forced] == ["get_time"]
        jsonschema.validate(forced[0].args, {"type": "object", "required": ["zone"]})
        some = ask("ANY").function_calls or []
        assert some and some[0].name in ("get_weather", "get_time")
        for call in some:
            if call.name == "get_weather":
                jsonschema.validate(call.args, WEATHER.parameters_json_schema)
        assert ask("NONE").function_calls is None
        assert ask("AUTO").function_calls is None  # defaults.tools.auto: text
        # Streamed, the forced call arrives whole.
        config = types.GenerateContentConfig(tools=tools, tool_config=types.ToolConfig(
            function_calling_config=types.FunctionCallingConfig(
                mode="ANY", allowed_function_names=["get_weather"])))
        chunks = list(g.models.generate_content_stream(model="gemini-3.8-flash",
                                                       contents="Go", config=config))
        assert [fc.name for c in chunks for fc in (c.function_calls or [])] == ["get_weather"]


def test_default_config_thinks_when_asked() -> None:
    with run_server(test_context()) as live:
        g = _default_client(live)
        config = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(
            include_thoughts=True, thinking_budget=200))
        r = g.models.generate_content(model="gemini-2.5-flash", contents="Why?", config=config)
        parts = r.candidates[0].content.parts
        assert parts[0].thought is True and parts[-1].thought is None
        assert 0 < r.usage_metadata.thoughts_token_count <= 200
        level = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(
            thinking_level=types.ThinkingLevel.LOW))
        low = g.models.generate_content(model="gemini-3.8-flash", contents="Why?",
                                        config=level)
        assert low.usage_metadata.thoughts_token_count


def test_a_rule_error_by_status_alone_is_in_googles_words(server: LiveServer) -> None:
    limited = client(server, **{"x-mock-scenario": "limited"})
    with pytest.raises(errors.ClientError) as exc:
        limited.models.generate_content(model=MODEL, contents="x")
    assert exc.value.code == 429 and exc.value.status == "RESOURCE_EXHAUSTED"
    assert exc.value.message == "Resource has been exhausted (e.g. check quota)."
