"""The Anthropic endpoints: ``/v1/messages``, ``/v1/messages/count_tokens`` and ``/v1/models``.

They share :class:`AnthropicEndpoint`: the ``{"type": "error", ...}`` envelope, the
``request-id`` header on every answer (errors included) and the ``x-api-key`` check.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import Response

from mockllm import ApiError, Endpoint
from mockllm.engine.schema import ModelConfig
from mockllm.faults import Fault
from mockllm.stream_response import StreamResponse
from plugins_builtin.anthropic import capabilities, convert, render
from plugins_builtin.anthropic.wire import ModelInfo, ModelPage, TokenCount, encoder

_ERROR_TYPES = {
    "invalid_request": "invalid_request_error",
    "authentication": "authentication_error",
    "permission": "permission_error",
    "not_found": "not_found_error",
    "too_large": "request_too_large",
    "rate_limit": "rate_limit_error",
    "server": "api_error",
    "unavailable": "api_error",
    "overloaded": "overloaded_error",
}

#: The API's messages for a mid-stream error event.
_STREAM_ERRORS = {529: "Overloaded", 500: "Internal server error", 429: "Rate limited"}

#: The request id of the request being answered, for the error envelope.
_request_id: ContextVar[str] = ContextVar("anthropic_request_id", default="")


def error_type(err: ApiError) -> str:
    return err.type_ or _ERROR_TYPES.get(err.kind, "api_error")


class AnthropicEndpoint(Endpoint):
    """Anthropic's envelope, ``request-id`` header and API-key check."""

    provider: ClassVar[str] = "anthropic"

    async def __call__(self, request: Request) -> Response:
        rid = render.new_id("req")
        token = _request_id.set(rid)
        try:
            response = await super().__call__(request)
        finally:
            _request_id.reset(token)
        if isinstance(response, StreamResponse):
            response.raw_headers.append((b"request-id", rid.encode()))
        else:
            response.headers["request-id"] = rid
        return response

    def error_body(self, err: ApiError) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "error", "error": {"type": error_type(err), "message": err.message},
        }
        rid = _request_id.get()
        if rid:
            body["request_id"] = rid
        return body

    def strict(self, fields: frozenset[str]) -> frozenset[str] | None:
        """The fields ``server.strict`` accepts, or None when any field is accepted."""
        return fields if self.context.config.server.strict else None

    def authenticate(self, request: Request) -> None:
        """``x-api-key`` (or a bearer token) must be a configured key, when any are."""
        keys = self.context.config.server.api_keys
        if not keys:
            return
        key = request.headers.get("x-api-key")
        if key is None:
            auth = request.headers.get("authorization", "")
            key = auth[7:] if auth[:7].lower() == "bearer " else None
        if key is None:
            raise ApiError(401, "x-api-key header is required")
        if key not in keys:
            raise ApiError(401, "invalid x-api-key")


    def fault_error(self, fault: Fault) -> ApiError:
        return _fault_error(fault)

class Messages(AnthropicEndpoint):
    """``POST /v1/messages``: text, thinking and tool_use blocks; streamed as named events."""

    async def handle(self, request: Request) -> Response:
        self.authenticate(request)
        body = await self.read_body(request)
        req = convert.decode(body, self.strict(convert.MESSAGES_FIELDS))
        model = convert.require_model(self.context.engine.models, req.model)
        capabilities.check(req, model)
        max_tokens = convert.check_generation(req)
        neutral = convert.to_neutral(req, "anthropic.messages", self.headers(request), max_tokens)
        plan = self.plan(request, neutral, body)
        msg_id = render.new_id("msg")
        omit = req.thinking is not None and req.thinking.display == "omitted"
        if req.stream:
            frames = render.stream(plan, msg_id, omit)
            if plan.fault is not None and plan.fault.kind == "error":
                # A rule asked for a mid-stream failure: the API's ``event: error``.
                failure = self.fault_error(plan.fault)
                event = render.error_event(error_type(failure), failure.message)
                frames = render.with_error(frames, plan.fault, event)
            return self.transport("sse-events").stream(frames, pacing=plan.pacing)
        await self.wait_for(plan)
        return Response(encoder.encode(render.message(plan, msg_id, omit)),
                        media_type="application/json")


def _fault_error(fault: Fault) -> ApiError:
    """The error an ``error`` fault stands for (``status: 529`` is "Overloaded")."""
    message = fault.message or _STREAM_ERRORS.get(fault.status, "Internal server error")
    return ApiError(fault.status, message)


class CountTokens(AnthropicEndpoint):
    """``POST /v1/messages/count_tokens``: the ``usage.input_tokens`` the same request gets."""

    async def handle(self, request: Request) -> Response:
        self.authenticate(request)
        body = await self.read_body(request)
        req = convert.decode(body, self.strict(convert.COUNT_FIELDS))
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
        self.authenticate(request)
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
