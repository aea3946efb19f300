"""A plan rendered as a Responses API answer: the ``ResponseObject`` and its stream events.

The first choice becomes ``output`` items in the API's order: a ``reasoning`` item, a
``message`` with one ``output_text`` part, then one ``function_call`` per tool call; a stream
is the same answer as typed events, each with a rising ``sequence_number``.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import msgspec

from mockllm import Frame
from mockllm.engine import Plan
from mockllm.engine.plan import Choice

from . import wire
from .logprobs import event_logprob, token_logprob
from .responses_input import LOGPROBS, echo_tools
from .responses_schema import (
    ArgumentsDeltaEvent,
    ArgumentsDoneEvent,
    FormatEcho,
    FunctionCallItem,
    IncompleteDetails,
    InputTokensDetails,
    ItemEvent,
    LifecycleEvent,
    MessageItem,
    OutputText,
    OutputTokensDetails,
    PartEvent,
    ReasoningDeltaEvent,
    ReasoningDoneEvent,
    ReasoningEcho,
    ReasoningItem,
    ReasoningText,
    ResponseObject,
    ResponsesRequest,
    ResponseUsage,
    SummaryDeltaEvent,
    SummaryDoneEvent,
    SummaryPartEvent,
    SummaryText,
    TextDeltaEvent,
    TextDoneEvent,
    TextEcho,
)
from .tiers import served_tier
from .wire import encoder

#: The ``include`` value that asks for reasoning items' ``encrypted_content``.
ENCRYPTED = "reasoning.encrypted_content"


def sealed(text: str) -> str:
    """Opaque ``encrypted_content`` in the shape OpenAI's has (a Fernet token: ``gAAAAA``
    and URL-safe base64); it holds the reasoning, so a replayed item stays the same."""
    return "gAAAAA" + base64.urlsafe_b64encode(zlib.compress(text.encode())).decode()


class Builder:
    """Ids and the response skeleton for one answer, shared by the body and the stream."""

    def __init__(self, req: ResponsesRequest, plan: Plan) -> None:
        self.req, self.plan = req, plan
        self.choice = plan.choices[0] if plan.choices else Choice()
        self.rid = wire.new_id("resp_")
        self.created = wire.now()
        self.reasoning_id = wire.new_id("rs_")
        self.message_id = wire.new_id("msg_")
        self.call_ids = [wire.new_id("fc_") for _ in self.choice.tool_calls]
        self.tools = echo_tools(req.tools)
        #: ``include: ["message.output_text.logprobs"]`` asks for them, ``top_logprobs`` how
        #: many alternatives each token lists.
        self.logprobs = LOGPROBS in (req.include or ())
        self.top = req.top_logprobs or 0
        self.incomplete = self.choice.finish_reason == "length"
        #: Asked for a reasoning summary: the reasoning goes out as ``summary_text`` parts.
        self.summary = req.reasoning is not None and bool(
            req.reasoning.summary or req.reasoning.generate_summary)
        #: Without one, OpenAI's own models show nothing of their reasoning (``summary: []``,
        #: no ``content``; only usage counts it), while open-weight servers (vLLM, Ollama,
        #: NIM...) send it as ``reasoning_text`` content.
        self.hidden = not self.summary and plan.model.provider == "openai"
        self.encrypted = ENCRYPTED in (req.include or ())

    def response(self, status: str, output: list[Any], usage: ResponseUsage | None
                 ) -> ResponseObject:
        req = self.req
        fmt = req.text.format if req.text and req.text.format else None
        echo_fmt = FormatEcho(fmt.type, fmt.name, fmt.schema, fmt.description, fmt.strict
                              ) if fmt is not None else FormatEcho("text")
        final = status in ("completed", "incomplete")
        return ResponseObject(
            id=self.rid, created_at=self.created, status=status, model=self.plan.model.id,
            output=output, instructions=req.instructions,
            max_output_tokens=req.max_output_tokens,
            previous_response_id=req.previous_response_id,
            reasoning=ReasoningEcho(req.reasoning.effort, req.reasoning.summary)
            if req.reasoning is not None else ReasoningEcho(),
            store=req.store is not False,
            text=TextEcho(echo_fmt, (req.text.verbosity if req.text else None) or "medium"),
            tool_choice="auto" if req.tool_choice is msgspec.UNSET else req.tool_choice,
            tools=self.tools, usage=usage,
            completed_at=wire.now() if status == "completed" else None,
            incomplete_details=IncompleteDetails("max_output_tokens")
            if final and self.incomplete else None,
            max_tool_calls=req.max_tool_calls,
            parallel_tool_calls=req.parallel_tool_calls is not False,
            prompt_cache_key=req.prompt_cache_key, safety_identifier=req.safety_identifier,
            temperature=req.temperature if req.temperature is not None else 1.0,
            top_logprobs=req.top_logprobs or 0,
            top_p=req.top_p if req.top_p is not None else 1.0,
            truncation=req.truncation or "disabled", user=req.user,
            background=bool(req.background), service_tier=served_tier(req.service_tier),
            metadata=req.metadata or {},
        )

    @property
    def item_status(self) -> str:
        return "incomplete" if self.incomplete else "completed"

    def usage(self) -> ResponseUsage:
        plan = self.plan
        reasoning = len(self.choice.reasoning_pieces)
        return ResponseUsage(plan.prompt_tokens, InputTokensDetails(), plan.completion_tokens,
                             OutputTokensDetails(reasoning),
                             plan.prompt_tokens + plan.completion_tokens)

    def reasoning_item(self, text: str | None) -> ReasoningItem:
        """The reasoning item; ``text`` None while it is being made (``output_item.added``,
        which carries no encrypted content: the SDK says to use the finished item's)."""
        item = ReasoningItem(id=self.reasoning_id, summary=[])
        if self.summary:
            item.summary = [] if text is None else [SummaryText(text=text)]
        elif not self.hidden and text is not None:
            item.content = [ReasoningText(text=text)]
        if self.encrypted and text is not None:
            item.encrypted_content = sealed(text)
        return item

    def reasoning_events(self, index: int, seq: Callable[[], int]) -> Iterator[
            tuple[msgspec.Struct, bool]]:
        """The reasoning item's events between its ``added`` and ``done`` (token: bool)."""
        rid, c = self.reasoning_id, self.choice
        if self.hidden:  # its time is spent before the next item (Plan.hide_reasoning)
            return
        if not self.summary:
            for piece in c.reasoning_pieces:
                yield ReasoningDeltaEvent("response.reasoning_text.delta", seq(), rid, index, 0,
                                          piece), True
            yield ReasoningDoneEvent("response.reasoning_text.done", seq(), rid, index, 0,
                                     c.reasoning), False
            return
        yield SummaryPartEvent("response.reasoning_summary_part.added", seq(), rid, index, 0,
                               SummaryText(text="")), False
        for piece in c.reasoning_pieces:
            yield SummaryDeltaEvent("response.reasoning_summary_text.delta", seq(), rid, index,
                                    0, piece), True
        yield SummaryDoneEvent("response.reasoning_summary_text.done", seq(), rid, index, 0,
                               c.reasoning), False
        yield SummaryPartEvent("response.reasoning_summary_part.done", seq(), rid, index, 0,
                               SummaryText(text=c.reasoning)), False

    def text_part(self) -> OutputText:
        """The finished ``output_text`` part, with each token's logprob when asked for."""
        c = self.choice
        if not self.logprobs:
            return OutputText(text=c.text)
        return OutputText(text=c.text, logprobs=[token_logprob(p, i, self.top)
                                                 for i, p in enumerate(c.pieces)])

    def event_logprobs(self, pieces: list[str], start: int = 0) -> list[Any]:
        if not self.logprobs:
            return []
        return [event_logprob(p, start + i, self.top) for i, p in enumerate(pieces)]

    def message_item(self, status: str, parts: list[OutputText]) -> MessageItem:
        return MessageItem(id=self.message_id, status=status, content=parts)

    def call_item(self, i: int, status: str, arguments: str) -> FunctionCallItem:
        tc = self.choice.tool_calls[i]
        return FunctionCallItem(id=self.call_ids[i], status=status, arguments=arguments,
                                call_id=tc.id, name=tc.name)

    def output(self) -> list[Any]:
        c = self.choice
        items: list[Any] = []
        if c.reasoning_pieces:
            items.append(self.reasoning_item(c.reasoning))
        if c.pieces or not c.tool_calls:
            items.append(self.message_item(self.item_status, [self.text_part()]))
        items.extend(self.call_item(i, "completed", tc.arguments)
                     for i, tc in enumerate(c.tool_calls))
        return items

    def final(self) -> ResponseObject:
        status = "incomplete" if self.incomplete else "completed"
        return self.response(status, self.output(), self.usage())

    def events(self, final: ResponseObject) -> Iterator[Frame]:
        """The stream, one frame per event; ``final`` is what ``response.completed`` carries."""
        seq = 0

        def frame(event: msgspec.Struct, token: bool = False, last: bool = False) -> Frame:
            nonlocal seq
            seq += 1
            return Frame(event.type, encoder.encode(event), token, last)  # type: ignore[attr-defined]

        def s() -> int:
            return seq

        started = self.response("in_progress", [], None)
        yield frame(LifecycleEvent("response.created", s(), started))
        yield frame(LifecycleEvent("response.in_progress", s(), started))
        c = self.choice
        index = 0
        if c.reasoning_pieces:
            yield frame(ItemEvent("response.output_item.added", s(), index,
                                  self.reasoning_item(None)))
            for event, token in self.reasoning_events(index, s):
                yield frame(event, token=token)
            yield frame(ItemEvent("response.output_item.done", s(), index,
                                  self.reasoning_item(c.reasoning)))
            index += 1
        if c.pieces or not c.tool_calls:
            mid = self.message_id
            yield frame(ItemEvent("response.output_item.added", s(), index,
                                  self.message_item("in_progress", [])))
            yield frame(PartEvent("response.content_part.added", s(), mid, index, 0,
                                  OutputText(text="")))
            for i, piece in enumerate(c.pieces):
                yield frame(TextDeltaEvent("response.output_text.delta", s(), mid, index, 0,
                                           piece, self.event_logprobs([piece], i)), token=True)
            text = c.text
            yield frame(TextDoneEvent("response.output_text.done", s(), mid, index, 0, text,
                                      self.event_logprobs(c.pieces)))
            yield frame(PartEvent("response.content_part.done", s(), mid, index, 0,
                                  self.text_part()))
            yield frame(ItemEvent("response.output_item.done", s(), index,
                                  self.message_item(self.item_status, [self.text_part()])))
            index += 1
        for i, tc in enumerate(c.tool_calls):
            fid = self.call_ids[i]
            yield frame(ItemEvent("response.output_item.added", s(), index,
                                  self.call_item(i, "in_progress", "")))
            for piece in tc.pieces:
                yield frame(ArgumentsDeltaEvent("response.function_call_arguments.delta", s(),
                                                fid, index, piece), token=True)
            yield frame(ArgumentsDoneEvent("response.function_call_arguments.done", s(), fid,
                                           index, tc.name, tc.arguments))
            yield frame(ItemEvent("response.output_item.done", s(), index,
                                  self.call_item(i, "completed", tc.arguments)))
            index += 1
        kind = "response.incomplete" if self.incomplete else "response.completed"
        yield frame(LifecycleEvent(kind, s(), final), last=True)
