"""Hosted tools, tool_choice objects and prompt are checked against the spec's own schemas
(plugins_builtin/openai/tool_schemas.json, extracted by tools/extract_tool_schemas.py), and
refused with the API's wording: through the openai SDK, and the validator on its own."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from mockllm.errors import ApiError
from mockllm.testing import LiveServer, run_server, test_context
from plugins_builtin.openai import tool_schema

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    with run_server(test_context()) as server:
        yield server


FS = {"type": "file_search", "vector_store_ids": ["vs_1"]}

#: Bodies the coverage phase of tests/fuzz found accepted, and the param the API names.
REFUSED: list[tuple[dict[str, Any], str, str]] = [
    ({"tools": [{"type": "file_search", "vector_store_ids": [0]}]},
     "tools[0].vector_store_ids[0]", "invalid_type"),
    ({"tools": [{**FS, "max_num_results": "x"}]}, "tools[0].max_num_results", "invalid_type"),
    ({"tools": [{**FS, "ranking_options": {"hybrid_search": {"text_weight": "x",
                                                             "embedding_weight": 1}}}]},
     "tools[0].ranking_options.hybrid_search.text_weight", "invalid_type"),
    ({"tools": [{"type": "mcp", "server_label": "s",
                 "require_approval": {"never": {"tool_names": [1]}}}]},
     "tools[0].require_approval.never.tool_names[0]", "invalid_type"),
    ({"tools": [{"type": "image_generation", "quality": "ultra"}]}, "tools[0].quality",
     "invalid_value"),
    ({"tools": [{"type": "image_generation", "output_compression": 101}]},
     "tools[0].output_compression", "integer_above_max_value"),
    ({"tools": [FS, {"type": "web_search", "user_location": {"type": "exact"}}]},
     "tools[1].user_location.type", "invalid_value"),
    ({"tools": [{"type": "code_interpreter",
                 "container": {"type": "auto", "network_policy": {"type": 5}}}]},
     "tools[0].container.network_policy.type", "invalid_type"),
    ({"tools": None}, "tools", "invalid_type"),
    ({"tool_choice": None}, "tool_choice", "invalid_type"),
    ({"text": {"format": {}}}, "text.format.type", "missing_required_parameter"),
    ({"prompt": {"id": "pmpt_1", "variables": {"city": 3}}}, "prompt.variables.city",
     "invalid_type"),
]


@pytest.mark.parametrize(("extra", "param", "code"), REFUSED,
                         ids=[r[1] + "-" + r[2] for r in REFUSED])
def test_the_sdk_gets_the_apis_400(live: LiveServer, extra: dict[str, Any], param: str,
                                   code: str) -> None:
    with openai.OpenAI(base_url=live.openai_url, api_key="k", max_retries=0) as c, \
            pytest.raises(openai.BadRequestError) as err:
        c.responses.create(model="gpt-4o", input="Hi", extra_body=extra)
    assert err.value.param == param
    assert err.value.code == code
    assert isinstance(err.value.body, dict) and err.value.body["type"] == "invalid_request_error"


def test_the_wording_is_the_apis(live: LiveServer) -> None:
    with openai.OpenAI(base_url=live.openai_url, api_key="k", max_retries=0) as c, \
            pytest.raises(openai.BadRequestError) as err:
        c.responses.create(model="gpt-4o", input="Hi",
                           tools=[{**FS, "max_num_results": "x"}])  # type: ignore[list-item]
    assert isinstance(err.value.body, dict)
    assert err.value.body["message"] == ("Invalid type for 'tools[0].max_num_results': "
                                         "expected an integer, but got a string instead.")


def test_valid_hosted_tools_are_accepted_and_echoed(live: LiveServer) -> None:
    tools: list[Any] = [
        {**FS, "max_num_results": 5,
         "ranking_options": {"ranker": "auto", "score_threshold": 0.5},
         "filters": {"type": "and", "filters": [
             {"type": "eq", "key": "lang", "value": "en"},
             {"type": "or", "filters": [{"type": "gte", "key": "year", "value": 2020}]}]}},
        {"type": "web_search", "filters": {"allowed_domains": ["example.com"]},
         "user_location": {"type": "approximate", "city": "Paris"},
         "search_context_size": "low"},
        {"type": "mcp", "server_label": "docs", "server_url": "https://mcp.example.com/sse",
         "require_approval": "never"},
    ]
    with openai.OpenAI(base_url=live.openai_url, api_key="k", max_retries=0) as c:
        out = c.responses.create(model="gpt-4o", input="Hi", tools=tools,
                                 tool_choice={"type": "file_search"})
    assert out.status == "completed"
    echoed = [t.model_dump(exclude_none=True) for t in out.tools]
    assert echoed[0]["vector_store_ids"] == ["vs_1"] and echoed[0]["max_num_results"] == 5
    assert echoed[0]["filters"]["filters"][1]["filters"][0]["value"] == 2020
    assert echoed[1]["user_location"] == {"type": "approximate", "city": "Paris"}
    assert echoed[2]["server_url"] == "https://mcp.example.com/sse"


def _refusal(schema: dict[str, Any], value: Any) -> tuple[str | None, str | None]:
    try:
        tool_schema.validate(schema, value, "x")
    except ApiError as e:
        return e.param, e.code
    return None, None


def test_integer_number_and_boolean_are_kept_apart() -> None:
    fs = tool_schema.SCHEMAS["FileSearchTool"]
    assert _refusal(fs, {**FS, "max_num_results": 2.5}) == ("x.max_num_results", "invalid_type")
    assert _refusal(fs, {**FS, "max_num_results": True}) == ("x.max_num_results",
                                                             "invalid_type")
    assert _refusal(fs, {**FS, "max_num_results": 3.0}) == (None, None)  # JSON's 3.0 is 3
    ranking = tool_schema.SCHEMAS["RankingOptions"]
    assert _refusal(ranking, {"score_threshold": 1}) == (None, None)  # an integer is a number


def test_the_other_keywords() -> None:
    mcp = tool_schema.SCHEMAS["MCPTool"]
    base = {"type": "mcp", "server_label": "s"}
    assert _refusal(mcp, {**base, "tunnel_id": "t"}) == ("x.tunnel_id", "invalid_value")
    assert _refusal(mcp, {**base, "allowed_callers": []}) == ("x.allowed_callers",
                                                             "empty_array")
    assert _refusal(mcp, {**base, "server_url": "not a uri"}) == ("x.server_url",
                                                                 "invalid_value")
    assert _refusal(mcp, {"type": "mcp"}) == ("x.server_label", "missing_required_parameter")
    compound = tool_schema.SCHEMAS["CompoundFilter"]
    assert _refusal(compound, {"type": "and", "filters": [], "extra": 1}) == (
        "x.extra", "unknown_parameter")
    # Nested compound filters: the spec's $recursiveRef, resolved to the schema itself.
    deep = {"type": "and", "filters": [{"type": "or", "filters": [{"type": "zz"}]}]}
    assert _refusal(compound, deep) == ("x.filters[0].filters[0].type", "invalid_value")
    assert _refusal(tool_schema.TOOL, {"type": "nope"}) == ("x.type", "invalid_value")
    assert _refusal(tool_schema.TOOL, {"name": "f"}) == ("x.type", "missing_required_parameter")


def test_the_shipped_schemas_are_the_spec_copys() -> None:
    """tool_schemas.json is what the script extracts from tests/fuzz's copy of the spec now:
    a spec update without re-running tools/extract_tool_schemas.py fails here."""
    import importlib.util
    spec_path = ROOT / "tests" / "fuzz" / "openai-openapi.json"
    shipped = json.loads((ROOT / "plugins_builtin" / "openai" / "tool_schemas.json").read_text())
    raw = spec_path.read_bytes()
    assert shipped["sha256"] == hashlib.sha256(raw).hexdigest()
    loader = importlib.util.spec_from_file_location(
        "extract_tool_schemas", ROOT / "tools" / "extract_tool_schemas.py")
    assert loader is not None and loader.loader is not None
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    assert module.extract(json.loads(raw)) == shipped["schemas"]
