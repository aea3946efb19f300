"""``GET /``, ``GET /api/tags``, ``GET /api/ps``, ``POST /api/show`` and ``GET /api/version``,
from the model registry (:mod:`.modelcard` makes up what a model file would say)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from mockllm import ApiError
from mockllm.engine.schema import ModelConfig
from plugins_builtin.ollama import modelcard as card
from plugins_builtin.ollama.chat import OllamaEndpoint
from plugins_builtin.ollama.running import Running as RunningModels
from plugins_builtin.ollama.wire import (
    ModelEntry,
    Running,
    RunningModel,
    Show,
    ShowRequest,
    Tags,
    Version,
    encoder,
    show_decoder,
    timestamp,
)

#: The Ollama release whose API this plugin answers like.
OLLAMA_VERSION = "0.13.0"
#: The context Ollama loads a model with unless asked (``OLLAMA_CONTEXT_LENGTH``).
DEFAULT_NUM_CTX = 4096


def _entry(m: ModelConfig) -> ModelEntry:
    return ModelEntry(m.id, m.id, timestamp(m.created * 1_000_000_000), card.file_size(m),
                      card.digest(m), card.details(m))


class RootEndpoint(OllamaEndpoint):
    """``GET /``: what clients and health checks probe to see that Ollama is up."""

    async def handle(self, request: Request) -> Response:
        return PlainTextResponse("Ollama is running")


class TagsEndpoint(OllamaEndpoint):
    """``GET /api/tags``: the ``provider: ollama`` models."""

    async def handle(self, request: Request) -> Response:
        models = [_entry(m) for m in self.context.engine.models.models if m.provider == "ollama"]
        return Response(encoder.encode(Tags(models)), media_type="application/json")


class PsEndpoint(OllamaEndpoint):
    """``GET /api/ps``: the models a request loaded whose ``keep_alive`` has not run out,
    the one to stay loaded longest first (Ollama's order)."""

    async def handle(self, request: Request) -> Response:
        running = RunningModels(self.context)
        loaded: list[tuple[int, ModelConfig]] = []
        for m in self.context.engine.models.models:
            expires = await running.expiry(m.id)
            if expires is not None:
                loaded.append((expires, m))
        loaded.sort(key=lambda e: -e[0])
        models = []
        for expires, m in loaded:
            size = card.file_size(m)
            models.append(RunningModel(
                name=m.id, model=m.id, size=size, digest=card.digest(m),
                details=card.details(m), expires_at=timestamp(expires),
                size_vram=size,  # fully offloaded to the GPU
                context_length=min(m.context_window, DEFAULT_NUM_CTX),
            ))
        return Response(encoder.encode(Running(models)), media_type="application/json")


class ShowEndpoint(OllamaEndpoint):
    """``POST /api/show``: Modelfile, parameters, template, details, ``model_info`` and
    capabilities of one model."""

    async def handle(self, request: Request) -> Response:
        body = await self.read_body(request)
        req: ShowRequest = self.decode_body(body, show_decoder)
        name = req.model or req.name
        if not name:
            raise ApiError(400, "model is required")
        m = self.context.engine.models.get(name)
        if m is None:
            raise ApiError(404, f"model '{name}' not found", kind="not_found")
        text, _ = card.template(m)
        out = Show(
            modelfile=card.modelfile(m), parameters=card.parameters(m), template=text,
            details=card.details(m), model_info=card.model_info(m),
            capabilities=card.capabilities(m),
            modified_at=timestamp(m.created * 1_000_000_000),
        )
        return Response(encoder.encode(out), media_type="application/json")


class VersionEndpoint(OllamaEndpoint):
    """``GET /api/version``."""

    async def handle(self, request: Request) -> Response:
        return Response(encoder.encode(Version(OLLAMA_VERSION)), media_type="application/json")
