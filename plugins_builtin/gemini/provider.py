"""Gemini's provider strategy: Google's ``{"error": {"code", "message", "status"}}``
envelope, how a body that does not decode is worded (``Invalid JSON payload received.``),
its fault and limit wording, the error chunk that ends a stream, and the unknown URLs it
claims (``/v1beta/``, or an ``x-goog-api-key`` header)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import msgspec

from mockllm.engine.schema import ModelConfig
from mockllm.errors import ApiError
from mockllm.faults import Fault
from mockllm.frames import Frame
from mockllm.provider import Provider, bearer, register_provider, split_validation

from .base import _MESSAGES, error_envelope
from .render import error_chunk
from .wire import encoder


class Gemini(Provider):
    name: ClassVar[str] = "gemini"

    def error_body(self, err: ApiError) -> dict[str, Any]:
        return error_envelope(err)

    def invalid_body(self, exc: msgspec.ValidationError) -> ApiError:
        # Google: "Invalid JSON payload received. Invalid value at 'generationConfig.x': ..."
        where, what = split_validation(exc)
        detail = f"Invalid value at '{where}': {what}" if where else what
        return ApiError(400, f"Invalid JSON payload received. {detail}")

    def malformed_json(self, exc: Exception) -> ApiError:
        return ApiError(400, f"Invalid JSON payload received. {exc}")

    def fault_error(self, fault: Fault) -> ApiError:
        return ApiError(fault.status, fault.message or _MESSAGES.get(fault.status,
                                                                      _MESSAGES[500]))

    def stream_error(self, err: ApiError) -> Frame:
        """The API's error envelope as the last ``data:`` event."""
        return error_chunk(encoder.encode(error_envelope(err)))

    def api_key(self, headers: Mapping[str, str]) -> str:
        # The endpoints also take ``?key=`` (base.py); a header is what the SDK sends.
        key = headers.get("x-goog-api-key")
        return bearer(headers) if key is None else key

    def claims(self, path: str, headers: Mapping[str, str]) -> bool:
        return path.startswith("/v1beta/") or "x-goog-api-key" in headers

    def context_error(self, model: ModelConfig, prompt_tokens: int) -> ApiError:
        return ApiError(400, f"The input token count ({prompt_tokens}) exceeds the maximum "
                             f"number of tokens allowed ({model.context_window}).")

    def max_tokens_error(self, model: ModelConfig, asked: int) -> ApiError:
        return ApiError(400, f"Unable to submit request because it has a maxOutputTokens value "
                             f"of {asked} but the supported range is from 1 (inclusive) to "
                             f"{model.max_output_tokens + 1} (exclusive). Update the value and "
                             "try again.")


GEMINI = register_provider(Gemini())
