"""``GET models`` and ``GET models/{model}``: the registry's ``provider: gemini`` models."""

from __future__ import annotations

import base64

from starlette.requests import Request
from starlette.responses import Response

from mockllm import ApiError
from mockllm.engine.schema import ModelConfig
from plugins_builtin.gemini.base import GeminiEndpoint, api_version
from plugins_builtin.gemini.wire import ModelInfo, ModelList, encoder

_GENERATE = ["generateContent", "countTokens", "createCachedContent", "batchGenerateContent"]
_EMBED = ["embedContent", "countTextTokens", "countTokens", "asyncBatchEmbedContent"]
_DEFAULT_PAGE, _MAX_PAGE = 50, 1000


def is_embedding(model: ModelConfig) -> bool:
    """The registry has no model kind; Google's embedding models all say so in their id."""
    return "embedding" in model.id


def info(model: ModelConfig) -> ModelInfo:
    name = model.display_name or model.id
    if is_embedding(model):
        return ModelInfo(
            name=f"models/{model.id}", version="001", display_name=name,
            description=f"Obtain a distributed representation of a text ({name}).",
            input_token_limit=model.context_window, output_token_limit=1,
            supported_generation_methods=_EMBED,
        )
    return ModelInfo(
        name=f"models/{model.id}", version="001", display_name=name,
        description=f"{name}, answered by mockllm.",
        input_token_limit=model.context_window, output_token_limit=model.max_output_tokens,
        supported_generation_methods=_GENERATE, temperature=1.0, top_p=0.95, top_k=64,
        max_temperature=2.0, thinking=True,
    )


class Models(GeminiEndpoint):
    """Paged with ``pageSize`` (default 50, at most 1000) and ``pageToken``."""

    async def handle(self, request: Request) -> Response:
        self.check_api_key(request)
        name = request.path_params.get("model")
        registry = self.context.engine.models
        if name is not None:
            found = registry.get(name.removeprefix("models/"))
            if found is None or found.provider != "gemini":
                raise ApiError(404, f"models/{name.removeprefix('models/')} is not found for "
                                    f"API version {api_version(request)}, or is not "
                                    "supported for GET.")
            return Response(encoder.encode(info(found)), media_type="application/json")
        models = [m for m in registry.models if m.provider == "gemini"]
        start, size = _page(request)
        chosen = models[start:start + size]
        more = start + size < len(models)
        out = ModelList([info(m) for m in chosen])
        if more:
            out.next_page_token = _token(start + size)
        return Response(encoder.encode(out), media_type="application/json")


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _page(request: Request) -> tuple[int, int]:
    params = request.query_params
    raw = params.get("pageSize", str(_DEFAULT_PAGE))
    if not raw.lstrip("-").isdigit():
        raise ApiError(400, f"Invalid value at 'page_size' (TYPE_INT32), \"{raw}\"")
    size = int(raw)
    if size < 0:
        raise ApiError(400, "* ListModelsRequest.page_size: page_size must not be negative.\n")
    size = min(size or _DEFAULT_PAGE, _MAX_PAGE)
    token = params.get("pageToken")
    if not token:
        return 0, size
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        if not text.startswith("offset:"):
            raise ValueError(token)
        return int(text[7:]), size
    except ValueError:
        raise ApiError(400, "* ListModelsRequest.page_token: invalid page token.\n") from None
