"""Optional API-key auth: off unless ``server.api_keys`` lists keys.

Keys come as ``Authorization: Bearer KEY`` (what the SDK sends) or ``x-api-key``. A wrong
or missing key is a 401 ``invalid_api_key`` before the body is even read, as with the API.
"""

from __future__ import annotations

from starlette.requests import Request

from mockllm.errors import ApiError


def _shown(key: str) -> str:
    """The API echoes a key with its middle starred out, never whole."""
    return key[:3] + "*" * 6 + key[-4:] if len(key) > 8 else "*" * len(key)


def check_api_key(request: Request, keys: list[str]) -> None:
    """Raise a 401 unless the request carries one of ``keys`` (no-op when ``keys`` is empty)."""
    if not keys:
        return
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    key = token.strip() if scheme.lower() == "bearer" else ""
    if not key:
        key = request.headers.get("x-api-key", "")
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
