"""Azure OpenAI's provider strategy: OpenAI's envelope and wording, except where Azure's
gateway answers itself: its ``{"error": {"code", "message"}}`` bodies (a bad key, no such
deployment, a missing ``api-version``, an unknown URL under ``/openai/``) and its ``api-key``
check (a bearer token is taken too: Entra ID, or the plain OpenAI client on ``/openai/v1/``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from mockllm.errors import ApiError
from mockllm.provider import bearer, register_provider
from plugins_builtin.openai.provider import OpenAI

#: Codes of the gateway's own bodies (no ``type``/``param``); the rest is OpenAI's envelope.
_AZURE_CODES = frozenset({"401", "404", "DeploymentNotFound"})

NO_KEY = ("Access denied due to invalid subscription key or wrong API endpoint. Make sure "
          "to provide a valid key for an active subscription and use a correct regional API "
          "endpoint for your resource.")


class Azure(OpenAI):
    name: ClassVar[str] = "azure"

    def error_body(self, err: ApiError) -> dict[str, Any]:
        if err.code in _AZURE_CODES:
            return {"error": {"code": err.code, "message": err.message}}
        return super().error_body(err)

    def api_key(self, headers: Mapping[str, str], query: bytes = b"") -> str:
        """``api-key`` (what AzureOpenAI sends), else a bearer token."""
        key = headers.get("api-key")
        return bearer(headers) if key is None else key

    def check_api_key(self, headers: Mapping[str, str], keys: list[str],
                      query: bytes = b"") -> None:
        if keys and self.api_key(headers) not in keys:
            raise ApiError(401, NO_KEY, code="401")

    def claims(self, path: str, headers: Mapping[str, str]) -> bool:
        return path.startswith("/openai/")

    def not_found(self, method: str, path: str) -> ApiError:
        return ApiError(404, "Resource not found", code="404")


AZURE = register_provider(Azure())
