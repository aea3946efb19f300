"""Cohere's provider strategy (the rerank family): ``{"id", "message"}`` errors, a bearer
key, and no refusal of long documents (Cohere truncates them instead)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

import msgspec

from mockllm.errors import ApiError
from mockllm.faults import Fault
from mockllm.ids import random_hex, random_int
from mockllm.provider import Provider, bearer, register_provider, split_validation


def new_uuid() -> str:
    """A version-4 UUID, as Cohere's response ids are (without uuid4's system call)."""
    return str(uuid.UUID(int=random_int(128), version=4))


class Cohere(Provider):
    name: ClassVar[str] = "cohere"
    # Cohere cuts a long document to max_tokens_per_doc (or chunks it) rather than refusing.
    enforces_limits: ClassVar[bool] = False
    request_id_header: ClassVar[str | None] = "x-debug-trace-id"

    def error_body(self, err: ApiError) -> dict[str, Any]:
        return {"id": new_uuid(), "message": err.message}

    def new_request_id(self) -> str:
        return random_hex(16)

    def invalid_body(self, exc: msgspec.ValidationError) -> ApiError:
        where, what = split_validation(exc)
        field = f"{where}: " if where else ""
        return ApiError(400, f"invalid request: {field}{what}")

    def malformed_json(self, exc: Exception) -> ApiError:
        return ApiError(400, f"invalid request: could not parse the request body as JSON: "
                             f"{exc}")

    def unknown_field(self, name: str) -> ApiError:
        return ApiError(400, f"invalid request: unknown field '{name}'")

    def api_key(self, headers: Mapping[str, str], query: bytes = b"") -> str:
        return bearer(headers)  # a bearer token only

    def check_api_key(self, headers: Mapping[str, str], keys: list[str],
                      query: bytes = b"") -> None:
        if not keys:
            return
        key = bearer(headers)
        if key not in keys:
            raise ApiError(401, "no api key supplied" if not key else "invalid api token")

    def rate_limit_headers(self, seconds: float) -> dict[str, str]:
        # Cohere sends only retry-after on a 429, no x-ratelimit-* set.
        return {"retry-after": str(max(round(seconds), 1))}

    def fault_error(self, fault: Fault) -> ApiError:
        return ApiError(fault.status, fault.message or "internal server error, this has been "
                                                       "reported to our developers")

    def claims(self, path: str, headers: Mapping[str, str]) -> bool:
        # /v2/ is Cohere's alone; the rest of /v1/ belongs to OpenAI's strategy.
        return path.startswith(("/v2/", "/rerank", "/v1/rerank"))

    def not_found(self, method: str, path: str) -> ApiError:
        return ApiError(404, "404 page not found", kind="not_found")


COHERE = register_provider(Cohere())
