"""Per-request control headers: x-mockllm-status, -fault, -rule (and the switch that turns
them off)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import openai
import pytest

from mockllm.errors import ApiError
from mockllm.testing import LiveServer

from .conftest import chat, engine

Serve = Callable[[str], AbstractContextManager[LiveServer]]
USER = [{"role": "user", "content": "hi"}]
RULES = """
rules:
  - {name: normal, respond: {text: normal answer}}
  - {name: special, match: {last_user: never}, respond: {template: "special #{counter}"}}
"""


def test_status_header_forces_an_error() -> None:
    plan = engine(RULES).plan(chat(headers={"x-mockllm-status": "503"}))
    assert plan.error is not None and plan.error.status == 503 and plan.rule == "normal"
    limited = engine(RULES).plan(chat(headers={"x-mockllm-status": "429"}))
    assert limited.error is not None and "retry-after" in limited.error.headers


def test_a_forced_status_does_not_advance_the_rule() -> None:
    e = engine(RULES)
    e.plan(chat(headers={"x-mockllm-status": "500", "x-mockllm-rule": "special"}))
    assert e.plan(chat(headers={"x-mockllm-rule": "special"})).choices[0].text == "special #1"


@pytest.mark.parametrize("value", ["200", "abc", "600"])
def test_bad_status_header_is_a_400(value: str) -> None:
    with pytest.raises(ApiError) as info:
        engine(RULES).plan(chat(headers={"x-mockllm-status": value}))
    assert info.value.status == 400 and "x-mockllm-status" in info.value.message


@pytest.mark.parametrize(("value", "kind", "after", "seconds"), [
    ("disconnect:after=3", "disconnect", 3, 0.0),
    ("stall:seconds=2", "stall", 0, 2.0),
    ("stall:after=1,seconds=0.5", "stall", 1, 0.5),
    ("malformed", "malformed", 0, 0.0),
    ("TRUNCATE", "truncate", 0, 0.0),
])
def test_fault_header(value: str, kind: str, after: int, seconds: float) -> None:
    plan = engine(RULES).plan(chat(headers={"x-mockllm-fault": value}))
    assert plan.fault is not None
    assert (plan.fault.kind, plan.fault.after, plan.fault.seconds) == (kind, after, seconds)


@pytest.mark.parametrize("value", ["explode", "stall:seconds=x", "disconnect:after=-1",
                                   "stall:wait=1"])
def test_bad_fault_header_is_a_400(value: str) -> None:
    with pytest.raises(ApiError) as info:
        engine(RULES).plan(chat(headers={"x-mockllm-fault": value}))
    assert info.value.status == 400


def test_rule_header_forces_a_named_rule() -> None:
    e = engine(RULES)
    plan = e.plan(chat(headers={"x-mockllm-rule": "special"}))
    assert plan.rule == "special" and plan.choices[0].text == "special #1"
    with pytest.raises(ApiError) as info:
        e.plan(chat(headers={"x-mockllm-rule": "nope"}))
    assert info.value.status == 400


def test_control_headers_can_be_switched_off() -> None:
    e = engine(RULES + "server: {control_headers: false}\n")
    plan = e.plan(chat(headers={"x-mockllm-status": "500", "x-mockllm-rule": "special",
                                "x-mockllm-fault": "explode"}))
    assert plan.error is None and plan.rule == "normal" and plan.fault is None


@pytest.fixture
def sdk() -> Iterator[Callable[[LiveServer], openai.OpenAI]]:
    made: list[openai.OpenAI] = []

    def make(live: LiveServer) -> openai.OpenAI:
        made.append(openai.OpenAI(base_url=live.openai_url, api_key="x", max_retries=0))
        return made[-1]

    yield make
    for c in made:
        c.close()


def test_control_headers_through_the_sdk(serve: Serve, sdk: Callable[..., openai.OpenAI]
                                         ) -> None:
    with serve(RULES) as live:
        c = sdk(live)
        with pytest.raises(openai.InternalServerError) as info:
            c.chat.completions.create(model="gpt-4o", messages=USER,
                                      extra_headers={"X-Mockllm-Status": "503"})
        assert info.value.status_code == 503
        out = c.chat.completions.create(model="gpt-4o", messages=USER,
                                        extra_headers={"x-mockllm-rule": "special"})
        assert out.choices[0].message.content == "special #1"
        with pytest.raises(openai.APIConnectionError), c.chat.completions.create(
            model="gpt-4o", messages=USER, stream=True,
            extra_headers={"x-mockllm-fault": "disconnect:after=1"},
        ) as stream:
            list(stream)
        with pytest.raises(openai.BadRequestError):
            c.chat.completions.create(model="gpt-4o", messages=USER,
                                      extra_headers={"x-mockllm-fault": "explode"})


def test_error_fault_header_carries_a_status() -> None:
    plan = engine(RULES).plan(chat(headers={"x-mockllm-fault": "error:after=2,status=529"}))
    assert plan.fault is not None
    assert (plan.fault.kind, plan.fault.after, plan.fault.status) == ("error", 2, 529)
    with pytest.raises(ApiError):
        engine(RULES).plan(chat(headers={"x-mockllm-fault": "error:status=200"}))
