"""The base of every OpenAI endpoint: auth, body decoding, strict mode, OpenAI's envelope."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from mockllm import ApiError, Endpoint, Frame
from mockllm.endpoint import MALFORMED
from mockllm.engine.plan import Plan
from mockllm.engine.schema import ModelConfig
from mockllm.faults import cut_at_token

from . import errors, wire
from .auth import check_api_key
from .wire import encoder

T = TypeVar("T")

#: Strict mode only needs the top-level keys; Raw leaves the values undecoded.
_keys_decoder = msgspec.json.Decoder(dict[str, msgspec.Raw])


def known_fields(struct: type[msgspec.Struct]) -> frozenset[str]:
    """The request keys a Struct accepts, for strict mode's "Unrecognized request argument"."""
    return frozenset(struct.__struct_encode_fields__)


class OpenAIEndpoint(Endpoint):
    """Subclasses call :meth:`parse` first; everything raised renders in OpenAI's envelope."""

    provider: ClassVar[str] = "openai"
    #: The endpoint key (``openai.chat``), carried into the neutral request for matching.
    key: ClassVar[str] = ""

    async def __call__(self, request: Request) -> Response:
        """Every answer, errors included, carries ``x-request-id`` (the SDK's ``_request_id``)."""
        response = await super().__call__(request)
        # Both Starlette's Response and StreamResponse send ``raw_headers`` as they are.
        response.raw_headers.append((b"x-request-id", wire.new_id("req_").encode()))
        return response

    def authorize(self, request: Request) -> None:
        check_api_key(request, self.context.config.server.api_keys)

    async def parse(
        self, request: Request, decoder: msgspec.json.Decoder[T], fields: frozenset[str]
    ) -> tuple[T, bytes]:
        """Auth, then the body decoded into the request Struct (400/401/413 on failure)."""
        self.authorize(request)
        body = await self.read_body(request)
        req = self.decode(body, decoder)
        if self.context.config.server.strict:
            for name in _keys_decoder.decode(body):
                if name not in fields:
                    raise errors.unrecognized(name)
        return req, body

    def decode(self, body: bytes, decoder: msgspec.json.Decoder[T]) -> T:
        try:
            return decoder.decode(body)
        except msgspec.ValidationError as exc:
            raise errors.validation_error(exc) from None
        except MALFORMED as exc:
            raise errors.malformed_json(exc) from None

    def model(self, name: str) -> ModelConfig:
        """The registry's model for ``name``, or 404 ``model_not_found``."""
        return self.context.engine.models.require(name)

    def error_body(self, err: ApiError) -> dict[str, Any]:
        body = super().error_body(err)
        if body["error"]["code"] is None:
            body["error"]["code"] = errors.DEFAULT_CODES.get(err.status)
        return body

    def with_fault(self, frames: Iterable[Frame], plan: Plan) -> Iterable[Frame]:
        """``frames`` as planned, or cut short by a mid-stream ``error`` fault.

        OpenAI reports a failure inside a stream as a ``data: {"error": {...}}`` event; the
        SDK raises ``APIError`` on it. The transport sends no ``[DONE]`` after it.
        """
        fault = plan.fault
        if fault is None or fault.kind != "error":
            return frames
        sent = cut_at_token(frames, max(fault.after, 0))
        return [*sent, self.error_frame(self.fault_error(fault), len(sent))]

    def error_frame(self, err: ApiError, sent: int) -> Frame:
        """The event that ends a stream with ``err`` after ``sent`` frames."""
        return Frame(None, encoder.encode(self.error_body(err)))

    def error_response(self, err: ApiError) -> Response:
        return Response(encoder.encode(self.error_body(err)), status_code=err.status,
                        headers=errors.error_headers(err), media_type="application/json")
