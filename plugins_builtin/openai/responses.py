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

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from mockllm import ApiError, Frame
from mockllm.engine import Message, NeutralRequest
from mockllm.engine.schema import ModelConfig

from . import capabilities, errors, reasoning, responses_checks, tool_choice, wire
from .base import OpenAIEndpoint, known_fields
from .errors import check_count
from .responses_input import LOGPROBS, input_messages, output_messages, tools_of
from .responses_render import Builder
from .responses_schema import (
    Deleted,
    ErrorEvent,
    ResponsesRequest,
)
from .responses_store import STORE_SIZE, Stored, not_found
from .usage import neutral_bill

_decoder = msgspec.json.Decoder(ResponsesRequest)
_FIELDS = known_fields(ResponsesRequest)


class Responses(OpenAIEndpoint):
    """``POST /v1/responses``; ``GET``/``DELETE /v1/responses/{response_id}``."""

    key = "openai.responses"

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.store = context.state.store("openai.responses", Stored, STORE_SIZE)

    async def handle(self, request: Request) -> Response:
        if request.method == "POST":
            return await self.create(request)
        self.authorize(request)
        rid = request.path_params.get("response_id", "")
        if request.method == "DELETE":
            if not await self.store.delete(rid):
                raise not_found(rid)
            return wire.json_response(Deleted(rid))
        stored = await self.store.get(rid)
        if stored is None:
            raise not_found(rid)
        return wire.json_response(stored.response)

    def error_frame(self, err: ApiError, sent: int) -> Frame:
        """A Responses stream fails with an ``error`` event numbered after the ``sent`` events
        before it (sequence numbers count from 0); its ``code`` is one of the spec's
        ResponseErrorCode values."""
        body = self.error_body(err)["error"]
        code = body["code"] or ("rate_limit_exceeded" if err.status == 429 else "server_error"
                                if err.status >= 500 else None)
        event = ErrorEvent("error", code, err.message, err.param, sent)
        return Frame(event.type, wire.encoder.encode(event))

    async def _conversation(self, req: ResponsesRequest) -> tuple[list[Message], list[Message]]:
        """(turns before this request, this request's new turns)."""
        history: list[Message] = []
        if req.previous_response_id is not None:
            prev = await self.store.get(req.previous_response_id)
            if prev is None:
                raise ApiError(404, f"Previous response with id '{req.previous_response_id}' "
                                    "not found.", param="previous_response_id")
            history = prev.conversation
        return history, input_messages(req.input)

    async def create(self, request: Request) -> Response:
        req, body = await self.parse(request, _decoder, _FIELDS)
        model = self.model(req.model)
        responses_checks.check(req)
        if model.capabilities is not None:
            _check_capabilities(req, model)
        check_count("max_output_tokens", req.max_output_tokens, 16, None)
        check_count("top_logprobs", req.top_logprobs, 0, 20)
        fmt = (req.text.format or None) if req.text else None
        if fmt is not None and fmt.type == "json_schema" and (not fmt.name or fmt.schema is None):
            what = "name" if not fmt.name else "schema"
            raise errors.invalid(f"text.format.{what}", "Missing required parameter: "
                                 f"'text.format.{what}'.", "missing_required_parameter")
        history, new = await self._conversation(req)
        if isinstance(req.instructions, str):
            system = [Message("developer", req.instructions)]
        else:
            system = input_messages(req.instructions, "instructions")
        neutral = NeutralRequest(
            endpoint=self.key, provider="openai", model=req.model,
            messages=[*system, *history, *new], tools=tools_of(req.tools),
            max_tokens=req.max_output_tokens, min_tokens=req.min_tokens,
            ignore_eos=req.ignore_eos, stream=bool(req.stream),
            response_format=fmt.type if fmt is not None and fmt.type != "text" else None,
            json_schema=fmt.schema if fmt is not None else None,
            headers=self.headers(request),
        )
        neutral.billed = neutral_bill(req.model, neutral.messages, neutral.tools)
        if LOGPROBS in (req.include or ()):  # for server.limits.logprob_entries
            neutral.logprobs, neutral.top_logprobs = True, req.top_logprobs or 0
        if req.tools is not msgspec.UNSET or req.tool_choice is not msgspec.UNSET:
            choice = None if req.tool_choice is msgspec.UNSET else req.tool_choice
            tool_choice.apply(neutral, choice, req.parallel_tool_calls, "responses")
            capabilities.check_forced(model, neutral.tool_choice == "required")
        effort = reasoning.effort(model, req.reasoning.effort if req.reasoning else None)
        if effort is not None:
            neutral.thinking, neutral.reasoning_effort = True, effort
        plan = await self.make_plan(request, neutral, body)
        build = Builder(req, plan)
        values = plan.completion_tokens * ((req.top_logprobs or 0) + 1
                                           if LOGPROBS in (req.include or ()) else 1)
        final = await self.build(build.final, values)
        if req.store is not False:
            turns = [*history, *new, *output_messages(build.choice)]
            await self.store.put(final.id, Stored(final, turns))
        if build.hidden:
            plan.hide_reasoning()
        if req.stream:
            return self.transport("sse-events").stream(self.with_fault(build.events(final), plan),
                                                       pacing=plan.pacing)
        await self.wait_for(plan)
        return wire.json_response(final)


def _check_capabilities(req: ResponsesRequest, model: ModelConfig) -> None:
    """What this model refuses (its ``capabilities`` in the registry), before planning."""
    if req.reasoning is not None:
        capabilities.check_effort(model, req.reasoning.effort, "reasoning.effort")
    fmt = (req.text.format or None) if req.text else None
    capabilities.check_format(model, fmt is not None and fmt.type == "json_schema",
                              "text.format")
    if isinstance(req.input, list):
        for i, item in enumerate(req.input):
            if isinstance(item.content, list):
                for j, part in enumerate(item.content):
                    capabilities.check_vision(model, part.type == "input_image",
                                              f"input.[{i}].content.[{j}].type", "input_image")
