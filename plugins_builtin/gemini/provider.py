"""Gemini's provider strategy: Google's ``{"error": {"code", "message", "status"}}``
envelope, how a body that does not decode is worded (``Invalid JSON payload received.``),
its API-key check (header, ``?key=`` or bearer), its fault, quota and limit wording, the
error chunk that ends a stream, and the unknown URLs it claims (``/v1beta/``, or an
``x-goog-api-key`` header)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import msgspec

from mockllm.engine.schema import ModelConfig
from mockllm.errors import ApiError
from mockllm.faults import Fault
from mockllm.frames import Frame
from mockllm.provider import (
    Provider,
    bearer,
    query_value,
    register_provider,
    split_validation,
)

from .base import _MESSAGES, error_envelope
from .render import error_chunk
from .wire import encoder

_NO_KEY = ("Method doesn't allow unregistered callers (callers without established identity)."
           " Please use API Key or other form of API consumer identity to call this API.")
_BAD_KEY = "API key not valid. Please pass a valid API key."


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

    def status_message(self, status: int) -> str | None:
        """A rule's error given by status alone says what Google says for it (the same
        words as an ``error`` fault's): "Resource has been exhausted" for a 429..."""
        return _MESSAGES.get(status)

    def fault_error(self, fault: Fault) -> ApiError:
        return ApiError(fault.status, fault.message or _MESSAGES.get(fault.status,
                                                                      _MESSAGES[500]))

    def stream_error(self, err: ApiError) -> Frame:
        """The API's error envelope as the last ``data:`` event."""
        return error_chunk(encoder.encode(error_envelope(err)))

    def api_key(self, headers: Mapping[str, str], query: bytes = b"") -> str:
        """``x-goog-api-key`` (what the SDK sends), else ``?key=`` (what curl examples and
        the REST docs use), else a bearer token; '' without one."""
        key = headers.get("x-goog-api-key") or query_value(query, "key")
        return bearer(headers) if key is None else key

    def check_api_key(self, headers: Mapping[str, str], keys: list[str],
                      query: bytes = b"") -> None:
        """Google refuses a request without a key with 403 PERMISSION_DENIED and one with an
        unknown key with 400 INVALID_ARGUMENT (``reason: API_KEY_INVALID``), not a 401."""
        if not keys:
            return
        key = self.api_key(headers, query)
        if not key:
            raise ApiError(403, _NO_KEY)
        if key not in keys:
            raise ApiError(400, _BAD_KEY, code="API_KEY_INVALID")

    def quota_error(self, model: str, over: str, limit: int, used: int, requested: int,
                    reset: float, headers: dict[str, str]) -> ApiError:
        """Google's 429: RESOURCE_EXHAUSTED with its quota wording (the base class's type,
        the exhausted limit, would become the envelope's ``status``)."""
        metric = ("generate_content_requests" if over == "requests"
                  else "generate_content_input_token_count")
        message = ("You exceeded your current quota, please check your plan and billing "
                   "details. For more information on this error, head to: "
                   "https://ai.google.dev/gemini-api/docs/rate-limits.\n"
                   f"* Quota exceeded for metric: generativelanguage.googleapis.com/{metric}, "
                   f"limit: {limit}, model: {model}\nPlease retry in {reset:.1f}s.")
        return ApiError(429, message, headers=headers)

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
