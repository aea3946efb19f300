"""mockllm-echo: ``openai.chat`` echoes the last user message; ``echo.reverse`` is new (and
streams through the plugin's own ``echo.lines`` transport); ``extras`` uses every other hook.
"""

from __future__ import annotations

import time
import uuid

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from mockllm import ApiError, Endpoint, Frame, Registry, hookimpl
from mockllm_echo.extras import (  # noqa: F401 - hookimpls are found on this module
    STATE,
    Wrapped,
    mockllm_asgi_middleware,
    mockllm_configure,
    mockllm_faults,
    mockllm_latency_models,
    mockllm_matchers,
    mockllm_register_transports,
    mockllm_responders,
    mockllm_shutdown,
    mockllm_startup,
    mockllm_tokenizer,
    mockllm_validators,
)


class _Message(msgspec.Struct):
    role: str
    content: str | list[dict[str, object]] | None = None


class _ChatRequest(msgspec.Struct):
    model: str
    messages: list[_Message]


class _ReverseRequest(msgspec.Struct):
    text: str
    stream: bool = False


_chat = msgspec.json.Decoder(_ChatRequest)
_reverse = msgspec.json.Decoder(_ReverseRequest)
_encode = msgspec.json.Encoder().encode


def _last_user(messages: list[_Message]) -> str:
    for m in reversed(messages):
        if m.role == "user":
            if isinstance(m.content, list):
                return "".join(str(p.get("text", "")) for p in m.content)
            return m.content or ""
    raise ApiError(400, "echo needs at least one user message", param="messages")


class EchoChat(Endpoint):
    """Answers a chat completion whose content is the last user message."""

    async def handle(self, request: Request) -> Response:
        body = self.decode(await self.read_body(request), _chat)
        model = self.context.engine.models.require(body.model)
        text = _last_user(body.messages)
        tok = self.context.tokenizers.get(model.tokenizer)
        completion = len(tok.encode(text))
        prompt = sum(len(tok.encode(m.content)) for m in body.messages
                     if isinstance(m.content, str))
        return Response(_encode({
            "id": "chatcmpl-echo" + uuid.uuid4().hex[:20],
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model.id,
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": text, "refusal": None}}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                      "total_tokens": prompt + completion},
        }), media_type="application/json")


class Reverse(Endpoint):
    """A new endpoint key with a path of its own."""

    async def handle(self, request: Request) -> Response:
        body = self.decode(await self.read_body(request), _reverse)
        if body.stream:
            # One endpoint, its own transport: frames in, the transport frames the wire.
            frames = [Frame(None, _encode({"c": c}), token=True) for c in body.text[::-1]]
            return self.transport("echo.lines").stream(frames)
        return Response(_encode({"text": body.text[::-1]}), media_type="application/json")


class State(Endpoint):
    """What the lifecycle hooks saw (for the example's end-to-end test)."""

    async def handle(self, request: Request) -> Response:
        return Response(_encode(STATE), media_type="application/json")


@hookimpl
def mockllm_register_endpoints(registry: Registry) -> None:
    registry.register("openai.chat")(EchoChat)
    registry.register("echo.reverse", path="/v1/echo/reverse", methods=["POST"])(Reverse)
    registry.register("echo.state", path="/v1/echo/state", methods=["GET"])(State)
    registry.wrap("anthropic.messages")(Wrapped)
