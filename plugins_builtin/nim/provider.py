"""NVIDIA NIM's provider strategy: ``{"object": "error", "message", "detail", "type"}``, a
bearer-token check, and its own wording (not OpenAI's) for a body that is not JSON."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from mockllm.errors import ApiError
from mockllm.faults import Fault
from mockllm.provider import Provider, bearer, register_provider

_ERROR_TYPES = {
    "authentication": "authentication_error",
    "permission": "permission_error",
    "not_found": "not_found_error",
    "rate_limit": "rate_limit_error",
    "server": "internal_server_error",
    "unavailable": "service_unavailable",
    "overloaded": "service_unavailable",
}


class Nim(Provider):
    name: ClassVar[str] = "nim"

    def error_type(self, err: ApiError) -> str:
        return err.type_ or _ERROR_TYPES.get(err.kind, "invalid_request_error")

    def error_body(self, err: ApiError) -> dict[str, Any]:
        return {"object": "error", "message": err.message, "detail": {},
                "type": self.error_type(err)}

    def malformed_json(self, exc: Exception) -> ApiError:
        return ApiError(400, f"Invalid JSON in the request body: {exc}")

    def api_key(self, headers: Mapping[str, str], query: bytes = b"") -> str:
        return bearer(headers)  # a bearer token only

    def check_api_key(self, headers: Mapping[str, str], keys: list[str],
                      query: bytes = b"") -> None:
        if keys and bearer(headers) not in keys:
            raise ApiError(401, "Unauthorized: a valid bearer API key is required")

    def fault_error(self, fault: Fault) -> ApiError:
        return ApiError(fault.status, fault.message or "Internal Server Error")

    def claims(self, path: str, headers: Mapping[str, str]) -> bool:
        return path.startswith(("/v1/ranking", "/v1/retrieval"))

    def not_found(self, method: str, path: str) -> ApiError:
        return ApiError(404, f"Invalid URL ({method} {path})", type_="invalid_request_error")


NIM = register_provider(Nim())
