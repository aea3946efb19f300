"""engine/behaviour.py: which tools an answer calls, how long it reasons, and that a rule's own
answer wins over the request."""

from __future__ import annotations

import json

import jsonschema as validator

from mockllm.engine import Message, ToolDef
from mockllm.engine.behaviour import reasoning_length, unit
from mockllm.engine.request import ToolCallIn

from .conftest import chat, engine

A = ToolDef("a", "", {"type": "object", "properties": {"n": {"type": "integer", "minimum": 3,
                                                             "maximum": 9}},
                      "required": ["n"], "additionalProperties": False})
B = ToolDef("b", "", {"type": "object", "properties": {"s": {"type": "string"}},
                      "required": ["s"]})
RESULT = [Message("user", "go"), Message("assistant", "", [ToolCallIn("c1", "a", "{}")]),
          Message("tool", "done", tool_call_id="c1")]


def names(yaml: str, **kw: object) -> list[str]:
    plan = engine(yaml).plan(chat(tools=[A, B], **kw))  # type: ignore[arg-type]
    return [tc.name for tc in plan.choices[0].tool_calls]


def test_tool_choice_modes() -> None:
    assert names("rules: []", tool_choice="required") == ["a"]
    assert names("rules: []", tool_choice="required", tool_name="b") == ["b"]
    assert names("rules: []", tool_choice="none") == []
    assert names("rules: []") == []  # auto answers text by default
    assert names("defaults: {tools: {auto: call}}") == ["a"]
    assert names("defaults: {tools: {auto: call, parallel: 5}}") == ["a", "b"]
    assert names("defaults: {tools: {auto: call, parallel: 5}}",
                 parallel_tool_calls=False) == ["a"]


def test_after_a_tool_result() -> None:
    # auto (even with auto: call) answers the result in text; required moves to the next tool.
    assert names("defaults: {tools: {auto: call}}", messages=RESULT) == []
    assert names("rules: []", tool_choice="required", messages=RESULT) == ["b"]
    assert names("rules: []", tool_choice="required", tool_name="a", messages=RESULT) == ["a"]


def test_arguments_validate_and_follow_the_seed() -> None:
    e = engine("rules: []")
    calls = [e.plan(chat(tools=[A], tool_choice="required", seed=s)).choices[0].tool_calls[0]
             for s in range(30)]
    for c in calls:
        validator.validate(json.loads(c.arguments), A.parameters)
        assert "".join(c.pieces) == c.arguments and len(c.pieces) > 1
    assert len({c.arguments for c in calls}) > 1
    again = e.plan(chat(tools=[A], tool_choice="required", seed=4)).choices[0].tool_calls[0]
    assert again.arguments == calls[4].arguments and again.id != calls[4].id


def test_a_rules_own_answer_wins() -> None:
    assert names("rules: [{respond: {text: hello}}]", tool_choice="required") == []
    yaml = "rules: [{respond: {tool_calls: [{name: b}, {name: a}]}}]"
    assert names(yaml, tool_choice="none") == ["b", "a"]
    assert names(yaml, parallel_tool_calls=False) == ["b"]  # honoured for rules too


def test_reasoning_follows_effort_and_budget() -> None:
    for seed in range(200):
        low = reasoning_length(chat(reasoning_effort="low"), seed)
        assert 48 <= low <= 320
        capped = reasoning_length(chat(thinking_budget=1024, reasoning_effort="max"), seed)
        assert capped <= 1024
    plan = engine("rules: []").plan(chat(thinking=True, thinking_budget=200, max_tokens=210))
    assert plan.error is None
    choice = plan.choices[0]
    assert 0 < len(choice.reasoning_pieces) <= 200
    assert choice.completion_tokens <= 210  # reasoning shares the limit


def test_unit_is_uniform_enough() -> None:
    xs = [unit(s, 1) for s in range(10_000)]
    assert 0 <= min(xs) and max(xs) < 1
    assert 0.45 < sum(xs) / len(xs) < 0.55
