"""The provider strategy: everything that differs between API families, in one object each.

An API family (OpenAI, Anthropic, Ollama, NIM, ...) is one :class:`Provider` subclass,
registered once with :func:`register_provider`. Endpoints name their family
(``Endpoint.provider = "anthropic"``); the engine and the HTTP layer look the strategy up by
that name and never branch on it. A strategy owns:

- the error envelope and its vocabulary (:meth:`Provider.error_body`), the headers every error
  carries (:meth:`Provider.error_headers`: ``retry-after`` and the rate-limit set on a 429,
  whoever raised it);
- how a body that does not decode is worded (:meth:`Provider.decode_error`);
- the API-key check (:meth:`Provider.check_api_key`);
- the mid-stream error event (:meth:`Provider.stream_error`) and what an ``error`` fault says
  (:meth:`Provider.fault_error`);
- the request-id header (:attr:`Provider.request_id_header`);
- the answers for an unknown URL or method (:meth:`Provider.not_found`,
  :meth:`Provider.method_not_allowed`) and which unknown URLs are its own
  (:meth:`Provider.claims`);
- whether the API refuses an over-long prompt or ``max_tokens`` and how it says so
  (:attr:`Provider.enforces_limits`, :meth:`Provider.context_error`,
  :meth:`Provider.max_tokens_error`).

The base class is the envelope most APIs copy (OpenAI's ``{"error": {message, type, param,
code}}``); builtin strategies live with their endpoints in ``plugins_builtin``. No HTTP here:
the engine imports this module, and :mod:`mockllm.boundary` turns its answers into responses.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from typing import Any, ClassVar
from urllib.parse import parse_qsl

import msgspec

from mockllm.engine.schema import ModelConfig
from mockllm.errors import ApiError
from mockllm.faults import Fault
from mockllm.frames import Frame
from mockllm.ids import random_hex

#: What a msgspec decode raises for a body that is not JSON it can read: ``DecodeError``
#: (which ``ValidationError`` subclasses; catch that first), ``RecursionError`` for nesting
#: deeper than msgspec's recursion limit (``{"a":{"a":...}}`` 10,000 deep), and
#: ``UnicodeDecodeError`` for invalid UTF-8 inside a JSON string. All mean "malformed JSON".
MALFORMED = (msgspec.DecodeError, RecursionError, UnicodeDecodeError)

#: The request id of the request being answered (set by the endpoint boundary), for
#: envelopes and stream events that repeat it.
current_request_id: ContextVar[str] = ContextVar("mockllm_request_id", default="")

_encoder = msgspec.json.Encoder()

_TYPES = {
    "invalid_request": "invalid_request_error",
    "authentication": "invalid_request_error",
    "permission": "invalid_request_error",
    "not_found": "invalid_request_error",
    "too_large": "invalid_request_error",
    "rate_limit": "requests",
    "server": "server_error",
    "unavailable": "server_error",
    "overloaded": "server_error",
}


def retry_headers(seconds: float) -> dict[str, str]:
    # ``retry-after`` is whole seconds by the HTTP spec; the SDKs prefer ``retry-after-ms``.
    return {"retry-after": str(max(math.ceil(seconds), 0)),
            "retry-after-ms": str(round(seconds * 1000))}


def _retry_seconds(headers: Mapping[str, str]) -> float:
    ms = headers.get("retry-after-ms")
    if ms is not None and ms.isdigit():
        return int(ms) / 1000
    after = headers.get("retry-after", "1")
    return float(after) if after.replace(".", "", 1).isdigit() else 1.0


class Provider:
    """One API family's wording, envelopes and headers. Subclass, set :attr:`name`, and
    :func:`register_provider` an instance; override only what the family does differently."""

    #: The family's name: ``Endpoint.provider``, ``NeutralRequest.provider``, ``match.provider``.
    name: ClassVar[str] = ""
    #: The API refuses a prompt over the context window and ``max_tokens`` over the model's
    #: output limit with a 400 (Ollama truncates instead).
    enforces_limits: ClassVar[bool] = True
    #: Header that carries a fresh request id on every answer, errors included (None: none).
    request_id_header: ClassVar[str | None] = None

    @functools.cached_property
    def request_id_raw(self) -> bytes:
        """:attr:`request_id_header` as the raw header name (encoded once, not per answer)."""
        return (self.request_id_header or "").encode("latin-1")

    # -- errors ---------------------------------------------------------------------------

    def error_type(self, err: ApiError) -> str:
        return err.type_ or _TYPES.get(err.kind, "invalid_request_error")

    def error_body(self, err: ApiError) -> dict[str, Any]:
        """The JSON envelope of ``err``."""
        return {"error": {"message": err.message, "type": self.error_type(err),
                          "param": err.param, "code": err.code}}

    def error_headers(self, err: ApiError) -> dict[str, str]:
        """The headers of an error answer: a 429 always carries ``retry-after`` and the
        rate-limit set, whether a rule, a control header or the load model raised it."""
        if err.status != 429:
            return err.headers
        headers = self.rate_limit_headers(_retry_seconds(err.headers))
        headers.update(err.headers)
        return headers

    def rate_limit_headers(self, seconds: float) -> dict[str, str]:
        """``retry-after`` plus the ``x-ratelimit-*`` headers clients read to back off."""
        reset = f"{seconds:g}s"
        headers = retry_headers(seconds)
        headers.update({
            "x-ratelimit-limit-requests": "500",
            "x-ratelimit-remaining-requests": "0",
            "x-ratelimit-reset-requests": reset,
            "x-ratelimit-limit-tokens": "30000",
            "x-ratelimit-remaining-tokens": "0",
            "x-ratelimit-reset-tokens": reset,
        })
        return headers

    def quota_headers(self, limits: Sequence[tuple[str, int, int]], reset: float,
                      now: float) -> dict[str, str]:
        """Where a caller stands under a quota: ``(kind, limit, used)`` per limit
        (``requests``/``tokens``), ``reset`` seconds left in the window, ``now`` (epoch)."""
        out: dict[str, str] = {}
        for kind, limit, used in limits:
            out[f"x-ratelimit-limit-{kind}"] = str(limit)
            out[f"x-ratelimit-remaining-{kind}"] = str(max(limit - used, 0))
            out[f"x-ratelimit-reset-{kind}"] = duration(reset)
        return out

    def quota_error(self, model: str, over: str, limit: int, used: int, requested: int,
                    reset: float, headers: dict[str, str]) -> ApiError:
        """The 429 of a request over a quota (``over``: ``requests`` or ``tokens``)."""
        unit = "requests per min (RPM)" if over == "requests" else "tokens per min (TPM)"
        message = (f"Rate limit reached for {model} in organization org-mockllm on {unit}: "
                   f"Limit {limit}, Used {used}, Requested {requested}. Please try again in "
                   f"{duration(reset)}.")
        # OpenAI's 429 names the exhausted limit as its type.
        return ApiError(429, message, code="rate_limit_exceeded", type_=over, headers=headers)

    def status_message(self, status: int) -> str | None:
        """What the API says for an error a rule gives by status alone (None: the engine's
        default, OpenAI's wording)."""
        return None

    def encode_error(self, err: ApiError) -> bytes:
        return _encoder.encode(self.error_body(err))

    # -- request bodies -------------------------------------------------------------------

    def decode_error(self, exc: Exception) -> ApiError:
        """The 400 for a body a msgspec decoder refused (``ValidationError`` or malformed)."""
        if isinstance(exc, msgspec.ValidationError):
            return self.invalid_body(exc)
        return self.malformed_json(exc)

    def invalid_body(self, exc: msgspec.ValidationError) -> ApiError:
        where, what = split_validation(exc)
        if where is not None and not where.startswith("["):
            return ApiError(400, f"Invalid value for '{where}': {what}.", param=where)
        return ApiError(400, str(exc), param=missing_field(str(exc)))

    def malformed_json(self, exc: Exception) -> ApiError:
        return ApiError(400, f"The request body is not valid JSON: {exc}")

    def unknown_field(self, name: str) -> ApiError:
        """Strict mode's 400 for a request field the API does not know."""
        return ApiError(400, f"Unrecognized request argument supplied: {name}",
                        code="unknown_parameter", param=name)

    # -- auth -----------------------------------------------------------------------------

    def api_key(self, headers: Mapping[str, str], query: bytes = b"") -> str:
        """The API key the request carries where this API's clients send it ('' without
        one): what the key check compares and a ``per: api_key`` quota counts by. ``query``
        is the raw query string, for an API that also takes a key there (Gemini's
        ``?key=``); the others ignore it, so it costs them nothing."""
        return bearer(headers) or headers.get("x-api-key", "")

    def check_api_key(self, headers: Mapping[str, str], keys: list[str],
                      query: bytes = b"") -> None:
        """Raise a 401 unless the request carries one of ``keys`` (as ``Authorization:
        Bearer KEY`` or ``x-api-key``); a no-op when ``keys`` is empty."""
        if not keys:
            return
        key = self.api_key(headers, query)
        if key in keys:
            return
        raise ApiError(401, "A valid API key is required." if not key else "Invalid API key.")

    # -- streams and faults ---------------------------------------------------------------

    def fault_error(self, fault: Fault) -> ApiError:
        """The error an ``error`` fault stands for."""
        return ApiError(fault.status, fault.message or "The server had an error while "
                                                       "processing your request. Sorry about that!")

    def stream_error(self, err: ApiError) -> Frame:
        """The event that ends a stream with ``err`` (the transport sends no terminator)."""
        return Frame(None, self.encode_error(err))

    # -- routing --------------------------------------------------------------------------

    def claims(self, path: str, headers: Mapping[str, str]) -> bool:
        """Whether an unknown URL (no route) is this API's, so it answers in its envelope."""
        return False

    def not_found(self, method: str, path: str) -> ApiError:
        return ApiError(404, f"Invalid URL ({method} {path})")

    def method_not_allowed(self, method: str, path: str) -> ApiError:
        return ApiError(405, f"Method {method} not allowed for {path}")

    def new_request_id(self) -> str:
        return "req_" + random_hex(12)

    # -- model limits (the engine asks) ---------------------------------------------------

    def context_error(self, model: ModelConfig, prompt_tokens: int) -> ApiError:
        """The 400 for a prompt over the context window."""
        return ApiError(
            400,
            f"This model's maximum context length is {model.context_window} tokens. However, "
            f"your messages resulted in {prompt_tokens} tokens. Please reduce the length of "
            "the messages.",
            param="messages",
            code="context_length_exceeded",
        )

    def max_tokens_error(self, model: ModelConfig, asked: int) -> ApiError:
        """The 400 for ``max_tokens`` above the model's output limit."""
        return ApiError(
            400,
            f"max_tokens is too large: {asked}. This model supports at most "
            f"{model.max_output_tokens} completion tokens, whereas you provided {asked}.",
            param="max_tokens",
            code="invalid_value",
        )


def duration(seconds: float) -> str:
    """OpenAI's reset format: ``"59.2s"``, ``"1m0s"``, ``"350ms"``."""
    if seconds < 1:
        return f"{max(round(seconds * 1000), 1)}ms"
    if seconds < 60:
        return f"{seconds:.3g}s"
    return f"{int(seconds // 60)}m{int(seconds % 60)}s"


def query_value(query: bytes, name: str) -> str | None:
    """The last value of ``name`` in a raw query string (as Starlette's ``query_params``
    reads it), or None; parsed only when ``name=`` occurs in it."""
    if (name + "=").encode() not in query:
        return None
    value = None
    for key, val in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if key == name:
            value = val
    return value


def bearer(headers: Mapping[str, str]) -> str:
    """The token of an ``Authorization: Bearer TOKEN`` header ('' without one)."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def split_validation(exc: msgspec.ValidationError) -> tuple[str | None, str]:
    """msgspec's ``"Expected `str`, got `int` - at `$.messages[0].content`"`` as
    (``"messages[0].content"``, ``"Expected `str`, got `int`"``); (None, text) without a
    location. The one parser of msgspec's wording: strategies word the parts their way."""
    text = str(exc)
    what, sep, where = text.partition(" - at `$")
    if not sep:
        return None, text
    where = where.rstrip("`")
    return (where[1:] if where.startswith(".") else where) or None, what


def missing_field(what: str) -> str | None:
    """The field of msgspec's ``Object missing required field `NAME```, else None."""
    prefix = "Object missing required field `"
    return what[len(prefix):].rstrip("`") if what.startswith(prefix) else None


_DEFAULT = Provider()
_PROVIDERS: dict[str, Provider] = {}


def register_provider(provider: Provider) -> Provider:
    """Make ``provider`` the strategy of ``provider.name`` (the last registration wins)."""
    _PROVIDERS[provider.name] = provider
    return provider


def provider_for(name: str) -> Provider:
    """The strategy registered for ``name``; the base envelope for a family nobody
    registered (a plugin's own endpoints)."""
    return _PROVIDERS.get(name, _DEFAULT)


def providers() -> list[Provider]:
    """Every registered strategy, in registration order."""
    return list(_PROVIDERS.values())
