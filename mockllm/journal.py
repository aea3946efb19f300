"""The request journal: a bounded ring buffer of what was asked and answered."""

from __future__ import annotations

from collections import deque
from typing import Any

import msgspec

#: Bodies are kept up to this many bytes, so a long load test cannot eat memory.
BODY_LIMIT = 4096


class Entry(msgspec.Struct, omit_defaults=True):
    time: float
    endpoint: str
    model: str | None
    rule: str | None
    status: int
    prompt_tokens: int = 0
    completion_tokens: int = 0
    ttft_ms: float | None = None
    total_ms: float | None = None
    body: str = ""


class Journal:
    def __init__(self, size: int = 1000) -> None:
        self._entries: deque[Entry] = deque(maxlen=size)

    def resize(self, size: int) -> None:
        if size != self._entries.maxlen:
            self._entries = deque(self._entries, maxlen=size)

    def record(self, entry: Entry) -> None:
        self._entries.append(entry)

    @staticmethod
    def clip(body: bytes) -> str:
        return body[:BODY_LIMIT].decode("utf-8", errors="replace")

    def query(
        self, rule: str | None = None, model: str | None = None, limit: int | None = None,
        endpoint: str | None = None,
    ) -> list[Entry]:
        """Entries oldest first; ``limit`` keeps the newest ``limit`` (0 or None: all)."""
        out = [
            e for e in self._entries
            if (rule is None or e.rule == rule) and (model is None or e.model == model)
            and (endpoint is None or e.endpoint == endpoint)
        ]
        return out[-limit:] if limit else out

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def as_json(self, entries: list[Entry]) -> Any:
        return msgspec.to_builtins(entries)
