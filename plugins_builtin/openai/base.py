"""The base of every OpenAI endpoint: auth, then the body decoded, with strict mode.

Envelopes, wording and headers are the provider strategy's (:mod:`.provider`)."""

from __future__ import annotations

from typing import ClassVar, TypeVar

import msgspec
from starlette.requests import Request

from mockllm import Endpoint
from mockllm.engine.schema import ModelConfig

T = TypeVar("T")

def known_fields(struct: type[msgspec.Struct]) -> frozenset[str]:
    """The request keys a Struct accepts, for strict mode's "Unrecognized request argument"."""
    return frozenset(struct.__struct_encode_fields__)


class OpenAIEndpoint(Endpoint):
    """Subclasses call :meth:`parse` first; everything raised renders in OpenAI's envelope."""

    provider: ClassVar[str] = "openai"
    #: The endpoint key (``openai.chat``), carried into the neutral request for matching.
    key: ClassVar[str] = ""

    def authorize(self, request: Request) -> None:
        """The API-key check (a subclass may add to it; :meth:`parse` always calls it)."""
        self.check_api_key(request)

    async def parse(
        self, request: Request, decoder: msgspec.json.Decoder[T], fields: frozenset[str]
    ) -> tuple[T, bytes]:
        """Auth, then the body decoded into the request Struct (400/401/413 on failure)."""
        self.authorize(request)
        body = await self.read_body(request)
        req = self.decode(body, decoder)
        if self.context.config.server.strict:
            self.reject_unknown(body, fields)
        return req, body

    def model(self, name: str) -> ModelConfig:
        """The registry's model for ``name``, or 404 ``model_not_found``."""
        return self.context.engine.models.require(name)
