"""Bedrock Converse through boto3's ``bedrock-runtime`` client: text, streams (parsed by
botocore's event-stream parser), model ids, tools, inference settings, reasoning and
structured output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from botocore.exceptions import ClientError

from mockllm.engine.tokens import pieces as token_pieces
from mockllm.testing import LiveServer, run_config, run_server, test_context
from tests.bedrock_helpers import CONFIG, MODEL, SCHEMA, WEATHER, client, events, user


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with run_config(CONFIG) as live:
        yield live


@pytest.fixture(scope="module")
def brt(server: LiveServer) -> Iterator[Any]:
    c = client(server.url)
    yield c
    c.close()


def pieces(server: LiveServer, text: str, model: str = MODEL) -> list[str]:
    engine = server.context.engine
    return token_pieces(engine.tokenizer(engine.models.require(model)), text)


def test_converse_text_usage_and_stop_reason(server: LiveServer, brt: Any) -> None:
    r = brt.converse(modelId=MODEL, messages=user("hello there"))
    assert r["output"]["message"] == {"role": "assistant",
                                      "content": [{"text": "Hello world, from Bedrock."}]}
    assert r["stopReason"] == "end_turn"
    usage = r["usage"]
    assert usage["outputTokens"] == len(pieces(server, "Hello world, from Bedrock."))
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    assert usage["inputTokens"] > 0
    assert isinstance(r["metrics"]["latencyMs"], int)
    assert r["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"] == \
        r["ResponseMetadata"]["RequestId"]


def test_converse_stream_through_botocore(server: LiveServer, brt: Any) -> None:
    r = brt.converse_stream(modelId=MODEL, messages=user("hello there"))
    got = events(r)
    names = [n for n, _ in got]
    assert names[0] == "messageStart" and got[0][1] == {"role": "assistant"}
    assert names[-3:] == ["contentBlockStop", "messageStop", "metadata"]
    deltas = [b["delta"]["text"] for n, b in got if n == "contentBlockDelta"]
    assert "".join(deltas) == "Hello world, from Bedrock."
    assert deltas == pieces(server, "Hello world, from Bedrock.")
    assert all(b["contentBlockIndex"] == 0 for n, b in got if n.startswith("contentBlock"))
    assert got[-2][1] == {"stopReason": "end_turn"}
    meta = got[-1][1]
    whole = brt.converse(modelId=MODEL, messages=user("hello there"))
    assert meta["usage"] == whole["usage"]
    assert isinstance(meta["metrics"]["latencyMs"], int)


@pytest.mark.parametrize("model_id", [
    MODEL,
    f"us.{MODEL}",
    f"global.{MODEL}",
    f"arn:aws:bedrock:us-east-1::foundation-model/{MODEL}",
    f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu.{MODEL}",
])
def test_model_id_forms(brt: Any, model_id: str) -> None:
    r = brt.converse(modelId=model_id, messages=user("hello"))
    assert r["output"]["message"]["content"][0]["text"] == "Hello world, from Bedrock."


def test_tool_choice_tool_gives_tool_use_following_the_schema(brt: Any) -> None:
    config = {"tools": [WEATHER], "toolChoice": {"tool": {"name": "get_weather"}}}
    r = brt.converse(modelId=MODEL, messages=user("what now?"), toolConfig=config)
    assert r["stopReason"] == "tool_use"
    (block,) = r["output"]["message"]["content"]
    use = block["toolUse"]
    assert use["name"] == "get_weather" and use["toolUseId"].startswith("tooluse_")
    jsonschema.validate(use["input"], SCHEMA)
    # The stream sends the same kind of block: start, input pieces, stop.
    got = events(brt.converse_stream(modelId=MODEL, messages=user("what now?"),
                                     toolConfig=config))
    (start,) = [b for n, b in got if n == "contentBlockStart"]
    assert start["start"]["toolUse"]["name"] == "get_weather"
    joined = "".join(b["delta"]["toolUse"]["input"] for n, b in got
                     if n == "contentBlockDelta")
    jsonschema.validate(json.loads(joined), SCHEMA)
    assert got[-2][1] == {"stopReason": "tool_use"}


def test_tool_choice_any_and_auto(brt: Any) -> None:
    r = brt.converse(modelId=MODEL, messages=user("what now?"),
                     toolConfig={"tools": [WEATHER], "toolChoice": {"any": {}}})
    assert r["stopReason"] == "tool_use"
    r = brt.converse(modelId=MODEL, messages=user("what now?"),
                     toolConfig={"tools": [WEATHER], "toolChoice": {"auto": {}}})
    assert r["stopReason"] == "end_turn"
    assert "text" in r["output"]["message"]["content"][0]


def test_tool_result_turn_answers_text(brt: Any) -> None:
    config = {"tools": [WEATHER], "toolChoice": {"any": {}}}
    first = brt.converse(modelId=MODEL, messages=user("weather?"), toolConfig=config)
    use = first["output"]["message"]["content"][0]["toolUse"]
    messages = [
        *user("weather?"),
        first["output"]["message"],
        {"role": "user", "content": [{"toolResult": {
            "toolUseId": use["toolUseId"], "content": [{"json": {"temp": 18}}],
            "status": "success"}}]},
    ]
    r = brt.converse(modelId=MODEL, messages=messages, toolConfig={"tools": [WEATHER]})
    assert r["output"]["message"]["content"] == [{"text": "It is sunny and 18C in Paris."}]
    assert r["stopReason"] == "end_turn"
    with pytest.raises(ClientError) as e:  # tool blocks without a toolConfig
        brt.converse(modelId=MODEL, messages=messages)
    assert e.value.response["Error"]["Message"] == (
        "The toolConfig field must be defined when using toolUse and toolResult content "
        "blocks.")


def test_forced_tool_refused_where_the_model_refuses_it(brt: Any) -> None:
    with pytest.raises(ClientError) as e:
        brt.converse(modelId="meta.llama3-3-70b-instruct-v1:0", messages=user("hi"),
                     toolConfig={"tools": [WEATHER], "toolChoice": {"any": {}}})
    assert e.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "This model doesn't support the toolConfig.toolChoice.any field. Remove "
                   "toolConfig.toolChoice.any and try again."}


def test_inference_config(server: LiveServer, brt: Any) -> None:
    r = brt.converse(modelId=MODEL, messages=user("tell me more"),
                     inferenceConfig={"maxTokens": 5, "temperature": 0.2})
    assert r["stopReason"] == "max_tokens" and r["usage"]["outputTokens"] == 5
    r = brt.converse(modelId=MODEL, messages=user("hello"),
                     inferenceConfig={"stopSequences": ["from"]})
    assert r["stopReason"] == "stop_sequence"
    assert r["output"]["message"]["content"][0]["text"] == "Hello world, "
    with pytest.raises(ClientError) as e:
        brt.converse(modelId=MODEL, messages=user("hi"), inferenceConfig={"temperature": 1.5})
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert "inferenceConfig.temperature" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        brt.converse(modelId=MODEL, messages=user("hi"), inferenceConfig={"maxTokens": 64001})
    assert e.value.response["Error"]["Message"] == (
        "The maximum tokens you requested exceeds the model limit of 64000. Try again with a "
        "maximum tokens value that is lower than 64000.")


def test_system_prompt_reaches_rules(brt: Any) -> None:
    r = brt.converse(modelId=MODEL, messages=user("hi"), system=[{"text": "You are a pirate."}])
    assert r["output"]["message"]["content"][0]["text"] == "Arr, matey."


def test_reasoning_content_when_thinking_is_asked(server: LiveServer, brt: Any) -> None:
    fields = {"thinking": {"type": "enabled", "budget_tokens": 2048}}
    r = brt.converse(modelId=MODEL, messages=user("ponder this"),
                     inferenceConfig={"maxTokens": 4096}, additionalModelRequestFields=fields)
    thought, text = r["output"]["message"]["content"]
    assert thought["reasoningContent"]["reasoningText"]["text"] == \
        "Let me think about the question first."
    assert thought["reasoningContent"]["reasoningText"]["signature"]
    assert text == {"text": "Forty-two."}
    got = events(brt.converse_stream(modelId=MODEL, messages=user("ponder this"),
                                     inferenceConfig={"maxTokens": 4096},
                                     additionalModelRequestFields=fields))
    reasoning = [b["delta"]["reasoningContent"] for n, b in got
                 if n == "contentBlockDelta" and b["contentBlockIndex"] == 0]
    assert "".join(d.get("text", "") for d in reasoning) == \
        "Let me think about the question first."
    assert "signature" in reasoning[-1]
    assert [b["delta"]["text"] for n, b in got
            if n == "contentBlockDelta" and b["contentBlockIndex"] == 1] == \
        pieces(server, "Forty-two.")
    # Without the field, no reasoning.
    r = brt.converse(modelId=MODEL, messages=user("ponder this"))
    assert r["output"]["message"]["content"] == [{"text": "Forty-two."}]


def test_reasoning_checks(brt: Any) -> None:
    cases = [
        (MODEL, {"thinking": {"type": "enabled", "budget_tokens": 100}},
         "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"),
        ("anthropic.claude-opus-5-5", {"thinking": {"type": "enabled", "budget_tokens": 2048}},
         '"thinking.type.enabled" is not supported for this model.'),
    ]
    for model, fields, message in cases:
        with pytest.raises(ClientError) as e:
            brt.converse(modelId=model, messages=user("hi"), additionalModelRequestFields=fields)
        assert e.value.response["Error"]["Code"] == "ValidationException"
        assert message in e.value.response["Error"]["Message"]
    r = brt.converse(modelId="anthropic.claude-opus-5-5", messages=user("ponder"),
                     additionalModelRequestFields={"thinking": {"type": "adaptive"}})
    assert "reasoningContent" in r["output"]["message"]["content"][0]
    r = brt.converse(modelId="amazon.nova-2-lite-v1:0", messages=user("ponder"),
                     additionalModelRequestFields={"reasoningConfig": {
                         "type": "enabled", "maxReasoningEffort": "low"}})
    assert "reasoningContent" in r["output"]["message"]["content"][0]


def test_structured_output(brt: Any) -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"},
                                               "age": {"type": "integer"}},
              "required": ["name", "age"], "additionalProperties": False}
    r = brt.converse(modelId=MODEL, messages=user("a person"), outputConfig={"textFormat": {
        "type": "json_schema", "structure": {"jsonSchema": {"schema": json.dumps(schema),
                                                            "name": "person"}}}})
    jsonschema.validate(json.loads(r["output"]["message"]["content"][0]["text"]), schema)


def test_journal_sees_bedrock_requests(server: LiveServer, brt: Any) -> None:
    server.context.journal.clear()
    brt.converse(modelId=f"us.{MODEL}", messages=user("hello"))
    list(brt.converse_stream(modelId=MODEL, messages=user("hello"))["stream"])
    entries = server.context.journal.query()
    assert [e.endpoint for e in entries] == ["bedrock.converse", "bedrock.converse_stream"]
    assert {e.model for e in entries} == {MODEL}


def test_default_config_serves_bedrock_models() -> None:
    with run_server(test_context()) as live:
        c = client(live.url)
        for model_id in ["us.anthropic.claude-sonnet-5-5", "amazon.nova-pro-v1:0",
                         "meta.llama4-maverick-17b-instruct-v1:0"]:
            r = c.converse(modelId=model_id, messages=user("Hi"))
            assert r["stopReason"] == "end_turn"
            text = r["output"]["message"]["content"][0]["text"]
            engine = live.context.engine
            tok = engine.tokenizer(engine.models.require(model_id.removeprefix("us.")))
            assert r["usage"]["outputTokens"] == len(token_pieces(tok, text))
        got = events(c.converse_stream(
            modelId="global.anthropic.claude-sonnet-5-5", messages=user("Hi"),
            toolConfig={"tools": [WEATHER]}))
        assert got[-2][1] == {"stopReason": "end_turn"}
        c.close()
