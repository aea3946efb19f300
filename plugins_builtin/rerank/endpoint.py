"""``POST /v1/rerank``, ``/v2/rerank`` (Cohere) and ``/rerank`` (vLLM, Jina): one endpoint,
three dialects chosen by the path.

The engine scores the documents (``Plan.scores``: the more query words a document shares,
the higher); this module reads the documents the way Cohere does (object documents and
``rank_fields``, ``max_tokens_per_doc``, chunks), orders them best first, cuts to ``top_n``
and bills search units.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from msgspec import UNSET
from starlette.requests import Request
from starlette.responses import Response

from mockllm import ApiError, Endpoint
from mockllm.engine.request import NeutralRequest
from mockllm.engine.schema import ModelConfig
from mockllm.engine.tokens import Tokenizer
from mockllm.ids import random_hex
from plugins_builtin.rerank.provider import new_uuid
from plugins_builtin.rerank.wire import (
    ApiVersion,
    BilledUnits,
    CohereResponse,
    JinaResponse,
    JinaResult,
    Meta,
    RerankRequest,
    Result,
    Usage,
    decoder,
    encoder,
)

Dialect = Literal["1", "2", "jina"]

#: Cohere's bound on one request (its API reference: documents x chunks below 10,000).
MAX_DOCUMENTS = 10_000
#: Cohere's defaults for how much of a long document is read.
MAX_TOKENS_PER_DOC = 4096
MAX_CHUNKS_PER_DOC = 10
#: One search unit covers a query with up to this many documents (chunks, for long ones).
DOCUMENTS_PER_SEARCH_UNIT = 100
#: The engine's logits are NIM's (about -10 for an unrelated passage, +2 per shared query
#: word). Cohere and vLLM answer a probability; halved and shifted, a document sharing no
#: query word scores about 0.05, four words about 0.75 and seven about 0.99, so common words
#: ("the", "of") alone do not push every document near 1.
_SCALE, _SHIFT = 0.5, 2.0

_FIELDS = frozenset(RerankRequest.__struct_fields__)


def dialect_of(path: str) -> Dialect:
    if path.endswith("/v2/rerank"):
        return "2"
    if path.endswith("/v1/rerank"):
        return "1"
    return "jina"


class Rerank(Endpoint):
    """Cohere's rerank on ``/v1/rerank`` and ``/v2/rerank``; vLLM's and Jina's on ``/rerank``."""

    provider: ClassVar[str] = "cohere"

    async def handle(self, request: Request) -> Response:
        self.check_api_key(request)
        dialect = dialect_of(request.scope["path"])
        body = await self.read_body(request)
        req = self.decode(body, decoder)
        if self.context.config.server.strict:
            self.reject_unknown(body, _FIELDS)
        query, docs = _checked(req)
        model = self._model(req, dialect)
        tok = self.context.tokenizers.get(model.tokenizer)
        texts, chunks = _read(tok, query, [_text(d, i, req.rank_fields)
                                           for i, d in enumerate(docs)], req, model, dialect)
        neutral = NeutralRequest(endpoint="rerank", provider="cohere", model=model.id,
                                 query=query, inputs=texts, headers=self.headers(request))
        plan = await self.make_plan(request, neutral, body)
        if plan.pacing is not None:
            await self.wait_paced(plan.pacing, 1)  # one forward pass: the time to first token
        if len(plan.scores) != len(texts):
            raise ApiError(500, "the engine gave no score for some documents")
        order = sorted(range(len(texts)), key=lambda i: (-plan.scores[i], i))
        ranked = [(i, relevance(plan.scores[i])) for i in order[:req.top_n]]
        if dialect == "jina":
            # Jina's default is to return the documents (Cohere's is not to).
            keep = req.return_documents is not False
            results = [JinaResult(i, _as_document(docs[i]) if keep else UNSET, s)
                       for i, s in ranked]
            out: Any = JinaResponse("rerank-" + random_hex(16), model.id,
                                    Usage(plan.prompt_tokens), results)
        else:
            with_docs = dialect == "1" and bool(req.return_documents)
            out = CohereResponse(new_uuid(), [
                Result(index=i, relevance_score=s,
                       document=_as_document(docs[i]) if with_docs else UNSET)
                for i, s in ranked
            ], Meta(ApiVersion(dialect), BilledUnits(search_units(chunks))))
        return Response(encoder.encode(out), media_type="application/json")

    def _model(self, req: RerankRequest, dialect: Dialect) -> ModelConfig:
        registry = self.context.engine.models
        if req.model is None:
            if dialect == "2":
                raise ApiError(400, "invalid request: model is required")
            # Cohere v1 and a vLLM server pick a reranker of their own.
            default = next((m for m in registry.models if m.provider == "cohere"), None)
            if default is None:
                raise ApiError(400, "invalid request: model is required")
            return default
        found = registry.get(req.model)
        if found is None:
            raise ApiError(404, f"model '{req.model}' not found, make sure the correct model "
                                "ID was used and that you have access to the model.",
                           kind="not_found")
        return found


def relevance(logit: float) -> float:
    """The engine's logit as a relevance score in [0, 1]."""
    return round(1.0 / (1.0 + math.exp(-(logit * _SCALE + _SHIFT))), 8)


def search_units(chunks: int) -> int:
    return max(math.ceil(chunks / DOCUMENTS_PER_SEARCH_UNIT), 1)


def _checked(req: RerankRequest) -> tuple[str, list[str | dict[str, Any]]]:
    if not req.query or not req.query.strip():
        raise ApiError(400, "invalid request: query must not be empty")
    if not req.documents:
        raise ApiError(400, "invalid request: list of documents must not be empty")
    if len(req.documents) > MAX_DOCUMENTS:
        raise ApiError(400, f"invalid request: too many documents: {len(req.documents)}, "
                            f"the maximum is {MAX_DOCUMENTS}")
    if req.top_n is not None and req.top_n < 1:
        raise ApiError(400, "invalid request: top_n must be at least 1")
    for name in ("max_tokens_per_doc", "max_chunks_per_doc", "truncate_prompt_tokens"):
        value = getattr(req, name)
        if value is not None and value < 1:
            raise ApiError(400, f"invalid request: {name} must be at least 1")
    return req.query, req.documents


def _text(doc: str | dict[str, Any], index: int, rank_fields: list[str] | None) -> str:
    """What the model reads of a document: the string, its ``text``, or its ``rank_fields``
    as ``key: value`` lines (Cohere reads structured documents as YAML)."""
    if isinstance(doc, str):
        return doc
    if rank_fields:
        lines = [f"{k}: {doc[k]}" for k in rank_fields if k in doc]
        if not lines:
            raise ApiError(400, f"invalid request: document at index {index} has none of the "
                                f"rank_fields {rank_fields}")
        return "\n".join(lines)
    text = doc.get("text")
    if not isinstance(text, str):
        raise ApiError(400, f"invalid request: document at index {index} must have a 'text' "
                            "field that is a string (or name its fields in rank_fields)")
    return text


def _as_document(doc: str | dict[str, Any]) -> dict[str, Any]:
    return {"text": doc} if isinstance(doc, str) else doc


def _read(tok: Tokenizer, query: str, texts: list[str], req: RerankRequest,
          model: ModelConfig, dialect: Dialect) -> tuple[list[str], int]:
    """The documents as the model reads them (cut where the dialect cuts), and how many
    chunks they bill: a document longer than the window left by the query is several."""
    q = len(tok.encode(query))
    window = max(model.context_window - q, 1)
    if dialect == "1":
        limit = window * (req.max_chunks_per_doc or MAX_CHUNKS_PER_DOC)
    elif dialect == "2":
        limit = req.max_tokens_per_doc or MAX_TOKENS_PER_DOC
    elif req.truncate_prompt_tokens is not None:
        limit = max(req.truncate_prompt_tokens - q, 0)
    else:
        limit = req.max_tokens_per_doc or window
    out: list[str] = []
    chunks = 0
    for text in texts:
        # A token is at least one byte and a character at most four: a text that short
        # fits, so skip encoding it.
        if len(text) * 4 <= min(limit, window):
            out.append(text)
            chunks += 1
            continue
        ids = tok.encode(text)
        if len(ids) > limit:
            if dialect == "jina" and req.truncate_prompt_tokens is None \
                    and req.max_tokens_per_doc is None:
                # vLLM refuses a pair over the context window unless asked to truncate.
                raise ApiError(400, f"This model's maximum context length is "
                                    f"{model.context_window} tokens. However, you requested "
                                    f"{q + len(ids)} tokens in the input for reranking. "
                                    "Please reduce the length of the input.")
            ids = ids[:limit]
            text = tok.decode(ids)
        out.append(text)
        chunks += max(math.ceil(len(ids) / window), 1)
    return out, chunks
