"""The state interface and its memory home (mockllm.state): counters, stores, changes."""

from __future__ import annotations

import asyncio
import textwrap

import msgspec

from mockllm.config import parse
from mockllm.engine import Engine
from mockllm.engine.counters import LocalCounters, RuleCounter
from mockllm.engine.timing import TimingRuntime
from mockllm.state import changes
from mockllm.state.memory import BoundedStore, MemoryState
from tests.engine.conftest import _TOKENIZERS, MODELS, chat


def _engine(yaml: str, counters: object | None = None) -> Engine:
    return Engine(parse(MODELS + textwrap.dedent(yaml), "t.yaml"), _TOKENIZERS,
                  TimingRuntime(), counters=counters)  # type: ignore[arg-type]


def test_take_counts_and_stops_at_the_limit() -> None:
    c = RuleCounter()
    assert [c.take(2, True) for _ in range(3)] == [0, 1, None]
    assert c.exhausted(2) and not c.exhausted(None) and c.uses == 2


def test_a_reload_keeps_the_counters_of_unchanged_rules_and_forgets_the_rest() -> None:
    state = MemoryState()
    yaml = """
    rules:
      - {name: a, match: {last_user: {contains: a}},
         respond: {sequence: [{text: "1"}, {text: "2"}]}}
      - {name: b, match: {last_user: {contains: b}}, respond: {text: b}}
    """
    one = _engine(yaml, state)
    one.plan(chat("a"))
    one.plan(chat("b"))
    two = Engine(parse(MODELS + textwrap.dedent("""
    rules:
      - {name: a, match: {last_user: {contains: a}},
         respond: {sequence: [{text: "1"}, {text: "2"}]}}
    """), "t.yaml"), _TOKENIZERS, one.timing.runtime if one.timing else TimingRuntime(),
                  previous=one)
    assert two.counters is state
    assert "".join(two.plan(chat("a")).choices[0].pieces) == "2"
    assert [r.counter.uses for r in two.rules] == [2]
    assert len(state._counters._counters) == 2  # rule a and the defaults: b is forgotten


class _UsedUpElsewhere(LocalCounters):
    """A counter store where another process used rule ``first`` up after it matched here."""

    def counter(self, key: bytes) -> RuleCounter:
        c = super().counter(key)
        if b'"first"' in key:
            class Gone(RuleCounter):
                def take(self, limit: int | None, exact: bool) -> int | None:
                    return None
            c = self._counters[key] = Gone()
        return c


def test_a_rule_used_up_by_another_process_hands_over_to_the_next_match() -> None:
    engine = _engine("""
    rules:
      - {name: first, times: 1, match: {last_user: {contains: x}}, respond: {text: one}}
      - {name: second, match: {last_user: {contains: x}}, respond: {text: two}}
    """, _UsedUpElsewhere())
    plan = engine.plan(chat("x"))
    assert plan.rule == "second" and "".join(plan.choices[0].pieces) == "two"


def test_runtime_rules_count_apart_and_forget_on_clear() -> None:
    state = MemoryState()
    engine = _engine("rules: []\n", state)
    rule = parse(MODELS + "rules:\n  - {name: r, respond: {sequence: [{text: a}, {text: b}]}}\n",
                 "t.yaml").rules
    engine.add_rules(rule)
    assert [engine.plan(chat()).rule for _ in range(2)] == ["r", "r"]
    assert engine.runtime[0].counter.uses == 2
    engine.clear_rules()
    engine.add_rules(rule)
    assert engine.runtime[0].counter.uses == 0


def test_bounded_store_drops_the_oldest() -> None:
    async def go() -> None:
        store: BoundedStore[int] = BoundedStore(2, int)
        for i in range(3):
            await store.put(str(i), i)
        assert [await store.get(k) for k in "012"] == [None, 1, 2]
        assert await store.delete("1") and not await store.delete("1")
        assert len(store) == 1
    asyncio.run(go())


def test_memory_state_hands_out_one_store_per_name() -> None:
    state = MemoryState()
    assert state.store("x", int, 3) is state.store("x", int, 3)
    assert state.store("x", int, 3) is not state.store("y", int, 3)


def test_changes_travel_as_msgpack() -> None:
    rules = parse(MODELS + "rules:\n  - {name: r, match: {model: gpt-*}, respond: {text: hi}}\n",
                  "t.yaml").rules
    for change in [changes.AddRules(rules), changes.ClearRules(), changes.Reload(),
                   changes.UseImplementation("endpoint", "openai.chat", None),
                   changes.Flush()]:
        assert changes.decoder.decode(changes.encoder.encode(change)) == change
    assert msgspec.to_builtins(changes.ClearRules()) == {"type": "clear_rules"}
