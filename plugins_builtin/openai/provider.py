"""OpenAI's provider strategy: the ``{"error": {...}}`` envelope with OpenAI's codes, its
decode-error and API-key wording, and ``x-request-id`` on every answer.

The base :class:`mockllm.provider.Provider` already speaks OpenAI's envelope (most APIs copy
it); this adds what only OpenAI says. It is also the envelope of an unknown URL that no other
family claims.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import msgspec

from mockllm.errors import ApiError
from mockllm.provider import Provider, register_provider

from . import errors


def _shown(key: str) -> str:
    """The API echoes a key with its middle starred out, never whole."""
    return key[:3] + "*" * 6 + key[-4:] if len(key) > 8 else "*" * len(key)


class OpenAI(Provider):
    name: ClassVar[str] = "openai"
    request_id_header: ClassVar[str | None] = "x-request-id"

    def error_body(self, err: ApiError) -> dict[str, Any]:
        body = super().error_body(err)
        if body["error"]["code"] is None:
            body["error"]["code"] = errors.DEFAULT_CODES.get(err.status)
        return body

    def invalid_body(self, exc: msgspec.ValidationError) -> ApiError:
        return errors.validation_error(exc)

    def malformed_json(self, exc: Exception) -> ApiError:
        return errors.malformed_json(exc)

    def check_api_key(self, headers: Mapping[str, str], keys: list[str],
                      query: bytes = b"") -> None:
        """Keys come as ``Authorization: Bearer KEY`` (what the SDK sends) or ``x-api-key``;
        a wrong or missing key is a 401 ``invalid_api_key`` before the body is read."""
        if not keys:
            return
        key = self.api_key(headers)
        if key in keys:
            return
        if not key:
            raise ApiError(
                401,
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                code="invalid_api_key",
            )
        raise ApiError(
            401,
            f"Incorrect API key provided: {_shown(key)}. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            code="invalid_api_key",
        )


OPENAI = register_provider(OpenAI())
