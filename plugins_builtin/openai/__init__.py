"""OpenAI-compatible endpoints: chat completions and models (first light)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from mockllm import Endpoint, Frame, Registry, RouteSpec, hookimpl
from mockllm.engine import Message, NeutralRequest, Plan

# -- request structs ------------------------------------------------------------------


class ChatMessage(msgspec.Struct):
    role: str
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None


class StreamOptions(msgspec.Struct):
    include_usage: bool = False


class ChatRequest(msgspec.Struct):
    model: str
    messages: list[ChatMessage]
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    n: int = 1
    stop: str | list[str] | None = None
    seed: int | None = None
    ignore_eos: bool = False
    min_tokens: int = 0


_chat_decoder = msgspec.json.Decoder(ChatRequest)
_encoder = msgspec.json.Encoder()

# -- response structs -----------------------------------------------------------------


class AssistantMessage(msgspec.Struct):
    role: str
    content: str | None
    refusal: None = None


class ChatChoice(msgspec.Struct):
    index: int
    message: AssistantMessage
    finish_reason: str
    logprobs: None = None


class PromptDetails(msgspec.Struct):
    cached_tokens: int = 0


class CompletionDetails(msgspec.Struct):
    reasoning_tokens: int = 0


class Usage(msgspec.Struct):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptDetails = msgspec.field(default_factory=PromptDetails)
    completion_tokens_details: CompletionDetails = msgspec.field(
        default_factory=CompletionDetails
    )


class ChatCompletion(msgspec.Struct):
    id: str
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage
    object: str = "chat.completion"
    system_fingerprint: str = "fp_mockllm"
    service_tier: str = "default"


class Delta(msgspec.Struct, omit_defaults=True):
    role: str | None = None
    content: str | None = None


class ChunkChoice(msgspec.Struct):
    index: int
    delta: Delta
    finish_reason: str | None = None
    logprobs: None = None


class ChatChunk(msgspec.Struct):
    id: str
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    object: str = "chat.completion.chunk"
    system_fingerprint: str = "fp_mockllm"
    service_tier: str = "default"


_FINISH = {"stop": "stop", "length": "length", "tool_calls": "tool_calls",
           "stop_sequence": "stop"}


def _text(content: str | list[dict[str, Any]] | None) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    return "".join(p.get("text", "") for p in content if p.get("type") == "text")


class Chat(Endpoint):
    """``POST /v1/chat/completions``."""

    async def handle(self, request: Request) -> Response:
        body = await self.read_body(request)
        req = self.decode(body, _chat_decoder)
        neutral = NeutralRequest(
            endpoint="openai.chat",
            provider="openai",
            model=req.model,
            messages=[Message(m.role, _text(m.content)) for m in req.messages],
            max_tokens=req.max_completion_tokens or req.max_tokens,
            min_tokens=req.min_tokens,
            ignore_eos=req.ignore_eos,
            stop=[req.stop] if isinstance(req.stop, str) else list(req.stop or []),
            n=req.n,
            seed=req.seed,
            stream=req.stream,
            headers={k: v for k, v in request.headers.items()},
        )
        plan = self.plan(request, neutral, body)
        cid = "chatcmpl-" + uuid.uuid4().hex[:24]
        created = int(time.time())
        usage = Usage(plan.prompt_tokens, plan.completion_tokens,
                      plan.prompt_tokens + plan.completion_tokens)
        if req.stream:
            include = req.stream_options is not None and req.stream_options.include_usage
            return self.transport("sse").stream(
                _chunks(cid, created, plan, usage if include else None), pacing=plan.pacing
            )
        await self.wait_for(plan)
        out = ChatCompletion(
            id=cid, created=created, model=plan.model.id, usage=usage,
            choices=[
                ChatChoice(c.index, AssistantMessage("assistant", c.text),
                           _FINISH[c.finish_reason])
                for c in plan.choices
            ],
        )
        return Response(_encoder.encode(out), media_type="application/json")


def _chunks(cid: str, created: int, plan: Plan, usage: Usage | None) -> list[Frame]:
    model = plan.model.id
    frames = []
    for c in plan.choices:
        first = ChatChunk(cid, created, model, [ChunkChoice(c.index, Delta("assistant", ""))])
        frames.append(Frame(None, _encoder.encode(first)))
        for piece in c.pieces:
            chunk = ChatChunk(cid, created, model, [ChunkChoice(c.index, Delta(content=piece))])
            frames.append(Frame(None, _encoder.encode(chunk), token=True))
        done = ChatChunk(cid, created, model,
                         [ChunkChoice(c.index, Delta(), _FINISH[c.finish_reason])])
        frames.append(Frame(None, _encoder.encode(done), final=True))
    if usage is not None:
        frames.append(Frame(None, _encoder.encode(ChatChunk(cid, created, model, [], usage)),
                            final=True))
    return frames


class ModelCard(msgspec.Struct):
    id: str
    created: int
    owned_by: str
    object: str = "model"


class ModelList(msgspec.Struct):
    data: list[ModelCard]
    object: str = "list"


class Models(Endpoint):
    """``GET /v1/models`` and ``GET /v1/models/{model}``."""

    async def handle(self, request: Request) -> Response:
        registry = self.context.engine.models
        name = request.path_params.get("model")
        if name is not None:
            m = registry.require(name)
            return Response(_encoder.encode(_card(m)), media_type="application/json")
        cards = [_card(m) for m in registry.models]
        return Response(_encoder.encode(ModelList(cards)), media_type="application/json")


def _card(m: Any) -> ModelCard:
    return ModelCard(m.id, m.created, m.owned_by or _OWNER.get(m.provider, m.provider))


_OWNER = {"openai": "openai", "anthropic": "anthropic", "nim": "nvidia", "ollama": "library"}


@hookimpl(trylast=True)
def mockllm_register_endpoints(registry: Registry) -> None:
    registry.register("openai.chat", path="/v1/chat/completions", methods=["POST"])(Chat)
    registry.register("openai.models", routes=[
        RouteSpec("/v1/models", ("GET",)), RouteSpec("/v1/models/{model:path}", ("GET",)),
    ])(Models)

