"""``openai.embeddings``: ``POST /v1/embeddings``.

The engine makes the vectors (``Plan.embeddings``, one per input, deterministic, unit length,
``dimensions`` long); this module only shapes them: floats, or base64 of little-endian
float32 (what the SDK asks for by default).
"""

from __future__ import annotations

import base64
import sys
from array import array
from collections.abc import Sequence
from typing import Any, Literal

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from mockllm import ApiError
from mockllm.endpoint import OFF_LOOP_VALUES
from mockllm.engine import NeutralRequest
from mockllm.engine.vectors import floats
from mockllm.json_pieces import JsonPieces

from . import errors, wire
from .base import OpenAIEndpoint, known_fields
from .errors import check_count

#: The API's limit on inputs per request.
MAX_INPUTS = 2048


class EmbeddingRequest(msgspec.Struct):
    model: str
    input: str | list[str | int | list[int]]
    encoding_format: Literal["float", "base64"] = "float"
    # Unset, not None: the spec types both as non-nullable, so an explicit null is a 400
    # ("expected an integer, but got null"), as tests/fuzz's negative cases check.
    dimensions: int | msgspec.UnsetType = msgspec.UNSET
    user: str | msgspec.UnsetType = msgspec.UNSET


_decoder = msgspec.json.Decoder(EmbeddingRequest)
_FIELDS = known_fields(EmbeddingRequest)


class Embedding(msgspec.Struct):
    object: str
    index: int
    embedding: list[float] | str


class EmbeddingUsage(msgspec.Struct):
    prompt_tokens: int
    total_tokens: int


class EmbeddingList(msgspec.Struct):
    object: str
    data: list[Embedding]
    model: str
    usage: EmbeddingUsage


def _invalid_input() -> ApiError:
    return errors.invalid("input", "'$.input' is invalid. Please check the API reference: "
                          "https://platform.openai.com/docs/api-reference.")


def inputs(value: str | list[str | int | list[int]], decode: Any) -> list[str]:
    """Every input as text: strings as given, token arrays decoded with the model's tokenizer."""
    if isinstance(value, str):
        if not value:
            raise _invalid_input()
        return [value]
    if not value or len(value) > MAX_INPUTS:
        raise _invalid_input()
    if all(isinstance(v, str) and v for v in value):
        return list(value)  # type: ignore[arg-type]
    if all(isinstance(v, int) for v in value):
        return [decode(value)]
    if all(isinstance(v, list) and v for v in value):
        return [decode(v) for v in value]
    raise _invalid_input()


def b64(vector: Sequence[float]) -> str:
    """base64 of the vector as little-endian float32, as the API encodes it."""
    packed = array("f", vector)  # a copy (a plan's vector is read only), packed if a list
    if sys.byteorder != "little":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


class Embeddings(OpenAIEndpoint):
    """``POST /v1/embeddings``."""

    key = "openai.embeddings"

    async def handle(self, request: Request) -> Response:
        req, body = await self.parse(request, _decoder, _FIELDS)
        model = self.model(req.model)
        dimensions = None if req.dimensions is msgspec.UNSET else req.dimensions
        check_count("dimensions", dimensions, 1, model.dimensions)
        tok = self.context.tokenizers.get(model.tokenizer)

        def decode(tokens: list[int]) -> str:
            try:
                return str(tok.decode(tokens))
            except Exception:
                raise _invalid_input() from None

        neutral = NeutralRequest(
            endpoint=self.key, provider="openai", model=req.model,
            inputs=inputs(req.input, decode), dimensions=dimensions,
            headers=self.headers(request),
        )
        plan = await self.make_plan(request, neutral, body)
        await self.wait_for(plan)
        usage = EmbeddingUsage(plan.prompt_tokens, plan.prompt_tokens)
        vectors = plan.embeddings
        item = _as_base64 if req.encoding_format == "base64" else _as_floats
        if sum(map(len, vectors)) <= OFF_LOOP_VALUES:
            return wire.json_response(EmbeddingList(
                "list", [item(iv) for iv in enumerate(vectors)], plan.model.id, usage))
        # 2,048 inputs of 3,072 numbers is a 134 MB body: one encode would hold the GIL (and
        # so the event loop) for its whole length, so it is encoded and sent in slices.
        head, tail = wire.encoder.encode(
            EmbeddingList("list", [], plan.model.id, usage)).split(b'"data":[]')
        return JsonPieces(head + b'"data":[', list(enumerate(vectors)),
                          lambda iv: wire.encoder.encode(item(iv)), b"]" + tail)


def _as_floats(iv: tuple[int, Sequence[float]]) -> Embedding:
    return Embedding("embedding", iv[0], floats(iv[1]))


def _as_base64(iv: tuple[int, Sequence[float]]) -> Embedding:
    return Embedding("embedding", iv[0], b64(iv[1]))
