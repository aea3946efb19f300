"""``openai.responses``: the Responses API, ``POST /v1/responses`` and
``GET``/``DELETE /v1/responses/{response_id}``.

A plan's first choice becomes ``output`` items in the API's order: a ``reasoning`` item, a
``message`` with one ``output_text`` part, then one ``function_call`` per tool call. A stream
is the same answer as typed ``event:``/``data:`` pairs on the ``sse-events`` transport, each
payload with a rising ``sequence_number``, ending with ``response.completed`` (or
``response.incomplete`` when ``max_output_tokens`` cut it), and no ``[DONE]``.

Stored responses (``store`` defaults to true) live in a bounded in-memory store, with the
conversation so far, so ``previous_response_id`` can continue it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec
from msgspec import UNSET, UnsetType
from starlette.requests import Request
from starlette.responses import Response

from mockllm import ApiError, Frame
from mockllm.engine import Message, NeutralRequest, Plan, ToolDef
from mockllm.engine.plan import Choice
from mockllm.engine.request import ToolCallIn

from . import errors, wire
from .base import OpenAIEndpoint, headers_of, known_fields
from .chat import check_count
from .wire import encoder

#: How many responses the store keeps; the oldest is dropped first.
STORE_SIZE = 1000

# -- request --------------------------------------------------------------------------


class InputPart(msgspec.Struct, omit_defaults=True):
    type: str
    text: str | None = None


class InputItem(msgspec.Struct, omit_defaults=True):
    """A message, a function call, a function call's output, or a reasoning item.

    Unknown fields are ignored, so every item type the API accepts decodes; only text and
    tool calls matter to the rules.
    """

    type: str | None = None
    role: str | None = None
    content: str | list[InputPart] | None = None
    id: str | None = None
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    output: str | list[InputPart] | None = None


class TextFormat(msgspec.Struct):
    type: Literal["text", "json_object", "json_schema"] = "text"
    name: str | None = None
    schema: dict[str, Any] | None = None
    description: str | None = None
    strict: bool | None = None


class TextConfig(msgspec.Struct):
    format: TextFormat | None = None
    verbosity: str | None = None


class ReasoningConfig(msgspec.Struct):
    effort: str | None = None
    summary: str | None = None
    generate_summary: str | None = None


class ResponsesRequest(msgspec.Struct):
    """OpenAI's CreateResponse body, plus vLLM's ``ignore_eos``/``min_tokens``."""

    model: str
    input: str | list[InputItem] | None = None
    instructions: str | list[InputItem] | None = None
    previous_response_id: str | None = None
    store: bool | None = None
    stream: bool | None = None
    stream_options: Any = None
    max_output_tokens: int | None = None
    max_tool_calls: int | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    parallel_tool_calls: bool | None = None
    text: TextConfig | None = None
    reasoning: ReasoningConfig | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_logprobs: int | None = None
    metadata: dict[str, str] | None = None
    truncation: str | None = None
    user: str | None = None
    include: list[str] | None = None
    background: bool | None = None
    prompt: Any = None
    prompt_cache_key: str | None = None
    prompt_cache_retention: str | None = None
    prompt_cache_options: Any = None
    safety_identifier: str | None = None
    service_tier: str | None = None
    conversation: Any = None
    context_management: Any = None
    moderation: Any = None
    ignore_eos: bool = False
    min_tokens: int = 0


_decoder = msgspec.json.Decoder(ResponsesRequest)
_FIELDS = known_fields(ResponsesRequest)

# -- response -------------------------------------------------------------------------


class OutputText(msgspec.Struct, kw_only=True):
    type: str = "output_text"
    annotations: list[Any] = []
    logprobs: list[Any] = []
    text: str


class MessageItem(msgspec.Struct, kw_only=True):
    id: str
    type: str = "message"
    status: str
    content: list[OutputText]
    role: str = "assistant"


class FunctionCallItem(msgspec.Struct, kw_only=True):
    id: str
    type: str = "function_call"
    status: str
    arguments: str
    call_id: str
    name: str


class ReasoningText(msgspec.Struct, kw_only=True):
    type: str = "reasoning_text"
    text: str


class ReasoningItem(msgspec.Struct, kw_only=True):
    id: str
    type: str = "reasoning"
    summary: list[Any]
    content: list[ReasoningText] | UnsetType = UNSET


class InputTokensDetails(msgspec.Struct):
    cached_tokens: int = 0
    cache_write_tokens: int = 0


class OutputTokensDetails(msgspec.Struct):
    reasoning_tokens: int = 0


class ResponseUsage(msgspec.Struct):
    input_tokens: int
    input_tokens_details: InputTokensDetails
    output_tokens: int
    output_tokens_details: OutputTokensDetails
    total_tokens: int


class IncompleteDetails(msgspec.Struct):
    reason: str


class ReasoningEcho(msgspec.Struct):
    effort: str | None = None
    summary: str | None = None


class FormatEcho(msgspec.Struct, omit_defaults=True):
    type: str
    name: str | None = None
    schema: dict[str, Any] | None = None
    description: str | None = None
    strict: bool | None = None


class TextEcho(msgspec.Struct):
    format: FormatEcho
    verbosity: str = "medium"


class ResponseObject(msgspec.Struct, kw_only=True):
    """The Response object, in the API's field order; every field it always sends is here,
    null or not."""

    id: str
    object: str = "response"
    created_at: int
    status: str
    background: bool = False
    completed_at: int | None = None
    error: None = None
    incomplete_details: IncompleteDetails | None = None
    instructions: str | list[InputItem] | None
    max_output_tokens: int | None
    max_tool_calls: int | None = None
    model: str
    output: list[Any]
    parallel_tool_calls: bool = True
    previous_response_id: str | None
    prompt_cache_key: str | None = None
    reasoning: ReasoningEcho
    safety_identifier: str | None = None
    service_tier: str = "default"
    store: bool
    temperature: float = 1.0
    text: TextEcho
    tool_choice: Any
    tools: list[dict[str, Any]]
    top_logprobs: int = 0
    top_p: float = 1.0
    truncation: str = "disabled"
    usage: ResponseUsage | None
    user: str | None = None
    metadata: dict[str, str] = {}


class Deleted(msgspec.Struct):
    id: str
    object: str = "response.deleted"
    deleted: bool = True


# -- stream events (field order as the API sends them) ---------------------------------


class LifecycleEvent(msgspec.Struct):
    type: str
    sequence_number: int
    response: ResponseObject


class ItemEvent(msgspec.Struct):
    type: str
    sequence_number: int
    output_index: int
    item: Any


class PartEvent(msgspec.Struct):
    type: str
    sequence_number: int
    item_id: str
    output_index: int
    content_index: int
    part: Any


class TextDeltaEvent(msgspec.Struct):
    type: str
    sequence_number: int
    item_id: str
    output_index: int
    content_index: int
    delta: str
    logprobs: list[Any] = []


class TextDoneEvent(msgspec.Struct):
    type: str
    sequence_number: int
    item_id: str
    output_index: int
    content_index: int
    text: str
    logprobs: list[Any] = []


class ReasoningDeltaEvent(msgspec.Struct):
    type: str
    sequence_number: int
    item_id: str
    output_index: int
    content_index: int
    delta: str


class ReasoningDoneEvent(msgspec.Struct):
    type: str
    sequence_number: int
    item_id: str
    output_index: int
    content_index: int
    text: str


class ArgumentsDeltaEvent(msgspec.Struct):
    type: str
    sequence_number: int
    item_id: str
    output_index: int
    delta: str


class ArgumentsDoneEvent(msgspec.Struct):
    type: str
    sequence_number: int
    item_id: str
    output_index: int
    name: str
    arguments: str


# -- request -> neutral ----------------------------------------------------------------


def _text(content: str | list[InputPart] | None) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    return "".join(p.text for p in content if p.text)


def input_messages(value: str | list[InputItem] | None, param: str = "input") -> list[Message]:
    """The conversation turns of ``input`` (or a list ``instructions``)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [Message("user", value)]
    out: list[Message] = []
    for i, item in enumerate(value):
        kind = item.type or "message"
        if kind == "message":
            if item.role not in ("user", "assistant", "system", "developer"):
                raise errors.invalid(f"{param}[{i}].role", f"Invalid value: '{item.role}'. "
                                     "Supported values are: 'assistant', 'system', "
                                     "'developer', and 'user'.")
            out.append(Message(item.role, _text(item.content)))
        elif kind == "function_call":
            call = ToolCallIn(item.call_id or "", item.name or "", item.arguments or "")
            if out and out[-1].role == "assistant" and not out[-1].text:
                out[-1].tool_calls.append(call)  # parallel calls are one assistant turn
            else:
                out.append(Message("assistant", "", [call]))
        elif kind == "function_call_output":
            if not item.call_id:
                raise errors.invalid(f"{param}[{i}].call_id", "Missing required parameter: "
                                     f"'{param}[{i}].call_id'.", "missing_required_parameter")
            out.append(Message("tool", _text(item.output), tool_call_id=item.call_id))
    return out


def _tools(tools: list[dict[str, Any]] | None) -> list[ToolDef]:
    out = []
    for t in tools or ():
        if t.get("type") == "function" and isinstance(t.get("name"), str):
            params = t.get("parameters")
            out.append(ToolDef(t["name"], str(t.get("description") or ""),
                               params if isinstance(params, dict) else {}))
    return out


def _thinking(req: ResponsesRequest) -> bool:
    return req.reasoning is not None and req.reasoning.effort not in ("none",)


def output_messages(choice: Choice) -> list[Message]:
    """The answer as conversation turns, for a later ``previous_response_id``."""
    calls = [ToolCallIn(tc.id, tc.name, tc.arguments) for tc in choice.tool_calls]
    return [Message("assistant", choice.text, calls)] if choice.pieces or calls else []


# -- store ------------------------------------------------------------------------------


@dataclass
class Stored:
    response: ResponseObject
    #: Every turn up to and including this response's output (instructions excluded: the
    #: API does not carry them over to the next response).
    conversation: list[Message] = field(default_factory=list)


class ResponseStore:
    """A bounded, insertion-ordered store of responses by id."""

    def __init__(self, size: int = STORE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[str, Stored] = OrderedDict()

    def put(self, stored: Stored) -> None:
        self._items[stored.response.id] = stored
        self._items.move_to_end(stored.response.id)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def get(self, rid: str) -> Stored | None:
        return self._items.get(rid)

    def delete(self, rid: str) -> bool:
        return self._items.pop(rid, None) is not None


def not_found(rid: str, param: str = "response_id") -> ApiError:
    return ApiError(404, f"Response with id '{rid}' not found.", param=param)


# -- rendering ------------------------------------------------------------------------


class _Builder:
    """Ids and the response skeleton for one answer, shared by the body and the stream."""

    def __init__(self, req: ResponsesRequest, plan: Plan) -> None:
        self.req, self.plan = req, plan
        self.choice = plan.choices[0] if plan.choices else Choice()
        self.rid = wire.new_id("resp_")
        self.created = wire.now()
        self.reasoning_id = wire.new_id("rs_")
        self.message_id = wire.new_id("msg_")
        self.call_ids = [wire.new_id("fc_") for _ in self.choice.tool_calls]
        self.incomplete = self.choice.finish_reason == "length"

    def response(self, status: str, output: list[Any], usage: ResponseUsage | None
                 ) -> ResponseObject:
        req = self.req
        fmt = req.text.format if req.text is not None and req.text.format else None
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
            tool_choice=req.tool_choice if req.tool_choice is not None else "auto",
            tools=req.tools or [], usage=usage,
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
        content = UNSET if text is None else [ReasoningText(text=text)]
        return ReasoningItem(id=self.reasoning_id, summary=[], content=content)

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
            items.append(self.message_item(self.item_status, [OutputText(text=c.text)]))
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
            rid = self.reasoning_id
            yield frame(ItemEvent("response.output_item.added", s(), index,
                                  self.reasoning_item(None)))
            for piece in c.reasoning_pieces:
                yield frame(ReasoningDeltaEvent("response.reasoning_text.delta", s(), rid, index,
                                                0, piece), token=True)
            text = c.reasoning
            yield frame(ReasoningDoneEvent("response.reasoning_text.done", s(), rid, index, 0,
                                           text))
            yield frame(ItemEvent("response.output_item.done", s(), index,
                                  self.reasoning_item(text)))
            index += 1
        if c.pieces or not c.tool_calls:
            mid = self.message_id
            yield frame(ItemEvent("response.output_item.added", s(), index,
                                  self.message_item("in_progress", [])))
            yield frame(PartEvent("response.content_part.added", s(), mid, index, 0,
                                  OutputText(text="")))
            for piece in c.pieces:
                yield frame(TextDeltaEvent("response.output_text.delta", s(), mid, index, 0,
                                           piece), token=True)
            text = c.text
            yield frame(TextDoneEvent("response.output_text.done", s(), mid, index, 0, text))
            yield frame(PartEvent("response.content_part.done", s(), mid, index, 0,
                                  OutputText(text=text)))
            yield frame(ItemEvent("response.output_item.done", s(), index,
                                  self.message_item(self.item_status, [OutputText(text=text)])))
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


class Responses(OpenAIEndpoint):
    """``POST /v1/responses``; ``GET``/``DELETE /v1/responses/{response_id}``."""

    key = "openai.responses"

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.store = ResponseStore()

    async def handle(self, request: Request) -> Response:
        if request.method == "POST":
            return await self.create(request)
        self.authorize(request)
        rid = request.path_params.get("response_id", "")
        if request.method == "DELETE":
            if not self.store.delete(rid):
                raise not_found(rid)
            return wire.json_response(Deleted(rid))
        stored = self.store.get(rid)
        if stored is None:
            raise not_found(rid)
        return wire.json_response(stored.response)

    def _conversation(self, req: ResponsesRequest) -> tuple[list[Message], list[Message]]:
        """(turns before this request, this request's new turns)."""
        history: list[Message] = []
        if req.previous_response_id is not None:
            prev = self.store.get(req.previous_response_id)
            if prev is None:
                raise ApiError(404, f"Previous response with id '{req.previous_response_id}' "
                                    "not found.", param="previous_response_id")
            history = prev.conversation
        return history, input_messages(req.input)

    async def create(self, request: Request) -> Response:
        req, body = await self.parse(request, _decoder, _FIELDS)
        self.model(req.model)
        check_count("max_output_tokens", req.max_output_tokens, 16, None)
        history, new = self._conversation(req)
        if isinstance(req.instructions, str):
            system = [Message("developer", req.instructions)]
        else:
            system = input_messages(req.instructions, "instructions")
        fmt = req.text.format if req.text is not None else None
        neutral = NeutralRequest(
            endpoint=self.key, provider="openai", model=req.model,
            messages=[*system, *history, *new], tools=_tools(req.tools),
            max_tokens=req.max_output_tokens, min_tokens=req.min_tokens,
            ignore_eos=req.ignore_eos, stream=bool(req.stream),
            response_format=fmt.type if fmt is not None and fmt.type != "text" else None,
            json_schema=fmt.schema if fmt is not None else None,
            thinking=_thinking(req), headers=headers_of(request),
        )
        plan = self.plan(request, neutral, body)
        build = _Builder(req, plan)
        final = build.final()
        if req.store is not False:
            turns = [*history, *new, *output_messages(build.choice)]
            self.store.put(Stored(final, turns))
        if req.stream:
            return self.transport("sse-events").stream(build.events(final), pacing=plan.pacing)
        await self.wait_for(plan)
        return wire.json_response(final)
