"""``POST /api/embed`` (and the older ``/api/embeddings``): vectors from the engine's
``Plan.embeddings``."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response

from mockllm import ApiError
from mockllm.engine.request import NeutralRequest
from mockllm.engine.tokens import Tokenizer
from mockllm.engine.vectors import floats
from plugins_builtin.ollama.chat import OllamaEndpoint
from plugins_builtin.ollama.wire import (
    Embeddings,
    EmbedRequest,
    LegacyEmbedding,
    LegacyEmbedRequest,
    embed_decoder,
    encoder,
    legacy_embed_decoder,
)


class Embed(OllamaEndpoint):
    """Inputs past the context are cut (``truncate: true``, the default) or refused."""

    async def handle(self, request: Request) -> Response:
        start = time.monotonic()
        body = await self.read_body(request)
        req: EmbedRequest = self.decode_body(body, embed_decoder)
        self.require_model(req.model)
        await self.load(req.model, req.keep_alive)
        texts = [req.input] if isinstance(req.input, str) else list(req.input)
        if not texts:
            return Response(encoder.encode({"model": req.model, "embeddings": []}),
                            media_type="application/json")
        model = self.context.engine.models.get(req.model)
        assert model is not None  # require_model checked it
        window = model.context_window
        if req.options is not None and req.options.num_ctx:
            window = min(window, req.options.num_ctx)
        # Ollama truncates each vector to ``dimensions`` (0: unset) and cannot lengthen it, so
        # a larger value is the model's own length; a negative one is refused.
        dims = req.dimensions
        if dims is not None and dims < 0:
            raise ApiError(400, "dimensions must be a positive integer")
        if not dims or dims > model.dimensions:
            dims = None
        tok = self.context.tokenizers.get(model.tokenizer)
        neutral = NeutralRequest(
            endpoint="ollama.embed", provider="ollama", model=req.model,
            inputs=[_fit(tok, t, window, req.truncate) for t in texts],
            dimensions=dims, headers=self.headers(request),
        )
        planned = time.monotonic()
        plan = await self.make_plan(request, neutral, body)
        if len(plan.embeddings) != len(texts):
            raise ApiError(500, "the engine gave no embedding for some inputs")
        if plan.pacing is not None:
            await self.wait_paced(plan.pacing, 1)  # one forward pass: the time to first token
        end = time.monotonic()
        out = Embeddings(
            model=req.model, embeddings=[floats(v) for v in plan.embeddings],
            total_duration=max(round((end - start) * 1e9), 1),
            load_duration=max(round((planned - start) * 1e9), 1),
            prompt_eval_count=plan.prompt_tokens,
        )
        return Response(encoder.encode(out), media_type="application/json")


class LegacyEmbeddings(OllamaEndpoint):
    """``POST /api/embeddings``: ``{"embedding": [...]}`` for one ``prompt``; Ollama cuts a
    prompt past the context rather than refuse it."""

    async def handle(self, request: Request) -> Response:
        body = await self.read_body(request)
        req: LegacyEmbedRequest = self.decode_body(body, legacy_embed_decoder)
        self.require_model(req.model)
        await self.load(req.model, req.keep_alive)
        if not req.prompt:
            return Response(encoder.encode(LegacyEmbedding([])), media_type="application/json")
        model = self.context.engine.models.get(req.model)
        assert model is not None  # require_model checked it
        tok = self.context.tokenizers.get(model.tokenizer)
        neutral = NeutralRequest(
            endpoint="ollama.embeddings", provider="ollama", model=req.model,
            inputs=[_fit(tok, req.prompt, model.context_window, True)],
            headers=self.headers(request),
        )
        plan = await self.make_plan(request, neutral, body)
        if len(plan.embeddings) != 1:
            raise ApiError(500, "the engine gave no embedding")
        if plan.pacing is not None:
            await self.wait_paced(plan.pacing, 1)
        return Response(encoder.encode(LegacyEmbedding(floats(plan.embeddings[0]))),
                        media_type="application/json")


def _fit(tok: Tokenizer, text: str, window: int, truncate: bool) -> str:
    if len(text) * 4 <= window:  # a token is at least one byte: cannot overflow
        return text
    ids = tok.encode(text)
    if len(ids) <= window:
        return text
    if not truncate:
        raise ApiError(400, "the input length exceeds the context length")
    return tok.decode(ids[:window])
