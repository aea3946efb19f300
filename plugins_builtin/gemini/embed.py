"""``models/{model}:embedContent`` and ``:batchEmbedContents``: vectors from the engine's
``Plan.embeddings``, ``outputDimensionality`` long (the model's ``dimensions`` when unset)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from mockllm import ApiError
from mockllm.engine.request import NeutralRequest
from mockllm.engine.vectors import floats
from plugins_builtin.gemini import convert
from plugins_builtin.gemini.base import GeminiEndpoint
from plugins_builtin.gemini.wire import (
    BatchEmbedRequest,
    BatchEmbedResponse,
    EmbedContentRequest,
    Embedding,
    EmbedResponse,
    batch_embed_decoder,
    embed_decoder,
    encoder,
)

#: The API's largest batch.
MAX_BATCH = 100


class EmbedContent(GeminiEndpoint):
    """``:embedContent``: one ``content`` in, ``{"embedding": {"values": [...]}}`` out;
    ``:batchEmbedContents`` (the same key): ``{"requests": [...]}`` in,
    ``{"embeddings": [{"values": [...]}, ...]}`` out."""

    async def handle(self, request: Request) -> Response:
        if request.url.path.endswith(":batchEmbedContents"):
            return await self.batch(request)
        self.check_api_key(request)
        body = await self.read_body(request)
        req: EmbedContentRequest = convert.decode(body, embed_decoder)
        model = self.require_model(request, request.path_params["model"], "embedContent")
        vectors = await self.embed(request, model.id, [req], body, "EmbedContentRequest")
        return Response(encoder.encode(EmbedResponse(Embedding(vectors[0]))),
                        media_type="application/json")

    async def embed(self, request: Request, model: str, reqs: list[EmbedContentRequest],
                    body: bytes, what: str) -> list[list[float]]:
        """One vector per request; one engine plan per distinct ``outputDimensionality``."""
        texts = [convert.content_texts(r.content, f"{what}") for r in reqs]
        dims = [r.output_dimensionality for r in reqs]
        for d in dims:
            if d is not None and d < 1:
                raise ApiError(400, f"* {what}.output_dimensionality: must be positive.\n")
        out: list[list[float]] = [[] for _ in reqs]
        for size in dict.fromkeys(dims):
            index = [i for i, d in enumerate(dims) if d == size]
            neutral = NeutralRequest(
                endpoint="gemini.embed", provider="gemini", model=model,
                inputs=[texts[i] for i in index], dimensions=size,
                headers=self.headers(request),
            )
            plan = await self.make_plan(request, neutral, body)
            if len(plan.embeddings) != len(index):
                raise ApiError(500, "the engine gave no embedding for some inputs")
            for i, vector in zip(index, plan.embeddings, strict=True):
                out[i] = floats(vector)
            if plan.pacing is not None:
                await self.wait_paced(plan.pacing, 1)  # one forward pass: the time to first token
        return out


    async def batch(self, request: Request) -> Response:
        self.check_api_key(request)
        body = await self.read_body(request)
        req: BatchEmbedRequest = convert.decode(body, batch_embed_decoder)
        model = self.require_model(request, request.path_params["model"],
                                   "batchEmbedContents")
        reqs = req.requests or []
        if not reqs:
            raise ApiError(400, "* BatchEmbedContentsRequest.requests: requests is not "
                                "specified\n")
        if len(reqs) > MAX_BATCH:
            raise ApiError(400, f"* BatchEmbedContentsRequest.requests: at most {MAX_BATCH} "
                                "requests are allowed in a single batch request.\n")
        for i, r in enumerate(reqs):
            if r.model is not None and r.model.removeprefix("models/") not in (
                    model.id, request.path_params["model"]):
                raise ApiError(400, f"* BatchEmbedContentsRequest.requests[{i}].model: "
                                    f"Model '{r.model}' does not match the model in the URL.\n")
        vectors = await self.embed(request, model.id, reqs, body,
                                   "BatchEmbedContentsRequest.requests")
        out = BatchEmbedResponse([Embedding(v) for v in vectors])
        return Response(encoder.encode(out), media_type="application/json")
