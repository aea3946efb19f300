"""Ollama's provider strategy: ``{"error": "message"}`` with the status, in a body and as the
last object of a stream; Ollama truncates a long prompt instead of refusing it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import msgspec

from mockllm.errors import ApiError
from mockllm.faults import Fault
from mockllm.provider import Provider, register_provider


class Ollama(Provider):
    name: ClassVar[str] = "ollama"
    enforces_limits: ClassVar[bool] = False

    def error_body(self, err: ApiError) -> dict[str, Any]:
        return {"error": err.message}

    def invalid_body(self, exc: msgspec.ValidationError) -> ApiError:
        return ApiError(400, f"invalid request: {exc}")

    def malformed_json(self, exc: Exception) -> ApiError:
        return ApiError(400, f"invalid JSON: {exc}")

    def fault_error(self, fault: Fault) -> ApiError:
        return ApiError(fault.status,
                        fault.message or "an error was encountered while running the model")

    def claims(self, path: str, headers: Mapping[str, str]) -> bool:
        # "/" too: only Ollama routes it (GET and HEAD answer "Ollama is running").
        return path.startswith("/api/") or path == "/"

    def method_not_allowed(self, method: str, path: str) -> ApiError:
        # Ollama (0.6.6 on, gin's HandleMethodNotAllowed) answers a known path's other
        # methods with gin's 405 and its words; the envelope stays Ollama's, which the
        # ollama client reads the same way (ResponseError("405 method not allowed")).
        return ApiError(405, "405 method not allowed")


OLLAMA = register_provider(Ollama())
