"""The Anthropic endpoints: ``/v1/messages``, ``/v1/messages/count_tokens`` and ``/v1/models``.

They share :class:`AnthropicEndpoint`; the ``{"type": "error", ...}`` envelope, the
``request-id`` header on every answer (errors included) and the ``x-api-key`` check are the
provider strategy's (:mod:`.provider`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import Response

from mockllm import ApiError, Endpoint
from mockllm.endpoint import is_large
from mockllm.engine.schema import ModelConfig
from mockllm.responses import JsonBytes
from plugins_builtin.anthropic import capabilities, convert, render
from plugins_builtin.anthropic.wire import (
    MessagesRequest,
    ModelInfo,
    ModelPage,
    TokenCount,
    encoder,
    messages_decoder,
)


class AnthropicEndpoint(Endpoint):
    """Anthropic's endpoints: envelope, ``request-id``, key check and wording are the
    provider strategy's (:mod:`.provider`)."""

    provider: ClassVar[str] = "anthropic"

    def decode_request(self, body: bytes, fields: frozenset[str]) -> MessagesRequest:
        """The body as a MessagesRequest; with ``server.strict``, only ``fields`` allowed."""
        req = self.decode(body, messages_decoder)
        if self.context.config.server.strict:
            self.reject_unknown(body, fields)
        return req


class Messages(AnthropicEndpoint):
    """``POST /v1/messages``: text, thinking and tool_use blocks; streamed as named events."""

    async def handle(self, request: Request) -> Response:
        self.check_api_key(request)
        body = await self.read_body(request)
        req = self.decode_request(body, convert.MESSAGES_FIELDS)
        model = convert.require_model(self.context.engine.models, req.model)
        capabilities.check(req, model)
        max_tokens = convert.check_generation(req)
        neutral = convert.to_neutral(req, "anthropic.messages", self.headers(request), max_tokens)
        # Planned here, without a coroutine, unless it is large (make_plan: off the loop).
        plan = (await self.make_plan(request, neutral, body) if is_large(neutral, body)
                else self.plan(request, neutral, body))
        msg_id = render.new_id("msg")
        omit = req.thinking is not None and req.thinking.display == "omitted"
        if req.stream:
            # A mid-stream ``error`` fault ends it with the API's ``event: error``.
            frames = self.with_fault(render.stream(plan, msg_id, omit), plan)
            return self.transport("sse-events").stream(frames, pacing=plan.pacing)
        if plan.pacing is not None:  # else nothing to wait for, and no coroutine to make
            await self.wait_for(plan)
        return JsonBytes(encoder.encode(render.message(plan, msg_id, omit)))


class CountTokens(AnthropicEndpoint):
    """``POST /v1/messages/count_tokens``: the ``usage.input_tokens`` the same request gets."""

    async def handle(self, request: Request) -> Response:
        self.check_api_key(request)
        body = await self.read_body(request)
        req = self.decode_request(body, convert.COUNT_FIELDS)
        engine = self.context.engine
        model = convert.require_model(engine.models, req.model)
        capabilities.check(req, model)
        neutral = convert.to_neutral(req, "anthropic.count_tokens", self.headers(request), None)
        count = engine.prompt_tokens(neutral, model)
        return Response(encoder.encode(TokenCount(count)), media_type="application/json")


class Models(AnthropicEndpoint):
    """``GET /v1/models[/{id}]`` with ``anthropic-version``: the anthropic-provider models,
    newest registry entry first, paged with ``limit``, ``after_id`` and ``before_id``."""

    async def handle(self, request: Request) -> Response:
        self.check_api_key(request)
        models = [m for m in self.context.engine.models.models if m.provider == "anthropic"]
        name = request.path_params.get("model")
        if name is not None:
            found = self.context.engine.models.get(name)
            if found is None or found.provider != "anthropic":
                raise ApiError(404, f"model: {name}")
            return Response(encoder.encode(_info(found)), media_type="application/json")
        page = _page(models, request.query_params)
        return Response(encoder.encode(page), media_type="application/json")


def _page(models: list[ModelConfig], params: Any) -> ModelPage:
    try:
        limit = int(params.get("limit", 20))
    except ValueError:
        raise ApiError(400, "limit: Input should be a valid integer") from None
    if not 1 <= limit <= 1000:
        raise ApiError(400, "limit: Input should be between 1 and 1000")
    ids = [m.id for m in models]
    after, before = params.get("after_id"), params.get("before_id")
    start, stop = 0, len(models)
    for cursor, name in ((after, "after_id"), (before, "before_id")):
        if cursor is not None and cursor not in ids:
            raise ApiError(400, f"{name}: unknown model id {cursor!r}")
    if after is not None:
        start = ids.index(after) + 1
    if before is not None:
        stop = ids.index(before)
        start = max(start, stop - limit) if after is None else start
    chosen = models[start:stop][:limit]
    more = (start + len(chosen) < stop) if before is None else start > 0
    data = [_info(m) for m in chosen]
    return ModelPage(data, more, data[0].id if data else None, data[-1].id if data else None)


def _info(m: ModelConfig) -> ModelInfo:
    created = datetime.fromtimestamp(m.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return ModelInfo(
        id=m.id, display_name=m.display_name or m.id, created_at=created,
        max_input_tokens=m.context_window, max_tokens=m.max_output_tokens,
    )
