"""The Responses body is checked as strictly as the API checks it (tools, tool_choice, prompt,
text.verbosity, enums), and the tables match OpenAI's published spec (a copy of the schemas
in tests/data/openai_responses_schemas.json)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from mockllm.testing import LiveServer, run_server, test_context
from plugins_builtin.openai import responses_checks as rc

SCHEMAS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "openai_responses_schemas.json").read_text())["schemas"]


def _variants(name: str) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for ref in SCHEMAS[name]["oneOf"]:
        schema = SCHEMAS[ref["$ref"].rsplit("/", 1)[1]]
        kinds = schema.get("properties", {}).get("type", {}).get("enum", [])
        required = tuple(f for f in schema.get("required", []) if f != "type")
        for kind in kinds:
            out[kind] = required
    return out


def test_tool_types_match_the_spec() -> None:
    spec = _variants("Tool")
    # Function tools: the spec's strict/parameters are required in the echo, not on input.
    spec["function"] = tuple(f for f in spec["function"] if f not in ("strict", "parameters"))
    assert rc.TOOL_TYPES == spec


def test_tool_choice_types_and_enums_match_the_spec() -> None:
    assert rc.TOOL_CHOICE_TYPES == _variants("ToolChoiceParam")
    assert rc.TOOL_CHOICE_MODES == tuple(SCHEMAS["ToolChoiceOptions"]["enum"])
    assert rc.VERBOSITY == tuple(SCHEMAS["Verbosity"]["anyOf"][0]["enum"])
    assert rc.REASONING_EFFORTS == tuple(SCHEMAS["ReasoningEffort"]["anyOf"][0]["enum"])
    assert SCHEMAS["Prompt"]["anyOf"][0]["required"] == ["id"]


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    with run_server(test_context()) as server:
        yield server


FN = {"type": "function", "name": "get_weather",
      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}

BAD: list[tuple[dict[str, Any], str, str]] = [
    ({"tools": [{"type": "weather"}]}, "tools[0].type", "invalid_value"),
    ({"tools": [{"name": "x"}]}, "tools[0].type", "missing_required_parameter"),
    ({"tools": [{"type": "function"}]}, "tools[0].name", "missing_required_parameter"),
    ({"tools": [{"type": "function", "name": "bad name!"}]}, "tools[0].name", "invalid_value"),
    ({"tools": [{"type": "function", "name": "f", "parameters": "x"}]},
     "tools[0].parameters", "invalid_type"),
    ({"tools": [{"type": "file_search"}]}, "tools[0].vector_store_ids",
     "missing_required_parameter"),
    ({"tools": ["get_weather"]}, "tools[0]", "invalid_type"),
    ({"tools": [FN], "tool_choice": "always"}, "tool_choice", "invalid_value"),
    ({"tools": [FN], "tool_choice": {"type": "fn"}}, "tool_choice.type", "invalid_value"),
    ({"tools": [FN], "tool_choice": {"type": "mcp"}}, "tool_choice.server_label",
     "missing_required_parameter"),
    ({"tools": [FN], "tool_choice": 3}, "tool_choice", "invalid_type"),
    ({"prompt": {"version": "1"}}, "prompt.id", "missing_required_parameter"),
    ({"prompt": {"id": 7}}, "prompt.id", "invalid_type"),
    ({"prompt": "pmpt_1"}, "prompt", "invalid_type"),
    ({"text": {"verbosity": "loud"}}, "text.verbosity", "invalid_value"),
    ({"reasoning": {"effort": "extreme"}}, "reasoning.effort", "invalid_value"),
    ({"reasoning": {"summary": "long"}}, "reasoning.summary", "invalid_value"),
    ({"truncation": "sometimes"}, "truncation", "invalid_value"),
    # A type that is not a string is a type error, not a crash (it was a 500: unhashable).
    ({"tools": [{"type": {"kind": "function"}}]}, "tools[0].type", "invalid_type"),
    ({"tools": [FN], "tool_choice": {"type": ["function"]}}, "tool_choice.type",
     "invalid_type"),
    # The spec types text and text.format as non-nullable objects.
    ({"text": None}, "text", "invalid_type"),
    ({"text": {"format": None}}, "text.format", "invalid_type"),
]


@pytest.mark.parametrize(("extra", "param", "code"), BAD, ids=[b[1] + "-" + b[2] for b in BAD])
def test_a_body_the_api_refuses_is_a_400(live: LiveServer, extra: dict[str, Any], param: str,
                                         code: str) -> None:
    r = httpx.post(live.openai_url + "/responses",
                   json={"model": "gpt-4o", "input": "Hi", **extra}, timeout=30)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert (error["param"], error["code"], error["type"]) == (param, code,
                                                              "invalid_request_error")


def test_valid_bodies_still_pass_through_the_sdk(live: LiveServer) -> None:
    with openai.OpenAI(base_url=live.openai_url, api_key="k", max_retries=0) as c:
        out = c.responses.create(model="gpt-4o", input="Hi", tools=[FN],  # type: ignore[list-item]
                                 tool_choice="auto", text={"verbosity": "low"},
                                 prompt={"id": "pmpt_1", "version": "2",
                                         "variables": {"city": "Paris"}},
                                 reasoning={"effort": "low", "summary": "auto"})
        assert out.status == "completed"
        web = c.responses.create(model="gpt-4o", input="Hi", tools=[{"type": "web_search"}],
                                 tool_choice={"type": "web_search_preview"})
        assert web.status == "completed"


CHAT_BAD: list[tuple[list[Any], str, str]] = [
    ([{"type": "func", "function": {"name": "f"}}], "tools[0].type", "invalid_value"),
    ([{"type": "function"}], "tools[0].function", "missing_required_parameter"),
    ([{"type": "function", "function": {"name": "get weather"}}], "tools[0].function.name",
     "invalid_value"),
    ([{"type": "function", "function": {"name": "f" * 65}}], "tools[0].function.name",
     "string_above_max_length"),
    ([{"type": "custom", "custom": {}}], "tools[0].custom.name", "missing_required_parameter"),
]


@pytest.mark.parametrize(("tools", "param", "code"), CHAT_BAD,
                         ids=[b[1] + "-" + b[2] for b in CHAT_BAD])
def test_chat_tool_shapes_the_api_refuses_are_a_400(live: LiveServer, tools: list[Any],
                                                   param: str, code: str) -> None:
    r = httpx.post(live.openai_url + "/chat/completions", timeout=30, json={
        "model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}], "tools": tools})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert (error["param"], error["code"]) == (param, code)


def test_responses_function_name_too_long_is_a_400(live: LiveServer) -> None:
    r = httpx.post(live.openai_url + "/responses", timeout=30, json={
        "model": "gpt-4o", "input": "Hi", "tools": [{"type": "function", "name": "f" * 65}]})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "string_above_max_length"


def _input_item_types() -> set[str]:
    """The ``type`` values of the spec's ``InputItem`` union (the fuzz suite's copy of
    OpenAI's spec), walked through its ``$ref``s and nested unions."""
    spec = json.loads((Path(__file__).parent / "fuzz" / "openai-openapi.json").read_text())
    schemas = spec["components"]["schemas"]

    def walk(schema: dict[str, Any], seen: frozenset[str]) -> set[str]:
        ref = schema.get("$ref")
        if ref is not None:
            name = ref.rsplit("/", 1)[1]
            return set() if name in seen else walk(schemas[name], seen | {name})
        out = {v for key in ("oneOf", "anyOf", "allOf") for s in schema.get(key, ())
               for v in walk(s, seen)}
        kind = schema.get("properties", {}).get("type", {})
        for option in [kind, *kind.get("anyOf", ())]:
            out.update(option.get("enum", ()))
        return out

    return walk(schemas["InputItem"], frozenset())


def test_input_item_types_match_the_spec() -> None:
    from plugins_builtin.openai.responses_input import ITEM_TYPES
    assert set(ITEM_TYPES) == _input_item_types()


def test_an_unknown_input_item_type_is_the_apis_400(live: LiveServer) -> None:
    with openai.OpenAI(base_url=live.openai_url, api_key="k", max_retries=0) as c, \
            pytest.raises(openai.BadRequestError) as err:
        c.responses.create(model="gpt-4o", input=[{"type": "hologram", "content": "x"}])  # type: ignore[list-item]
    assert err.value.code == "invalid_value" and err.value.param == "input[0].type"
    want = "Invalid value: 'hologram'. Supported values are: 'additional_tools', "
    assert want in err.value.message
    assert "'function_call_output'" in err.value.message
    assert "'web_search_call'." in err.value.message


@pytest.mark.parametrize("item, param, code", [
    ({"content": "no role"}, "input[0].role", "missing_required_parameter"),
    ({"type": "message", "content": "no role"}, "input[0].role", "missing_required_parameter"),
    ({"type": "function_call_output", "call_id": "c1", "output": {"a": 1}}, "input[0].output",
     "invalid_type"),
])
def test_input_items_refused_with_the_field_at_fault(live: LiveServer, item: dict[str, Any],
                                                     param: str, code: str) -> None:
    r = httpx.post(live.openai_url + "/responses", json={"model": "gpt-4o", "input": [item]},
                   timeout=30)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert (error["param"], error["code"]) == (param, code), error
    assert "'None'" not in error["message"]


def test_input_items_mockllm_does_not_model_are_accepted(live: LiveServer) -> None:
    # Spec-valid items of hosted tools: their objects (a screenshot, shell results) decode,
    # and only the text and function calls reach the rules.
    items: list[Any] = [
        {"role": "user", "content": "run it"},
        {"type": "custom_tool_call", "call_id": "ct_1", "name": "grep", "input": "x"},
        {"type": "custom_tool_call_output", "call_id": "ct_1", "output": "found"},
        {"type": "computer_call_output", "call_id": "cc_1",
         "output": {"type": "computer_screenshot", "image_url": "data:image/png;base64,AA"}},
        {"type": "shell_call_output", "call_id": "sh_1",
         "output": [{"stdout": "ok", "stderr": "", "outcome": {"type": "exit", "exit_code": 0}}]},
        {"id": "msg_earlier"},  # an item_reference, whose type is optional
        {"type": "function_call_output", "call_id": "fc_1",
         "output": [{"type": "input_text", "text": "21C"}]},
    ]
    with openai.OpenAI(base_url=live.openai_url, api_key="k", max_retries=0) as c:
        out = c.responses.create(model="gpt-4o", input=items)
    assert out.status == "completed" and out.output_text


def test_a_stored_response_keeps_integers_beyond_64_bits(live: LiveServer) -> None:
    """JSON allows any integer in a tool's schema; the store keeps it (msgpack cannot, and
    the request used to be a 500) and gives it back unchanged."""
    big = 2 ** 70 + 1
    fn = {**FN, "parameters": {"type": "object", "properties": {}, "maximum": big}}
    with openai.OpenAI(base_url=live.openai_url, api_key="k", max_retries=0) as c:
        out = c.responses.create(model="gpt-4o", input="Hi", tools=[fn],  # type: ignore[list-item]
                                 store=True)
        again = c.responses.retrieve(out.id)
    assert again.id == out.id
    assert again.tools[0].parameters["maximum"] == big  # type: ignore[union-attr,index]
    follow = httpx.post(live.openai_url + "/responses", timeout=30, json={
        "model": "gpt-4o", "input": "And?", "previous_response_id": out.id})
    assert follow.status_code == 200, follow.text
