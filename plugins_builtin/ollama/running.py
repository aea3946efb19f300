"""Which models are "loaded", for ``GET /api/ps``: Ollama's ``keep_alive`` bookkeeping.

A chat, generate or embed request loads its model until ``keep_alive`` from now (Ollama's
default is five minutes); ``keep_alive: 0`` unloads it and a negative value keeps it loaded
for good. The expiry times live in the server state (:mod:`mockllm.state`), so workers and
hosts that share state list the same models.
"""

from __future__ import annotations

import re
import time

from mockllm import ApiError
from mockllm.context import ServerContext
from mockllm.state import Store

#: Ollama's ``OLLAMA_KEEP_ALIVE`` default.
DEFAULT_KEEP_ALIVE_S = 300.0
#: What a negative ``keep_alive`` (never unload) expires at: Ollama reports a date ~290
#: years ahead (Go's largest duration); any far future reads the same to a client.
FOREVER_NS = (2318 - 1970) * 365 * 86_400 * 1_000_000_000
#: More models than a GPU holds; the store drops the oldest first.
_STORE_SIZE = 256

_DURATION = re.compile(r"(-?\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_S = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def keep_alive_seconds(value: str | int | float | None) -> float:
    """``keep_alive`` in seconds: a number of seconds or a Go duration (``"5m"``,
    ``"1h30m"``, ``"-1"``); None is the default. A value Ollama cannot read is its 400."""
    if value is None:
        return DEFAULT_KEEP_ALIVE_S
    if isinstance(value, int | float):
        return float(value)
    text = value.strip()
    try:
        return float(text)  # Ollama reads a bare number string as seconds
    except ValueError:
        pass
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    parts = _DURATION.findall(body)
    if not parts or "".join(n + u for n, u in parts) != body:
        raise ApiError(400, f'time: invalid duration "{value}"')
    return sign * sum(float(n) * _UNIT_S[u] for n, u in parts)


class Running:
    """The loaded models and when each expires (epoch nanoseconds)."""

    def __init__(self, context: ServerContext) -> None:
        self.store: Store[int] = context.state.store("ollama.running", int, _STORE_SIZE)

    async def touch(self, model: str, keep_alive: str | int | float | None) -> bool:
        """Note a request for ``model``; False when it unloads the model (keep_alive 0)."""
        seconds = keep_alive_seconds(keep_alive)
        if seconds == 0:
            await self.store.delete(model)
            return False
        now = time.time_ns()
        await self.store.put(model, FOREVER_NS if seconds < 0 else now + int(seconds * 1e9))
        return True

    async def expiry(self, model: str) -> int | None:
        """When ``model`` unloads (epoch ns), or None when it is not loaded."""
        expires = await self.store.get(model)
        if expires is None or expires <= time.time_ns():
            return None
        return expires
