"""Rerank wire types: one request Struct for every dialect, response Structs per dialect.

Cohere v1 (``/v1/rerank``) takes strings or objects as documents and answers
``{"id", "results", "meta"}``; Cohere v2 (``/v2/rerank``) takes strings and never returns the
documents; vLLM and Jina (``/rerank``) answer ``{"id", "model", "usage", "results"}`` with the
document text in each result.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType


class RerankRequest(msgspec.Struct):
    # Optional here so a missing field gets Cohere's wording, not msgspec's.
    query: str | None = None
    documents: list[str | dict[str, Any]] | None = None
    model: str | None = None
    top_n: int | None = None
    return_documents: bool | None = None
    #: v1: which keys of an object document are read, in order.
    rank_fields: list[str] | None = None
    #: v1: how many chunks of a long document are read (Cohere's default 10).
    max_chunks_per_doc: int | None = None
    #: v2: a longer document is cut to this many tokens (Cohere's default 4096).
    max_tokens_per_doc: int | None = None
    # Accepted and ignored: scheduling and span extraction have no effect on a mock's scores.
    priority: int | None = None
    relevant_spans: dict[str, Any] | None = None
    #: vLLM: each query + document pair is cut to this many tokens.
    truncate_prompt_tokens: int | None = None


class Result(msgspec.Struct, omit_defaults=True, kw_only=True):
    # Cohere v1 sends the document first.
    document: dict[str, Any] | UnsetType = UNSET
    index: int
    relevance_score: float


class JinaResult(msgspec.Struct, omit_defaults=True):
    index: int
    document: dict[str, Any] | UnsetType
    relevance_score: float


class ApiVersion(msgspec.Struct):
    version: str


class BilledUnits(msgspec.Struct):
    search_units: int


class Meta(msgspec.Struct):
    api_version: ApiVersion
    billed_units: BilledUnits


class CohereResponse(msgspec.Struct):
    id: str
    results: list[Result]
    meta: Meta


class Usage(msgspec.Struct):
    total_tokens: int


class JinaResponse(msgspec.Struct):
    id: str
    model: str
    usage: Usage
    results: list[JinaResult]


decoder = msgspec.json.Decoder(RerankRequest)
encoder = msgspec.json.Encoder()
