"""Declarations of where an endpoint key is mounted."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RouteSpec:
    """One (methods, path) an endpoint key answers.

    ``when_header`` lets two keys share a (method, path): the route tries the key whose header
    is present first (``GET /v1/models`` with ``anthropic-version`` is Anthropic's listing).
    ``when_query`` does the same for a query parameter; with both, either one selects the key
    (Gemini's ``GET /v1/models`` carries its key as ``x-goog-api-key`` or ``?key=``).
    """

    path: str
    methods: tuple[str, ...]
    when_header: str | None = None
    when_query: str | None = None


@dataclass(frozen=True)
class EndpointSpec:
    """The public declaration of an endpoint key: its routes."""

    key: str
    routes: tuple[RouteSpec, ...]
