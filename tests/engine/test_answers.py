"""Each response kind, and max_tokens / stop / ignore_eos / min_tokens / n / seed, on the
engine directly."""

from __future__ import annotations

import json
import math

import jsonschema as validator
import pytest

from mockllm.engine import Message, ToolDef
from mockllm.engine.request import NeutralRequest
from mockllm.engine.tokens import Tokenizers
from plugins_builtin.tokenizers import mockllm_tokenizer

from .conftest import chat, engine

TOK = Tokenizers(mockllm_tokenizer).get("cl100k_base")


def test_literal_text_is_cut_on_token_boundaries() -> None:
    plan = engine("rules: [{respond: {text: 'The sky is blue.'}}]").plan(chat())
    c = plan.choices[0]
    assert c.text == "The sky is blue." and c.finish_reason == "stop"
    assert len(c.pieces) == len(TOK.encode("The sky is blue.")) == plan.completion_tokens


def test_template_with_regex_groups_and_request_data() -> None:
    yaml = r"""
    rules:
      - match: {last_user: {regex: "weather in (?P<city>\\w+)"}}
        respond: {template: "{{{city}}} via {model} ({requested_model}) #{counter}: {last_user}"}
    """
    e = engine(yaml)
    first = e.plan(chat("weather in Paris", model="gpt-4o-latest")).choices[0].text
    assert first == "{Paris} via gpt-4o (gpt-4o-latest) #1: weather in Paris"
    second = e.plan(chat("weather in Oslo")).choices[0].text
    assert second == "{Oslo} via gpt-4o (gpt-4o) #2: weather in Oslo"


def test_template_names_cover_the_request() -> None:
    yaml = """
    rules:
      - name: t
        respond:
          template: "{rule}|{endpoint}|{provider}|{system}|{last_message}|{message_count}|\\
            {choice}"
    """
    msgs = [Message("user", "q"), Message("assistant", "a"), Message("user", "last")]
    plan = engine(yaml).plan(chat(system="sys", messages=msgs, n=2))
    assert [c.text for c in plan.choices] == ["t|openai.chat|openai|sys|last|4|0",
                                              "t|openai.chat|openai|sys|last|4|1"]


def test_generated_text_has_exactly_n_tokens_and_is_deterministic() -> None:
    e = engine("rules: [{respond: {generate: {tokens: 50}}}]")
    a = e.plan(chat("prompt one")).choices[0]
    b = e.plan(chat("prompt one")).choices[0]
    c = e.plan(chat("prompt two")).choices[0]
    assert len(a.pieces) == 50 and len(TOK.encode(a.text)) == 50
    assert a.text == b.text != c.text
    fixed = engine("rules: [{respond: {generate: {tokens: 5, seed: 7}}}]")
    assert fixed.plan(chat("x")).choices[0].text == fixed.plan(chat("y")).choices[0].text


def test_request_seed_makes_output_repeatable() -> None:
    e = engine("rules: []")
    assert e.plan(chat("a", seed=3)).choices[0].text == e.plan(chat("b", seed=3)).choices[0].text
    assert e.plan(chat("a", seed=3)).choices[0].text != e.plan(chat("a", seed=4)).choices[0].text


def test_max_tokens_cuts_with_length() -> None:
    e = engine("rules: [{respond: {text: 'one two three four five six'}}]")
    c = e.plan(chat(max_tokens=3)).choices[0]
    assert c.text == "one two three" and c.finish_reason == "length"
    g = engine("rules: []").plan(chat(max_tokens=4)).choices[0]
    assert len(g.pieces) == 4 and g.finish_reason == "length"


def test_max_tokens_above_the_model_limit_is_a_400() -> None:
    plan = engine("rules: []").plan(chat(max_tokens=301))
    assert plan.error is not None and plan.error.status == 400
    assert "at most 300 completion tokens" in plan.error.message
    anth = engine("rules: []").plan(chat(model="claude-x", provider="anthropic", max_tokens=999))
    assert anth.error is not None and anth.error.message.startswith("max_tokens: 999 > 300")


def test_ignore_eos_generates_exactly_max_tokens() -> None:
    e = engine("rules: [{name: t, match: {last_user: lit}, respond: {text: 'short answer'}}]")
    gen = e.plan(chat("gen", max_tokens=77, ignore_eos=True)).choices[0]
    assert len(gen.pieces) == 77 and gen.finish_reason == "length"
    lit = e.plan(chat("lit", max_tokens=20, ignore_eos=True)).choices[0]
    assert len(lit.pieces) == 20 and lit.text.startswith("short answer ")
    assert len(TOK.encode(lit.text)) == 20


def test_min_tokens_raises_the_generated_length() -> None:
    c = engine("rules: [{respond: {generate: {tokens: 3}}}]").plan(chat(min_tokens=9))
    assert len(c.choices[0].pieces) == 9


def test_stop_cuts_before_the_stop_string() -> None:
    e = engine("rules: [{respond: {text: 'alpha beta. gamma delta'}}]")
    c = e.plan(chat(stop=["gamma", "."])).choices[0]
    assert c.text == "alpha beta" and c.finish_reason == "stop_sequence"
    assert c.stop_sequence == "."


def test_n_choices_differ_and_carry_their_index() -> None:
    plan = engine("rules: []").plan(chat(n=3))
    assert [c.index for c in plan.choices] == [0, 1, 2]
    assert len({c.text for c in plan.choices}) == 3
    # Each choice stops on its own, after a natural length of its own seed.
    assert all(c.finish_reason == "stop" for c in plan.choices)
    assert plan.completion_tokens == sum(len(c.pieces) for c in plan.choices) > 3 * 12


def test_tool_calls_literal_template_and_json_text() -> None:
    yaml = r"""
    rules:
      - match: {last_user: {regex: "in (?P<city>\\w+)"}}
        respond:
          tool_calls:
            - {name: get_weather, arguments: {city: "{city}", unit: celsius, days: [1, 2]}}
            - {name: raw, arguments: '{"q": "{not a template}"}'}
    """
    c = engine(yaml).plan(chat("weather in Lyon")).choices[0]
    assert c.finish_reason == "tool_calls" and c.text == ""
    a, b = c.tool_calls
    assert json.loads(a.arguments) == {"city": "Lyon", "unit": "celsius", "days": [1, 2]}
    assert "".join(a.pieces) == a.arguments and a.id.startswith("call_")
    assert b.name == "raw" and json.loads(b.arguments) == {"q": "{not a template}"}
    assert c.completion_tokens == len(a.pieces) + len(b.pieces)


SCHEMA = {
    "type": "object",
    "properties": {
        "query": {"type": "string", "minLength": 3},
        "limit": {"type": "integer", "minimum": 1, "maximum": 10},
        "filters": {"type": "array", "items": {"$ref": "#/$defs/filter"}, "minItems": 1},
        "when": {"type": "string", "format": "date-time"},
        "mode": {"enum": ["fast", "exact"]},
    },
    "required": ["query", "limit"],
    "$defs": {"filter": {"type": "object", "properties": {
        "field": {"const": "tag"}, "value": {"anyOf": [{"type": "null"}, {"type": "number"}]}},
        "required": ["field", "value"], "additionalProperties": False}},
    "additionalProperties": False,
}


def test_tool_arguments_generated_from_the_offered_schema() -> None:
    e = engine("rules: [{respond: {tool_calls: [{name: search}, {name: unknown}]}}]")
    req = chat(tools=[ToolDef("search", parameters=SCHEMA)])
    c = e.plan(req).choices[0]
    args = json.loads(c.tool_calls[0].arguments)
    validator.validate(args, SCHEMA)
    assert json.loads(c.tool_calls[1].arguments) == {}
    assert e.plan(chat(tools=[ToolDef("search", parameters=SCHEMA)])).choices[0] \
        .tool_calls[0].arguments == c.tool_calls[0].arguments


def test_tool_call_arguments_count_against_max_tokens() -> None:
    e = engine("rules: [{respond: {tool_calls: [{name: f, arguments: {text: 'a b c d e f g'}}]}}]")
    c = e.plan(chat(max_tokens=3)).choices[0]
    assert c.finish_reason == "length" and len(c.tool_calls[0].pieces) == 3


def test_text_with_tool_calls() -> None:
    c = engine("rules: [{respond: {text: 'Checking.', tool_calls: [{name: f}]}}]") \
        .plan(chat()).choices[0]
    assert c.text == "Checking." and c.finish_reason == "tool_calls"


def test_response_format_json_schema_validates() -> None:
    e = engine("rules: []")
    for seed in range(5):
        req = chat(response_format="json_schema", seed=seed,
                   json_schema={"name": "x", "schema": SCHEMA, "strict": True})
        validator.validate(json.loads(e.plan(req).choices[0].text), SCHEMA)
    bare = e.plan(chat(response_format="json_schema", json_schema=SCHEMA)).choices[0]
    validator.validate(json.loads(bare.text), SCHEMA)


def test_response_format_json_object_is_an_object() -> None:
    c = engine("rules: []").plan(chat("answer in json", response_format="json_object"))
    assert isinstance(json.loads(c.choices[0].text), dict)


def test_bad_response_schema_is_a_400() -> None:
    plan_error = None
    try:
        engine("rules: []").plan(chat(response_format="json_schema",
                                      json_schema={"type": "integer", "minimum": 5,
                                                   "maximum": 1}))
    except Exception as exc:  # ApiError from rendering
        plan_error = exc
    assert plan_error is not None and getattr(plan_error, "status", None) == 400


def test_reasoning_only_when_thinking_is_asked() -> None:
    yaml = "rules: [{respond: {text: answer, reasoning: 'Let me think step by step.'}}]"
    e = engine(yaml)
    plain = e.plan(chat()).choices[0]
    assert plain.reasoning_pieces == [] and plain.text == "answer"
    think = e.plan(chat(thinking=True)).choices[0]
    assert think.reasoning == "Let me think step by step." and think.text == "answer"
    assert think.completion_tokens == len(think.reasoning_pieces) + 1
    gen = engine("rules: [{respond: {text: a, reasoning: {tokens: 12}}}]")
    assert len(gen.plan(chat(thinking=True)).choices[0].reasoning_pieces) == 12
    capped = gen.plan(chat(thinking=True, thinking_budget=5)).choices[0]
    assert len(capped.reasoning_pieces) == 5


def embed_req(*inputs: str, **kw: object) -> NeutralRequest:
    return NeutralRequest("openai.embeddings", "openai", "emb", inputs=list(inputs),
                          **kw)  # type: ignore[arg-type]


def test_derived_embeddings_are_deterministic_unit_vectors() -> None:
    e = engine("rules: []")
    plan = e.plan(embed_req("hello world", "hello world", "cats and dogs"))
    a, b, c = plan.embeddings
    assert len(a) == 8 and a == b != c
    assert math.isclose(sum(x * x for x in a), 1.0, rel_tol=1e-6)  # float32, as the APIs send
    assert plan.choices == [] and plan.completion_tokens == 0
    assert plan.prompt_tokens == 2 + 2 + 3
    assert len(e.plan(embed_req("x", dimensions=3)).embeddings[0]) == 3


def test_similar_texts_get_similar_embeddings() -> None:
    e = engine("rules: []")
    q, near, far = e.plan(embed_req("the capital of France", "France capital city Paris",
                                     "bananas are yellow", dimensions=256)).embeddings
    dot = lambda u, v: sum(x * y for x, y in zip(u, v, strict=True))  # noqa: E731
    assert dot(q, near) > dot(q, far)


def test_fixed_embedding() -> None:
    plan = engine("rules: [{respond: {embedding: [3, 4]}}]").plan(embed_req("a", dimensions=2))
    assert plan.embeddings == [[0.6, 0.8]]


def test_ranking_scores_order_relevant_passages_first() -> None:
    req = embed_req("Paris is the capital of France", "Bananas are yellow",
                    query="capital of France")
    scores = engine("rules: []").plan(req).scores
    assert len(scores) == 2 and scores[0] > scores[1]


def test_error_answer_with_rate_limit_headers() -> None:
    yaml = "rules: [{respond: {error: {status: 429, retry_after: 0.25}}}]"
    plan = engine(yaml).plan(chat())
    err = plan.error
    assert err is not None and err.status == 429 and err.kind == "rate_limit"
    assert err.code == "rate_limit_exceeded"
    assert err.headers["retry-after"] == "1" and err.headers["retry-after-ms"] == "250"
    assert err.headers["x-ratelimit-remaining-requests"] == "0"
    assert "x-ratelimit-reset-requests" in err.headers


def test_error_answer_any_status_and_strings() -> None:
    yaml = "rules: [{respond: {error: {status: 418, message: teapot, type: odd, code: c1}}}]"
    err = engine(yaml).plan(chat()).error
    assert err is not None and (err.status, err.message, err.type_, err.code) == (
        418, "teapot", "odd", "c1")


def test_fault_is_planned() -> None:
    plan = engine("rules: [{respond: {text: x, fault: {kind: stall, after: 2, seconds: 0.5}}}]") \
        .plan(chat())
    assert plan.fault is not None and (plan.fault.kind, plan.fault.after, plan.fault.seconds) \
        == ("stall", 2, 0.5)
    assert plan.pacing is not None and plan.pacing.fault is plan.fault


def test_sequence_repeats_the_last_answer() -> None:
    e = engine("rules: [{respond: {sequence: [{text: one}, {text: two}]}}]")
    assert [e.plan(chat()).choices[0].text for _ in range(4)] == ["one", "two", "two", "two"]


def test_sequence_cycles() -> None:
    e = engine("rules: [{respond: {cycle: true, sequence: [{text: one}, {error: {status: 500}}]}}]")
    out = [e.plan(chat()) for _ in range(4)]
    assert [p.choices[0].text if p.error is None else p.error.status for p in out] == [
        "one", 500, "one", 500]


def test_times_limits_a_rule() -> None:
    e = engine("rules: [{name: twice, times: 2, respond: {text: limited}}]")
    plans = [e.plan(chat()) for _ in range(3)]
    assert [p.rule for p in plans] == ["twice", "twice", None]


def test_counters_are_per_rule() -> None:
    yaml = """
    rules:
      - {match: {last_user: a}, respond: {template: "a{counter}"}}
      - {match: {last_user: b}, respond: {template: "b{counter}"}}
    """
    e = engine(yaml)
    assert [e.plan(chat(u)).choices[0].text for u in "aabab"] == ["a1", "a2", "b1", "a3", "b2"]


def test_empty_respond_uses_the_defaults() -> None:
    plan = engine("rules: [{name: r, match: {last_user: x}}]").plan(chat("x"))
    defaults = engine("rules: []").plan(chat("x"))
    assert plan.rule == "r" and plan.choices[0].pieces == defaults.choices[0].pieces


def test_over_the_context_window_is_the_providers_400() -> None:
    e = engine("rules: []")
    long = "word " * 500
    err = e.plan(chat(long)).error
    assert err is not None and err.status == 400 and err.code == "context_length_exceeded"
    assert err.message.startswith("This model's maximum context length is 400 tokens.")
    anth = e.plan(chat(long, model="claude-x", provider="anthropic")).error
    assert anth is not None and anth.message.startswith("prompt is too long: ")


def test_unknown_model_is_a_404() -> None:
    from mockllm.errors import ApiError

    with pytest.raises(ApiError) as info:
        engine("rules: []").plan(chat(model="gpt-nope"))
    assert info.value.status == 404 and info.value.code == "model_not_found"


@pytest.mark.parametrize("generate", ["{tokens: 4}", "{tokens: 4, fill: true}",
                                      "{tokens: 300, seed: 9}", "{tokens: 0}"])
def test_plain_generated_short_path_equals_the_general_path(generate: str) -> None:
    # A generate-only answer skips the general dispatch; it must give the same Choice for
    # every length setting (limits below, at and above the generated count, ignore_eos,
    # min_tokens, n), or the short path would change answers.
    e = engine(f"defaults: {{respond: {{generate: {generate}}}}}")
    assert e._defaults.plain
    for max_tokens in (None, 1, 3, 4, 5, 300):
        for ignore_eos in (False, True):
            for min_tokens in (0, 4, 6):
                req = chat("same prompt", max_tokens=max_tokens, ignore_eos=ignore_eos,
                           min_tokens=min_tokens, n=2)
                short = e.plan(req).choices
                e._defaults.plain = False
                try:
                    general = e.plan(req).choices
                finally:
                    e._defaults.plain = True
                assert short == general, (max_tokens, ignore_eos, min_tokens)


def test_choices_answer_each_index() -> None:
    e = engine("rules: [{respond: {choices: [{text: one}, {text: two}]}}]")
    assert [c.text for c in e.plan(chat(n=3)).choices] == ["one", "two", "one"]
    assert [c.text for c in e.plan(chat()).choices] == ["one"]


def test_embeddings_answer_each_input() -> None:
    e = engine("rules: [{respond: {embeddings: [[1, 0], [0, 1]]}}]")
    plan = e.plan(NeutralRequest(model="emb", endpoint="openai.embeddings",
                                 provider="openai", inputs=["a", "b", "c"], dimensions=2))
    assert plan.embeddings == [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]
