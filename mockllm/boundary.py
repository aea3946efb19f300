"""The one error boundary: any error from any layer or plugin, as its provider's answer.

Endpoints (:meth:`mockllm.endpoint.Endpoint.__call__`), the app's dispatch (a foreign
implementation that raised, a header-conditioned route nobody claimed) and Starlette's
404/405 all render through :func:`error_response`, so the same error carries the same
envelope and headers (``retry-after``, the rate-limit set, the request id) whichever layer
raised it. Unexpected exceptions are logged here and answered as a 500 in the envelope,
never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import msgspec
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from mockllm.errors import ApiError
from mockllm.provider import Provider, current_request_id, provider_for, providers

log = logging.getLogger("mockllm.boundary")

_encoder = msgspec.json.Encoder()

INTERNAL_MESSAGE = "The server had an error processing your request."


def as_api_error(exc: BaseException, where: str) -> ApiError:
    """``exc`` as the ApiError the client gets (an unexpected one is logged, as a 500)."""
    if isinstance(exc, ApiError):
        return exc
    log.error("%s failed", where, exc_info=exc)
    return ApiError(500, INTERNAL_MESSAGE)


def error_response(provider: Provider, err: ApiError, request_id: str = "",
                   body: dict[str, Any] | None = None) -> Response:
    """``err`` in ``provider``'s envelope (or ``body``, an endpoint's own), with its headers
    (and the request id, if any)."""
    headers = provider.error_headers(err)
    header = provider.request_id_header
    if header is not None and request_id:
        headers = {**headers, header: request_id}
    data = provider.encode_error(err) if body is None else _encoder.encode(body)
    return Response(data, status_code=err.status, headers=headers,
                    media_type="application/json")


def render(provider: Provider, exc: BaseException, where: str,
           request_id: str = "") -> Response:
    """The answer for anything an endpoint raised: its ApiError, 499 for a client that left
    while sending its body, a logged 500 for the rest."""
    if isinstance(exc, ClientDisconnect):
        return Response(status_code=499)  # nobody reads this answer
    return error_response(provider, as_api_error(exc, where), request_id)


def provider_of_url(path: str, headers: Mapping[str, str]) -> Provider:
    """The API an unrouted request speaks: the first strategy that claims its URL or
    headers; the base (OpenAI-style) envelope otherwise."""
    for provider in providers():
        if provider.claims(path, headers):
            return provider
    return provider_for("openai")


def no_route(method: str, path: str, headers: Mapping[str, str], status: int = 404,
             extra: Mapping[str, str] | None = None) -> Response:
    """404 (unknown URL) or 405 (known URL, other method) in the envelope of the API the
    client is speaking."""
    provider = provider_of_url(path, headers)
    err = (provider.not_found(method, path) if status == 404
           else provider.method_not_allowed(method, path))
    if extra:
        err.headers = {**err.headers, **extra}
    rid = provider.new_request_id() if provider.request_id_header else ""
    token = current_request_id.set(rid)  # for envelopes that repeat it
    try:
        return error_response(provider, err, rid)
    finally:
        current_request_id.reset(token)


def foreign_failure(provider: Provider, exc: BaseException, where: str) -> Response:
    """What an implementation that is not an ``Endpoint`` (no boundary of its own) raised:
    its ApiError, or a logged 500 whose message names the request id it carries."""
    if isinstance(exc, ClientDisconnect):
        return Response(status_code=499)
    rid = provider.new_request_id()
    if isinstance(exc, ApiError):
        err = exc
    else:
        log.error("%s failed", where, exc_info=exc)
        err = ApiError(500, f"{INTERNAL_MESSAGE[:-1]} (request id {rid}).")
    token = current_request_id.set(rid)
    try:
        response = error_response(provider, err)
    finally:
        current_request_id.reset(token)
    response.headers[provider.request_id_header or "x-request-id"] = rid
    return response
