"""A provider-neutral API error; each provider's endpoint renders it in its own envelope."""

from __future__ import annotations

from typing import Literal

ErrorKind = Literal[
    "invalid_request",  # 400
    "authentication",  # 401
    "permission",  # 403
    "not_found",  # 404
    "too_large",  # 413
    "rate_limit",  # 429
    "server",  # 500
    "unavailable",  # 503
    "overloaded",  # 529
]

_KIND_BY_STATUS: dict[int, ErrorKind] = {
    400: "invalid_request",
    401: "authentication",
    403: "permission",
    404: "not_found",
    413: "too_large",
    422: "invalid_request",
    429: "rate_limit",
    503: "unavailable",
    529: "overloaded",
}


def kind_for_status(status: int) -> ErrorKind:
    """The neutral kind a bare HTTP status maps to (5xx default to ``server``)."""
    return _KIND_BY_STATUS.get(status, "server" if status >= 500 else "invalid_request")


class ApiError(Exception):
    """Raised anywhere below an endpoint; the endpoint turns it into its provider's envelope.

    ``code`` and ``type_`` let a rule force the exact provider strings; otherwise each
    provider maps ``kind`` to its own vocabulary.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: ErrorKind | None = None,
        param: str | None = None,
        code: str | None = None,
        type_: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind: ErrorKind = kind or kind_for_status(status)
        self.param = param
        self.code = code
        self.type_ = type_
        self.headers = headers or {}
