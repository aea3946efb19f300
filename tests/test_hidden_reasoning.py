"""Reasoning an API counts but does not send still takes its time: the first visible token
of a stream is due after the hidden reasoning tokens at the ITL, and the stream ends when
the whole answer (as a non-streamed one waits) would. Checked on the computed schedule
(``Pacing.due``), never by timing a request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest
from google import genai

import mockllm.engine.timing
from mockllm.pacing import Pacing
from mockllm.testing import LiveServer, run_config

TTFT, ITL = 0.2, 0.01
CONFIG = f"""
models:
  - {{id: o4-mini, provider: openai, tokenizer: o200k_base}}
  - {{id: gpt-4o, provider: openai, tokenizer: o200k_base}}
  - {{id: claude-haiku-4-5, provider: anthropic}}
  - {{id: gemini-2.5-flash, provider: gemini}}
rules:
  # a fault (a stall never reached) sends the stream down the frame-by-frame path
  - match: {{last_user: {{contains: under a fault}}}}
    respond: {{text: "Done thinking.", reasoning: {{tokens: 40, seed: 1}},
              fault: {{kind: stall, after: 1000, seconds: 0}}}}
    latency: {{ttft_ms: {TTFT * 1000}, itl_ms: {ITL * 1000}}}
  - match: {{last_user: {{contains: think}}}}
    respond: {{text: "Done thinking.", reasoning: {{tokens: 40, seed: 1}}}}
    latency: {{ttft_ms: {TTFT * 1000}, itl_ms: {ITL * 1000}}}
"""


def test_hidden_tokens_shift_the_schedule() -> None:
    p = Pacing(10.0, TTFT, ITL)
    shown = [p.due(i) for i in range(3)]
    p.hide(40)
    assert p.due(0) == pytest.approx(10.0 + TTFT + 40 * ITL)
    assert [p.due(i) - p.due(0) for i in range(3)] == pytest.approx(
        [t - shown[0] for t in shown])
    # a whole answer of the same 43 tokens waits as long as the stream takes
    assert p.total(43) == pytest.approx(Pacing(10.0, TTFT, ITL).total(43))


class Spy:
    """Every Pacing the engine builds, to read its schedule after the request."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.made: list[Pacing] = []
        spy = self

        class Recorded(Pacing):
            __slots__ = ()

            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                spy.made.append(self)

        monkeypatch.setattr(mockllm.engine.timing, "Pacing", Recorded)

    def first_token_s(self) -> float:
        (p,) = self.made
        self.made.clear()
        return p.due(0) - p.start


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with run_config(CONFIG) as live:
        yield live


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Spy:
    return Spy(monkeypatch)


SHIFTED = pytest.approx(TTFT + 40 * ITL)
THINK = [{"role": "user", "content": "think it over"}]


def test_openai_chat_hides_reasoning_in_the_ttft(server: LiveServer, spy: Spy) -> None:
    o = openai.OpenAI(base_url=server.openai_url, api_key="k", max_retries=0)
    with o.chat.completions.stream(model="o4-mini", messages=THINK,  # type: ignore[arg-type]
                                   reasoning_effort="low",
                                   stream_options={"include_usage": True}) as s:
        final = s.get_final_completion()
    assert final.choices[0].message.content == "Done thinking."
    assert final.usage is not None and final.usage.completion_tokens_details is not None
    assert final.usage.completion_tokens_details.reasoning_tokens == 40
    assert spy.first_token_s() == SHIFTED
    # No reasoning asked of a model that does not reason: the first token at the TTFT.
    with o.chat.completions.stream(model="gpt-4o", messages=THINK) as s:  # type: ignore[arg-type]
        s.get_final_completion()
    assert spy.first_token_s() == pytest.approx(TTFT)


@pytest.mark.parametrize("summary, first", [(None, SHIFTED), ("auto", pytest.approx(TTFT))])
def test_responses_hides_reasoning_without_a_summary(server: LiveServer, spy: Spy,
                                                     summary: str | None, first: Any) -> None:
    o = openai.OpenAI(base_url=server.openai_url, api_key="k", max_retries=0)
    reasoning: Any = {"effort": "low", **({"summary": summary} if summary else {})}
    with o.responses.stream(model="o4-mini", input="think it over", reasoning=reasoning) as s:
        final = s.get_final_response()
    assert final.output_text == "Done thinking."
    # a summary is sent token by token, so its first piece is the first token
    assert spy.first_token_s() == first


def test_anthropic_thinking_is_shown_so_not_shifted(server: LiveServer, spy: Spy) -> None:
    a = anthropic.Anthropic(base_url=server.url, api_key="k", max_retries=0)
    with a.messages.stream(model="claude-haiku-4-5", max_tokens=2000, messages=THINK,  # type: ignore[arg-type]
                           thinking={"type": "enabled", "budget_tokens": 1024}) as s:
        msg = s.get_final_message()
    assert msg.content[0].type == "thinking"
    assert spy.first_token_s() == pytest.approx(TTFT)


@pytest.mark.parametrize("include, first", [(False, SHIFTED), (True, pytest.approx(TTFT))])
def test_gemini_hides_thoughts_unless_included(server: LiveServer, spy: Spy, include: bool,
                                               first: Any) -> None:
    from google.genai import types

    g = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=server.url))
    config = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(
        thinking_budget=1024, include_thoughts=include))
    text = "".join(c.text or "" for c in g.models.generate_content_stream(
        model="gemini-2.5-flash", contents="think it over", config=config))
    assert text.endswith("Done thinking.")
    assert spy.first_token_s() == first


# -- an answer that is all hidden reasoning ----------------------------------------------
# Cut by the limit inside its reasoning, it has no token frame to wait for: the frames that
# close it (finish reason, usage) must still wait until its last hidden token is due, as the
# whole answer does. Checked by the moment the stream's first write was handed to the server
# against that deadline (the scheduler never fires before a deadline), not by timing it.



@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Pacing, float]]:
    """(pacing, clock reading) of every write a paced stream makes."""
    import mockllm.pump

    made: list[tuple[Pacing, float]] = []
    flush = mockllm.pump.Pump._flush

    def recorded(self: mockllm.pump.Pump, more: bool) -> None:
        made.append((self.pacing, self.pacing.clock()))
        flush(self, more)

    monkeypatch.setattr(mockllm.pump.Pump, "_flush", recorded)
    return made


def held_until_the_reasoning_is_due(writes: list[tuple[Pacing, float]], tokens: int) -> None:
    """The stream's first write went out once all ``tokens`` (hidden) were due."""
    (pacing, first), *_ = writes
    due = pacing.closing_due(0)
    assert due is not None and due - pacing.start == pytest.approx(TTFT + (tokens - 1) * ITL)
    assert first >= due
    writes.clear()


def test_chat_stream_of_reasoning_only_waits_for_it(server: LiveServer, spy: Spy,
                                                    writes: list[tuple[Pacing, float]]) -> None:
    o = openai.OpenAI(base_url=server.openai_url, api_key="k", max_retries=0)
    # (the stream helper raises LengthFinishReasonError on such an answer: read the chunks)
    chunks = list(o.chat.completions.create(
        model="o4-mini", messages=THINK, max_completion_tokens=10, stream=True,  # type: ignore[arg-type]
        stream_options={"include_usage": True}))
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert not "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    usage = chunks[-1].usage
    assert usage is not None and usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == 10
    held_until_the_reasoning_is_due(writes, 10)


def test_responses_stream_of_reasoning_only_waits_for_it(
        server: LiveServer, spy: Spy, writes: list[tuple[Pacing, float]]) -> None:
    o = openai.OpenAI(base_url=server.openai_url, api_key="k", max_retries=0)
    with o.responses.stream(model="o4-mini", input="think it over", max_output_tokens=16,
                            reasoning={"effort": "low"}) as s:  # 16: the API's least
        # it ends with response.incomplete, which get_final_response does not take
        (final,) = [e.response for e in s if e.type == "response.incomplete"]
    assert final.status == "incomplete" and final.output_text == ""
    assert final.usage is not None and final.usage.output_tokens_details.reasoning_tokens == 16
    held_until_the_reasoning_is_due(writes, 16)


def test_gemini_stream_of_thoughts_only_waits_for_them(
        server: LiveServer, spy: Spy, writes: list[tuple[Pacing, float]]) -> None:
    from google.genai import types

    g = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=server.url))
    config = types.GenerateContentConfig(max_output_tokens=10, thinking_config=types.ThinkingConfig(
        thinking_budget=1024))
    chunks = list(g.models.generate_content_stream(model="gemini-2.5-flash",
                                                   contents="think it over", config=config))
    assert chunks[-1].candidates and chunks[-1].candidates[0].finish_reason == "MAX_TOKENS"
    assert chunks[-1].usage_metadata and chunks[-1].usage_metadata.thoughts_token_count == 10
    held_until_the_reasoning_is_due(writes, 10)


def test_a_faulted_stream_of_reasoning_only_waits_for_it(
        server: LiveServer, spy: Spy, monkeypatch: pytest.MonkeyPatch) -> None:
    import mockllm.stream_response

    sent: list[float] = []
    body = mockllm.stream_response._body

    def recorded(data: bytes) -> dict[str, Any]:
        sent.append(spy.made[0].clock())
        return body(data)

    monkeypatch.setattr(mockllm.stream_response, "_body", recorded)
    o = openai.OpenAI(base_url=server.openai_url, api_key="k", max_retries=0)
    chunks = list(o.chat.completions.create(
        model="o4-mini", messages=[{"role": "user", "content": "think under a fault"}],
        max_completion_tokens=10, stream=True))
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    (pacing,) = spy.made
    due = pacing.closing_due(0)
    assert due is not None and due - pacing.start == pytest.approx(TTFT + 9 * ITL)
    assert sent and sent[0] >= due


def test_a_whole_answer_of_hidden_tokens_waits_for_the_last_one() -> None:
    p = Pacing(10.0, TTFT, ITL)
    p.hide(10)
    assert p.closing_due(0) == pytest.approx(10.0 + TTFT + 9 * ITL)
    assert p.closing_due(1) is None  # a token frame was sent: the closing frames go with it
    assert p.total(10) == pytest.approx(TTFT + 9 * ITL) == Pacing(10.0, TTFT, ITL).total(10)
    assert Pacing(10.0, TTFT, ITL).closing_due(0) is None  # nothing hidden
