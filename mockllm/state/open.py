"""``server.state`` (or ``--workers``' embedded store) to a :class:`~mockllm.state.State`."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from mockllm.journal import Journal
from mockllm.state import State, StateError
from mockllm.state.memory import MemoryState

_SCHEMES = ("redis", "rediss", "unix")


def open_state(spec: str, journal_size: int) -> State:
    """``memory``, or a store URL (``redis://HOST:PORT/DB``, ``rediss://``, ``unix://PATH``)
    checked to answer now: an unreachable one is a :class:`StateError` at start-up."""
    if spec == "memory":
        return MemoryState(Journal(size=journal_size))
    if urlsplit(spec).scheme not in _SCHEMES:
        raise StateError(f"server.state: expected memory or redis://HOST:PORT/DB, got {spec!r}")
    from mockllm.state.shared import SharedState  # the redis client only when shared

    state = SharedState(spec, journal_size, describe(spec))
    state.check()
    return state


def describe(spec: str) -> str:
    """The URL without its password (for logs, errors and ``GET /_mockllm/config``)."""
    parts = urlsplit(spec)
    if parts.scheme == "unix":
        return "workers (" + parts.path + ")"
    if parts.password is None:
        return spec
    host = parts.hostname or ""
    netloc = (f"{parts.username}:***@" if parts.username else ":***@") + host
    netloc += f":{parts.port}" if parts.port else ""
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
