"""vLLM's server extras (``builtin.vllm``): ``POST /tokenize``, ``POST /detokenize`` and
``GET /version``.

Load testers of vLLM stacks size prompts with ``/tokenize``: it counts with the model's
tokenizer, the same one ``usage.prompt_tokens`` of ``/v1/completions`` counts a ``prompt``
with. Errors use vLLM's envelope, ``{"error": {"message", "type", "param", "code"}}``,
which its provider strategy (:mod:`.provider`) owns.
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from mockllm import ApiError, Endpoint, Registry, hookimpl
from mockllm.engine.schema import ModelConfig

from .provider import VLLM

#: The vLLM release whose API this follows.
VLLM_VERSION = "0.11.0"


class TokenizeRequest(msgspec.Struct):
    prompt: str | None = None
    model: str | None = None
    messages: list[Any] | None = None
    add_special_tokens: bool = True
    return_token_strs: bool = False


class TokenizeResponse(msgspec.Struct):
    count: int
    max_model_len: int
    tokens: list[int]
    token_strs: list[str] | None = None


class DetokenizeRequest(msgspec.Struct):
    tokens: list[int]
    model: str | None = None


_tokenize = msgspec.json.Decoder(TokenizeRequest)
_detokenize = msgspec.json.Decoder(DetokenizeRequest)
_encoder = msgspec.json.Encoder()

class VllmEndpoint(Endpoint):
    provider: ClassVar[str] = VLLM.name

    async def body(self, request: Request, decoder: msgspec.json.Decoder[Any]) -> Any:
        return self.decode(await self.read_body(request), decoder)

    def model(self, name: str | None) -> ModelConfig:
        """The named model, or the registry's first (a vLLM server serves one model)."""
        registry = self.context.engine.models
        if name is None:
            if not registry.models:
                raise ApiError(404, "no model is served")
            return registry.models[0]
        found = registry.get(name)
        if found is None:
            raise ApiError(404, f"The model `{name}` does not exist.", param="model")
        return found


class Tokenize(VllmEndpoint):
    """``{"prompt": ...}`` → ``{"count", "max_model_len", "tokens", "token_strs"}``."""

    async def handle(self, request: Request) -> Response:
        req: TokenizeRequest = await self.body(request, _tokenize)
        if req.messages is not None:
            raise ApiError(400, "messages: only a plain prompt is tokenized here", param=(
                "messages"))
        if req.prompt is None:
            raise ApiError(400, "1 validation error: prompt: Field required", param="prompt")
        model = self.model(req.model)
        tok = self.context.tokenizers.get(model.tokenizer)
        ids = tok.encode(req.prompt)
        strs = [tok.decode([i]) for i in ids] if req.return_token_strs else None
        out = TokenizeResponse(len(ids), model.context_window, ids, strs)
        return Response(_encoder.encode(out), media_type="application/json")


class Detokenize(VllmEndpoint):
    """``{"tokens": [...]}`` → ``{"prompt": ...}``; an id outside the vocabulary is a 400."""

    async def handle(self, request: Request) -> Response:
        req: DetokenizeRequest = await self.body(request, _detokenize)
        model = self.model(req.model)
        tok = self.context.tokenizers.get(model.tokenizer)
        try:
            text = tok.decode(req.tokens)
        except (KeyError, ValueError, OverflowError):
            raise ApiError(400, "tokens: an id is outside the vocabulary", param="tokens") \
                from None
        return Response(_encoder.encode({"prompt": text}), media_type="application/json")


class Version(VllmEndpoint):
    async def handle(self, request: Request) -> Response:
        return Response(_encoder.encode({"version": VLLM_VERSION}),
                        media_type="application/json")


@hookimpl(trylast=True)
def mockllm_register_endpoints(registry: Registry) -> None:
    registry.register("vllm.tokenize", path="/tokenize", methods=["POST"])(Tokenize)
    registry.register("vllm.detokenize", path="/detokenize", methods=["POST"])(Detokenize)
    registry.register("vllm.version", path="/version", methods=["GET"])(Version)
