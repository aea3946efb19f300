"""vLLM's provider strategy, for its server extras (``/tokenize``, ``/detokenize``,
``/version``): vLLM's ``{"error": {"message", "type", "param", "code"}}`` envelope, whose
``type`` is the exception class name and ``code`` the HTTP status, and how its pydantic
layer words a body it cannot read. (vLLM's OpenAI-compatible routes are the OpenAI ones.)"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec

from mockllm.errors import ApiError
from mockllm.provider import Provider, register_provider

_TYPES = {400: "BadRequestError", 401: "UnauthorizedError", 404: "NotFoundError",
          429: "RateLimitError", 500: "InternalServerError", 503: "ServiceUnavailableError"}


class Vllm(Provider):
    name: ClassVar[str] = "vllm"

    def error_body(self, err: ApiError) -> dict[str, Any]:
        return {"error": {"message": err.message,
                          "type": err.type_ or _TYPES.get(err.status, "BadRequestError"),
                          "param": err.param, "code": err.status}}

    def invalid_body(self, exc: msgspec.ValidationError) -> ApiError:
        return ApiError(400, f"1 validation error: {exc}")

    def malformed_json(self, exc: Exception) -> ApiError:
        return ApiError(400, f"JSON decode error: {exc}")


VLLM = register_provider(Vllm())
