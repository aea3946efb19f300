"""``openai.models``: ``GET /v1/models`` and ``GET /v1/models/{model}`` from the registry.

Aliases are listed as models of their own, as the API lists ``gpt-4o`` next to its dated
snapshots; a look-up answers with the id that was asked for.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from mockllm.engine.schema import ModelConfig

from . import wire
from .base import OpenAIEndpoint

_OWNER = {"openai": "system", "anthropic": "anthropic", "nim": "nvidia", "ollama": "library"}


class ModelCard(msgspec.Struct):
    id: str
    object: str
    created: int
    owned_by: str


class ModelList(msgspec.Struct):
    object: str
    data: list[ModelCard]


def card(name: str, m: ModelConfig) -> ModelCard:
    return ModelCard(name, "model", m.created, m.owned_by or _OWNER.get(m.provider, m.provider))


class Models(OpenAIEndpoint):
    """``GET /v1/models`` and ``GET /v1/models/{model}``."""

    key = "openai.models"

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        #: The encoded listing of one registry; a reload brings a new registry object.
        self._listing: tuple[object, bytes] | None = None

    async def handle(self, request: Request) -> Response:
        self.authorize(request)
        name = request.path_params.get("model")
        if name is not None:
            return wire.json_response(card(name, self.model(name)))
        registry = self.context.engine.models
        if self._listing is None or self._listing[0] is not registry:
            cards = [card(n, m) for m in registry.models for n in (m.id, *m.aliases)]
            self._listing = (registry, wire.encoder.encode(ModelList("list", cards)))
        return Response(self._listing[1], media_type="application/json")
