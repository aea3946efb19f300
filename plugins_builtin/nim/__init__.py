"""NVIDIA NIM text reranking (``builtin.nim``): ``POST /v1/ranking``.

The engine scores the passages (``Plan.scores``, deterministic); this endpoint applies NIM's
length rules and shape. A reranker reads each query + passage pair, so the limit is per
pair: with ``truncate: "NONE"`` (the default) a pair past the model's context is refused
with 400 as NIM does, and ``"END"`` cuts the passage to fit before it is scored.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from mockllm import ApiError, Endpoint, Registry, hookimpl
from mockllm.engine.request import NeutralRequest
from mockllm.engine.tokens import Tokenizer


class Text(msgspec.Struct):
    text: str


class RankingRequest(msgspec.Struct):
    model: str
    query: Text
    passages: list[Text]
    truncate: Literal["NONE", "END"] = "NONE"


class Ranking(msgspec.Struct):
    index: int
    logit: float


class Usage(msgspec.Struct):
    prompt_tokens: int
    total_tokens: int


class RankingResponse(msgspec.Struct):
    rankings: list[Ranking]
    usage: Usage


_decoder = msgspec.json.Decoder(RankingRequest)
_encoder = msgspec.json.Encoder()

class Rankings(Endpoint):
    """``POST /v1/ranking``: ``{"rankings": [{"index", "logit"}]}``, best first."""

    provider: ClassVar[str] = "nim"

    async def handle(self, request: Request) -> Response:
        self.check_api_key(request)
        body = await self.read_body(request)
        req = self.decode(body, _decoder)
        if not req.passages:
            raise ApiError(400, "passages must contain at least one passage")
        model = self.context.engine.models.get(req.model)
        if model is None:
            raise ApiError(404, f"Model {req.model} not found", kind="not_found")
        tok = self.context.tokenizers.get(model.tokenizer)
        neutral = NeutralRequest(
            endpoint="nim.rankings", provider="nim", model=req.model, query=req.query.text,
            inputs=_fit(tok, req, model.context_window),
            headers=self.headers(request),
        )
        plan = await self.make_plan(request, neutral, body)
        if plan.pacing is not None:
            await self.wait_paced(plan.pacing, 1)  # one forward pass: the time to first token
        if len(plan.scores) != len(req.passages):
            raise ApiError(500, "the engine gave no score for some passages")
        ranked = sorted((Ranking(i, s) for i, s in enumerate(plan.scores)),
                        key=lambda r: (-r.logit, r.index))
        usage = Usage(plan.prompt_tokens, plan.prompt_tokens)
        out = RankingResponse(ranked, usage)
        return Response(_encoder.encode(out), media_type="application/json")


def _fit(tok: Tokenizer, req: RankingRequest, window: int) -> list[str]:
    """The passages as the model sees them: whole, or cut to fit with ``END``."""
    q = len(tok.encode(req.query.text))
    if q > window:
        raise ApiError(400, f"Input length {q} exceeds maximum allowed token size {window}")
    texts = []
    for p in req.passages:
        # A token is at least one byte and a character at most four: a pair that short
        # cannot overflow, so skip encoding it.
        if q + len(p.text) * 4 <= window:
            texts.append(p.text)
            continue
        ids = tok.encode(p.text)
        if q + len(ids) > window:
            if req.truncate == "NONE":
                raise ApiError(400, f"Input length {q + len(ids)} exceeds maximum allowed "
                                    f"token size {window}")
            ids = ids[: window - q]
            texts.append(tok.decode(ids))
        else:
            texts.append(p.text)
    return texts


@hookimpl(trylast=True)
def mockllm_register_endpoints(registry: Registry) -> None:
    registry.register("nim.rankings", path="/v1/ranking", methods=["POST"])(Rankings)
