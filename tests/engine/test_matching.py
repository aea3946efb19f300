"""Each matcher, on the engine directly (no server): first match wins, else defaults."""

from __future__ import annotations

import msgspec

from mockllm.engine import Message, ToolDef
from mockllm.engine.request import ToolCallIn

from .conftest import chat, engine


def rule_of(yaml: str, **kw: object) -> str | None:
    req = kw.pop("req", None) or chat(**kw)  # type: ignore[arg-type]
    return engine(yaml).plan(req).rule


def test_first_match_wins_and_defaults_catch_the_rest() -> None:
    yaml = """
    rules:
      - {name: a, match: {last_user: sky}, respond: {text: A}}
      - {name: b, match: {last_user: sky}, respond: {text: B}}
    """
    e = engine(yaml)
    plan = e.plan(chat("Why is the SKY blue?"))
    assert plan.rule == "a" and plan.choices[0].text == "A"
    other = e.plan(chat("hello"))
    # The defaults: generated text that stops on its own.
    assert other.rule is None and other.choices[0].finish_reason == "stop"
    assert 12 <= len(other.choices[0].pieces) <= 400


def test_unnamed_rules_are_named_by_position() -> None:
    assert rule_of("rules: [{match: {last_user: x}}, {match: {last_user: y}}]", user="y") \
        == "rules[1]"


def test_model_glob_matches_the_alias_and_the_canonical_id() -> None:
    yaml = "rules: [{name: g, match: {model: 'gpt-4o*'}}, {name: c, match: {model: 'claude-*'}}]"
    assert rule_of(yaml, model="gpt-4o-latest") == "g"
    assert rule_of(yaml, model="claude-x", provider="anthropic") == "c"
    yaml = "rules: [{name: canon, match: {model: gpt-4o}}]"
    assert rule_of(yaml, model="gpt-4o-latest") == "canon"


def test_endpoint_glob_and_provider() -> None:
    yaml = """
    rules:
      - {name: resp, match: {endpoint: "openai.resp*"}}
      - {name: anth, match: {provider: anthropic}}
    """
    assert rule_of(yaml, endpoint="openai.responses") == "resp"
    assert rule_of(yaml, model="claude-x", provider="anthropic",
                   endpoint="anthropic.messages") == "anth"
    assert rule_of(yaml, endpoint="openai.chat") is None


def test_last_user_equals_contains_glob_regex_and_case() -> None:
    yaml = """
    rules:
      - {name: eq, match: {last_user: {equals: "Ping"}}}
      - {name: case, match: {last_user: {contains: "ABC", case: true}}}
      - {name: glob, match: {last_user: {glob: "how * you?"}}}
      - {name: re, match: {last_user: {regex: "^order \\\\d+$"}}}
    """
    assert rule_of(yaml, user="ping") == "eq"  # case-insensitive by default
    assert rule_of(yaml, user="ping pong") is None
    assert rule_of(yaml, user="xxABCxx") == "case"
    assert rule_of(yaml, user="xxabcxx") is None
    assert rule_of(yaml, user="How are you?") == "glob"
    assert rule_of(yaml, user="ORDER 123") == "re"


def test_last_user_is_the_last_user_turn() -> None:
    yaml = "rules: [{name: r, match: {last_user: second}}]"
    msgs = [Message("user", "first"), Message("assistant", "ok"), Message("user", "second"),
            Message("assistant", "done")]
    assert rule_of(yaml, messages=msgs) == "r"


def test_system_prompt_and_any_message() -> None:
    yaml = """
    rules:
      - {name: sys, match: {system: {contains: pirate}}}
      - {name: any, match: {any_message: {regex: "secret-\\\\d"}}}
    """
    assert rule_of(yaml, system="You are a pirate.", user="hi") == "sys"
    msgs = [Message("user", "the secret-7"), Message("assistant", "ok"), Message("user", "?")]
    assert rule_of(yaml, messages=msgs) == "any"
    assert rule_of(yaml, user="nothing") is None


def test_message_count_and_turn() -> None:
    yaml = """
    rules:
      - {name: first-turn, match: {turn: 1}}
      - {name: long, match: {message_count: {min: 5}}}
      - {name: mid, match: {turn: {min: 2, max: 2}}}
    """
    one = [Message("user", "a")]
    two = [*one, Message("assistant", "b"), Message("user", "c")]
    three = [*two, Message("assistant", "d"), Message("user", "e")]
    assert rule_of(yaml, messages=one) == "first-turn"
    assert rule_of(yaml, messages=two) == "mid"
    assert rule_of(yaml, messages=three) == "long"


def test_tool_result_ends_an_agent_loop() -> None:
    yaml = """
    rules:
      - {name: done, match: {tool_result: true}, respond: {text: finished}}
      - {name: call, match: {tools: [lookup]}, respond: {tool_calls: [{name: lookup}]}}
    """
    tools = [ToolDef("lookup", parameters={"type": "object"})]
    e = engine(yaml)
    first = e.plan(chat("find it", tools=tools))
    assert first.rule == "call" and first.choices[0].finish_reason == "tool_calls"
    call = first.choices[0].tool_calls[0]
    msgs = [Message("user", "find it"),
            Message("assistant", "", [ToolCallIn(call.id, call.name, call.arguments)]),
            Message("tool", "42", tool_call_id=call.id)]
    second = e.plan(chat(messages=msgs, tools=tools))
    assert second.rule == "done" and second.choices[0].text == "finished"
    assert second.choices[0].finish_reason == "stop"


def test_tools_offered_and_has_tools() -> None:
    yaml = """
    rules:
      - {name: both, match: {tools: [a, b]}}
      - {name: some, match: {has_tools: true}}
      - {name: none, match: {has_tools: false}}
    """
    assert rule_of(yaml, tools=[ToolDef("a"), ToolDef("b"), ToolDef("c")]) == "both"
    assert rule_of(yaml, tools=[ToolDef("a")]) == "some"
    assert rule_of(yaml) == "none"


def test_headers_are_case_insensitive_globs() -> None:
    yaml = """
    rules:
      - {name: exact, match: {header: {X-Scenario: overloaded}}}
      - {name: glob, match: {header: {x-tenant: "acme-*"}}}
      - {name: present, match: {header: {x-trace: "*"}}}
    """
    assert rule_of(yaml, headers={"x-scenario": "overloaded"}) == "exact"
    assert rule_of(yaml, headers={"x-tenant": "acme-eu"}) == "glob"
    assert rule_of(yaml, headers={"x-trace": ""}) == "present"
    assert rule_of(yaml, headers={"x-tenant": "other"}) is None


def test_json_path_into_the_raw_body() -> None:
    yaml = """
    rules:
      - {name: temp0, match: {json: {temperature: 0}}}
      - {name: meta, match: {json: {"metadata.user": bob, "$.tools[1].function.name": f2}}}
    """
    assert rule_of(yaml, raw={"temperature": 0}) == "temp0"
    assert rule_of(yaml, raw={"temperature": 0.5}) is None
    raw = {"metadata": {"user": "bob"}, "tools": [{}, {"function": {"name": "f2"}}]}
    assert rule_of(yaml, raw=raw) == "meta"
    # Without ``raw`` the body bytes are decoded (once, only when a json matcher looks).
    assert rule_of(yaml, body=msgspec.json.encode({"temperature": 0})) == "temp0"
    assert rule_of(yaml, body=b"not json") is None


def test_all_conditions_of_a_rule_must_hold() -> None:
    yaml = "rules: [{name: r, match: {model: gpt-4o, last_user: sky, turn: 1}}]"
    assert rule_of(yaml, user="sky") == "r"
    assert rule_of(yaml, user="sky", model="claude-x", provider="anthropic") is None


def test_matching_compiles_nothing_per_request(monkeypatch: object) -> None:
    import re

    e = engine("rules: [{name: r, match: {last_user: {regex: 'a(?P<x>b)'}, model: 'g*'}}]")
    calls = []
    orig = re.compile

    def spy(*a: object, **k: object) -> object:
        calls.append(a)
        return orig(*a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(re, "compile", spy)  # type: ignore[attr-defined]
    for _ in range(3):
        assert e.plan(chat("xab")).rule == "r"
    assert calls == []
