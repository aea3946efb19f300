"""``openai.chat``: ``POST /v1/chat/completions``, plain and streamed.

The request decodes into :class:`ChatRequest`, becomes a :class:`NeutralRequest`, and the
engine's :class:`Plan` is rendered as a ``chat.completion`` or as ``chat.completion.chunk``
events: a role chunk, one chunk per token piece, a finish chunk per choice, then the usage
chunk (``choices: []``) when ``stream_options.include_usage`` asks for it.
"""

from __future__ import annotations

from functools import partial

import msgspec
from msgspec import UNSET, UnsetType
from starlette.requests import Request
from starlette.responses import Response

from mockllm.endpoint import OFF_LOOP_VALUES, is_large
from mockllm.engine import Message, NeutralRequest, Plan, ToolDef
from mockllm.engine.plan import Choice
from mockllm.engine.request import ToolCallIn
from mockllm.engine.schema import ModelConfig
from mockllm.responses import JsonBytes

from . import capabilities, errors, reasoning, tool_choice, wire
from .base import OpenAIEndpoint, known_fields
from .chat_schema import (
    AssistantMessage,
    ChatChoice,
    ChatCompletion,
    ChatMessage,
    ChatRequest,
    ContentPart,
    Tool,
    ToolCallFunction,
    ToolCallOut,
)
from .chat_stream import ChunkWriter, chunks
from .errors import check_count
from .logprobs import chat_logprobs
from .tiers import served_tier
from .tool_shapes import check_chat_tools
from .usage import chat_bill
from .wire import FINISH, Usage, encoder

_decoder = msgspec.json.Decoder(ChatRequest)
_FIELDS = known_fields(ChatRequest)

# -- request -> neutral ----------------------------------------------------------------


def content_text(content: str | list[ContentPart] | None) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    return "".join(p.text or p.refusal or "" for p in content if p.text or p.refusal)


def _message(m: ChatMessage) -> Message:
    if not m.tool_calls and m.function_call is None and m.role != "function":
        # Most turns: no tool calls to convert, so no comprehension to run, and mostly a
        # plain string to take as it is.
        content = m.content
        text = content if type(content) is str else content_text(content)
        return Message(m.role, text, [], m.tool_call_id)
    calls = [ToolCallIn(tc.id, tc.function.name, tc.function.arguments)
             for tc in m.tool_calls or () if tc.function is not None]
    if m.function_call is not None:
        calls.append(ToolCallIn("", m.function_call.name, m.function_call.arguments))
    role = "tool" if m.role == "function" else m.role
    return Message(role, content_text(m.content), calls, m.tool_call_id)


def _tools(tools: list[Tool] | None) -> list[ToolDef]:
    if not tools:
        return []
    return [ToolDef(t.function.name, t.function.description or "", t.function.parameters or {})
            for t in tools or () if t.function is not None]


def _check_tool_turns(messages: list[ChatMessage]) -> None:
    """The API's pairing of tool calls and answers: a ``tool`` message answers the
    assistant's ``tool_calls`` just before it (its ``tool_call_id``, even ``""``, is
    compared as given), and every call is answered before the next other message."""
    calls: list[str] = []  # the open assistant turn's call ids not answered yet
    at = -1  # that turn's index
    for i, m in enumerate(messages):
        if m.role == "tool":
            if at < 0:
                raise errors.invalid(f"messages.[{i}].role", "Invalid parameter: messages with "
                                     "role 'tool' must be a response to a preceeding message "
                                     "with 'tool_calls'.", None)
            if m.tool_call_id in calls:
                calls.remove(m.tool_call_id)
            continue
        if calls:
            break
        at, calls = (i, [c.id for c in m.tool_calls]) if m.tool_calls else (-1, [])
    if calls:
        raise errors.invalid(f"messages.[{at}].role", "An assistant message with 'tool_calls' "
                             "must be followed by tool messages responding to each "
                             "'tool_call_id'. The following tool_call_ids did not have "
                             f"response messages: {', '.join(calls)}", None)


def _check(req: ChatRequest, model: ModelConfig) -> None:
    """What the API refuses although the types allow it."""
    if not req.messages:
        raise errors.invalid("messages", "Invalid 'messages': empty array. Expected an array "
                             "with minimum length 1, but got an empty array instead.",
                             "empty_array")
    if req.tools:
        check_chat_tools(req.tools)
    turns = False
    for i, m in enumerate(req.messages):
        if m.role == "tool":
            if m.tool_call_id is None:
                raise errors.invalid(f"messages[{i}].tool_call_id", "Missing required "
                                     f"parameter: 'messages[{i}].tool_call_id'.",
                                     "missing_required_parameter")
            turns = True
        elif m.tool_calls:
            turns = True
    if turns:
        _check_tool_turns(req.messages)
    # Each check is guarded by ``is not None``: most requests set none of these, and the
    # guard is cheaper than the call.
    if req.n is not None:
        check_count("n", req.n, 1, 128)
    if req.top_logprobs is not None:
        check_count("top_logprobs", req.top_logprobs, 0, 20)
    if req.stream_options is not None and not req.stream:
        raise errors.invalid("stream_options", "The 'stream_options' parameter is only allowed "
                             "when 'stream' is enabled.")
    # _check_limit words the refusal; the range test first spares the two calls.
    limit = req.max_tokens
    if limit is not None and not 1 <= limit <= model.max_output_tokens:
        _check_limit("max_tokens", limit, model)
    limit = req.max_completion_tokens
    if limit is not None and not 1 <= limit <= model.max_output_tokens:
        _check_limit("max_completion_tokens", limit, model)
    if isinstance(req.stop, list) and len(req.stop) > 4:
        raise errors.invalid("stop", "Invalid 'stop': array too long. Expected an array with "
                             f"maximum length 4, but got an array with length {len(req.stop)} "
                             "instead.", "array_above_max_length")
    fmt = req.response_format
    if fmt is not None and fmt.type == "json_schema" and fmt.json_schema is None:
        raise errors.invalid("response_format.json_schema", "Missing required parameter: "
                             "'response_format.json_schema'.", "missing_required_parameter")
    if fmt is not None and fmt.type == "json_object" and not any(
        "json" in content_text(m.content).lower() for m in req.messages
    ):
        raise errors.invalid("messages", "'messages' must contain the word 'json' in some "
                             "form, to use 'response_format' of type 'json_object'.")


def _check_capabilities(req: ChatRequest, model: ModelConfig) -> None:
    """What this model refuses (its ``capabilities`` in the registry)."""
    capabilities.check_effort(model, req.reasoning_effort, "reasoning_effort")
    choice = req.tool_choice
    capabilities.check_forced(model, choice == "required" or (
        isinstance(choice, dict) and choice.get("type") == "function"))
    fmt = req.response_format
    capabilities.check_format(model, fmt is not None and fmt.type == "json_schema",
                              "response_format")
    for i, m in enumerate(req.messages):
        if isinstance(m.content, list):
            for j, part in enumerate(m.content):
                capabilities.check_vision(model, part.type == "image_url",
                                          f"messages.[{i}].content.[{j}].type")


def _check_limit(name: str, limit: int, model: ModelConfig) -> None:
    check_count(name, limit, 1, None)
    if limit > model.max_output_tokens:
        raise errors.invalid(name, f"{name} is too large: {limit}. This model supports at "
                             f"most {model.max_output_tokens} completion tokens, whereas "
                             f"you provided {limit}.")


def to_neutral(req: ChatRequest, headers: dict[str, str], model: ModelConfig) -> NeutralRequest:
    fmt = req.response_format
    fmt_type = fmt.type if fmt is not None and fmt.type != "text" else None
    schema = fmt.json_schema.schema if fmt is not None and fmt.json_schema else None
    stop = req.stop
    stop = [] if stop is None else [stop] if isinstance(stop, str) else list(stop)
    # At most 15 keywords: msgspec's constructor takes a slow path past that (4x slower,
    # measured), so the rarely-set fields are assigned afterwards.
    neutral = NeutralRequest(
        endpoint="openai.chat",
        provider="openai",
        model=req.model,
        messages=[_message(m) for m in req.messages],
        tools=_tools(req.tools) if req.tools else [],
        max_tokens=req.max_completion_tokens or req.max_tokens,
        min_tokens=req.min_tokens,
        ignore_eos=req.ignore_eos,
        stop=stop,
        n=req.n or 1,
        seed=req.seed,
        stream=bool(req.stream),
        response_format=fmt_type,
        json_schema=schema,
        headers=headers,
    )
    neutral.logprobs, neutral.top_logprobs = bool(req.logprobs), req.top_logprobs or 0
    neutral.billed = chat_bill(req)
    if req.tools is not None or req.tool_choice is not None:
        tool_choice.apply(neutral, req.tool_choice, req.parallel_tool_calls, "chat")
    effort = reasoning.effort(model, req.reasoning_effort)
    if effort is not None:
        neutral.thinking, neutral.reasoning_effort = True, effort
    return neutral


# -- rendering --------------------------------------------------------------------------


def _reasoning_tokens(plan: Plan) -> int:
    choices = plan.choices
    if len(choices) == 1:  # the usual case: no generator to run
        return len(choices[0].reasoning_pieces)
    return sum(len(c.reasoning_pieces) for c in choices)


def plan_usage(plan: Plan) -> Usage:
    return wire.usage(plan.prompt_tokens, plan.completion_tokens, _reasoning_tokens(plan))


def _tool_calls(c: Choice) -> list[ToolCallOut] | UnsetType:
    if not c.tool_calls:
        return UNSET
    return [ToolCallOut(tc.id, ToolCallFunction(tc.name, tc.arguments)) for tc in c.tool_calls]


def completion(cid: str, created: int, plan: Plan, top: int | None, tier: str = "default",
               usage: Usage | None = None) -> ChatCompletion:
    """The non-streamed answer; ``top`` is None without ``logprobs``, else ``top_logprobs``
    (``usage``: the plan's, when the caller has it already)."""
    choices = []
    for c in plan.choices:
        content = c.text if c.pieces or not c.tool_calls else None
        logprobs = chat_logprobs(c.pieces, top) if top is not None else None
        message = AssistantMessage("assistant", content)
        if c.tool_calls:
            message.tool_calls = _tool_calls(c)
        choices.append(ChatChoice(c.index, message, logprobs, FINISH[c.finish_reason]))
    return ChatCompletion(cid, created, plan.model.id, choices,
                          plan_usage(plan) if usage is None else usage, service_tier=tier)


class Chat(OpenAIEndpoint):
    """``POST /v1/chat/completions``."""

    key = "openai.chat"

    async def handle(self, request: Request) -> Response:
        req, body = await self.parse(request, _decoder, _FIELDS)
        model = self.model(req.model)
        _check(req, model)
        if model.capabilities is not None:
            _check_capabilities(req, model)
        neutral = to_neutral(req, self.headers(request), model)
        # Planned here, without a coroutine, unless it is large (make_plan: off the loop).
        plan = (await self.make_plan(request, neutral, body) if is_large(neutral, body)
                else self.plan(request, neutral, body))
        cid, created = wire.new_id("chatcmpl-"), wire.now()
        top = (req.top_logprobs or 0) if req.logprobs else None
        tier = served_tier(req.service_tier)
        if req.stream:
            include = req.stream_options is not None and req.stream_options.include_usage
            writer = ChunkWriter(cid, created, plan.model.id, include, tier)
            frames = chunks(writer, plan, top, plan_usage(plan) if include else None)
            plan.hide_reasoning()  # chat never shows it
            return self.transport("sse").stream(self.with_fault(frames, plan),
                                                pacing=plan.pacing)
        if plan.pacing is not None:  # else nothing to wait for, and no coroutine to make
            await self.wait_for(plan)
        usage = plan_usage(plan)
        values = usage.completion_tokens * (top + 1 if top is not None else 1)
        if values > OFF_LOOP_VALUES:
            answer = partial(completion, cid, created, plan, top, tier, usage)
            return wire.json_response(await self.build(answer, values))
        # Most answers: built here, with no coroutine or partial to make.
        return JsonBytes(encoder.encode(completion(cid, created, plan, top, tier, usage)))
