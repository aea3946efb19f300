"""Anthropic's provider strategy: the ``{"type": "error", ...}`` envelope (with the request
id), its vocabulary and wording, the ``x-api-key`` check, the ``event: error`` that ends a
stream, ``request-id`` on every answer and the ``anthropic-ratelimit-*`` headers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

import msgspec

from mockllm.engine.schema import ModelConfig
from mockllm.errors import ApiError
from mockllm.faults import Fault
from mockllm.frames import Frame
from mockllm.provider import (
    Provider,
    bearer,
    current_request_id,
    missing_field,
    register_provider,
    split_validation,
)

from .render import new_id
from .wire import encoder

_ERROR_TYPES = {
    "invalid_request": "invalid_request_error",
    "authentication": "authentication_error",
    "permission": "permission_error",
    "not_found": "not_found_error",
    "too_large": "request_too_large",
    "rate_limit": "rate_limit_error",
    "server": "api_error",
    "unavailable": "api_error",
    "overloaded": "overloaded_error",
}

#: The API's messages for a mid-stream error event.
_STREAM_ERRORS = {529: "Overloaded", 500: "Internal server error", 429: "Rate limited"}


class Anthropic(Provider):
    name: ClassVar[str] = "anthropic"
    request_id_header: ClassVar[str | None] = "request-id"

    def error_type(self, err: ApiError) -> str:
        return err.type_ or _ERROR_TYPES.get(err.kind, "api_error")

    def error_body(self, err: ApiError) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "error", "error": {"type": self.error_type(err), "message": err.message},
        }
        rid = current_request_id.get()
        if rid:
            body["request_id"] = rid
        return body

    def rate_limit_headers(self, seconds: float) -> dict[str, str]:
        headers = super().rate_limit_headers(seconds)
        headers.update({
            "anthropic-ratelimit-requests-limit": "500",
            "anthropic-ratelimit-requests-remaining": "0",
            "anthropic-ratelimit-tokens-limit": "30000",
            "anthropic-ratelimit-tokens-remaining": "0",
        })
        return headers

    def quota_headers(self, limits: Sequence[tuple[str, int, int]], reset: float,
                      now: float) -> dict[str, str]:
        at = datetime.fromtimestamp(now + reset, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        out: dict[str, str] = {}
        for kind, limit, used in limits:
            out[f"anthropic-ratelimit-{kind}-limit"] = str(limit)
            out[f"anthropic-ratelimit-{kind}-remaining"] = str(max(limit - used, 0))
            out[f"anthropic-ratelimit-{kind}-reset"] = at
        return out

    def quota_error(self, model: str, over: str, limit: int, used: int, requested: int,
                    reset: float, headers: dict[str, str]) -> ApiError:
        what = "requests" if over == "requests" else "input tokens"
        message = (f"This request would exceed your organization's rate limit of {limit} "
                   f"{what} per minute. For details, refer to: "
                   "https://docs.claude.com/en/api/rate-limits.")
        return ApiError(429, message, code="rate_limit_exceeded", type_="rate_limit_error",
                        headers=headers)

    def invalid_body(self, exc: msgspec.ValidationError) -> ApiError:
        # The API says "path: problem" (``messages.0.content: Field required``).
        where, what = split_validation(exc)
        path = (where or "").replace("[", ".").replace("]", "")
        field = missing_field(what)
        if field is not None:
            return ApiError(400, f"{path + '.' if path else ''}{field}: Field required")
        return ApiError(400, f"{path or 'body'}: {what}")

    def malformed_json(self, exc: Exception) -> ApiError:
        return ApiError(400, f"There was an error parsing the body of your request: {exc}")

    def unknown_field(self, name: str) -> ApiError:
        return ApiError(400, f"{name}: Extra inputs are not permitted")

    def api_key(self, headers: Mapping[str, str], query: bytes = b"") -> str:
        key = headers.get("x-api-key")
        return bearer(headers) if key is None else key

    def check_api_key(self, headers: Mapping[str, str], keys: list[str],
                      query: bytes = b"") -> None:
        """``x-api-key`` (or a bearer token) must be a configured key, when any are."""
        if not keys:
            return
        key = headers.get("x-api-key")
        if key is None:
            key = bearer(headers) or None
        if key is None:
            raise ApiError(401, "x-api-key header is required")
        if key not in keys:
            raise ApiError(401, "invalid x-api-key")

    def status_message(self, status: int) -> str | None:
        """A rule's error given by status alone says what the API says for it (the same
        words as an ``error`` fault's)."""
        return _STREAM_ERRORS.get(status)

    def fault_error(self, fault: Fault) -> ApiError:
        """``status: 529`` is "Overloaded", as the API says it."""
        message = fault.message or _STREAM_ERRORS.get(fault.status, "Internal server error")
        return ApiError(fault.status, message)

    def stream_error(self, err: ApiError) -> Frame:
        """A mid-stream failure, as the API sends one (the stream ends after it)."""
        body = {"type": "error", "error": {"type": self.error_type(err), "message": err.message}}
        return Frame("error", encoder.encode(body))

    def claims(self, path: str, headers: Mapping[str, str]) -> bool:
        return path.startswith("/v1/messages") or "anthropic-version" in headers

    def new_request_id(self) -> str:
        return new_id("req")

    def context_error(self, model: ModelConfig, prompt_tokens: int) -> ApiError:
        return ApiError(400, f"prompt is too long: {prompt_tokens} tokens > "
                             f"{model.context_window} maximum")

    def max_tokens_error(self, model: ModelConfig, asked: int) -> ApiError:
        return ApiError(400, f"max_tokens: {asked} > {model.max_output_tokens}, which is the "
                             f"maximum allowed number of output tokens for {model.id}")


ANTHROPIC = register_provider(Anthropic())
