"""The request journal: a bounded ring buffer of what was asked and answered."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import msgspec

from mockllm.bytecache import JOURNAL_BODY_BYTES
from mockllm.observe import Observation

#: Each body is kept up to this many bytes, so a long load test cannot eat memory.
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
    #: The client left before the answer was ready: its wait was cancelled, its slot freed.
    client_disconnected: bool = False


class Journal:
    """Keeps each request's :class:`Observation` as it is, and builds the :class:`Entry`
    only when someone reads the journal: recording is on the per-request path, reading is
    not. An entry's wall-clock ``time`` is worked out at read time from the observation's
    monotonic end, so recording needs no clock call."""

    def __init__(self, size: int = 1000, body_bytes: int = JOURNAL_BODY_BYTES) -> None:
        self._entries: deque[Observation] = deque(maxlen=size)
        self.body_bytes = body_bytes
        #: Bytes of the bodies kept; ``_bodied`` is the index (into ``_entries``, counted
        #: from the oldest) of the oldest entry that still has its body.
        self.kept = 0
        self._bodied = 0

    def resize(self, size: int) -> None:
        if size != self._entries.maxlen:
            self._entries = deque(self._entries, maxlen=size)
            self._recount()

    def budget(self, body_bytes: int) -> None:
        self.body_bytes = body_bytes
        self._trim()

    def record(self, obs: Observation) -> None:
        size = len(obs.body)
        if size > BODY_LIMIT:
            obs.body = obs.body[:BODY_LIMIT]
            size = BODY_LIMIT
        entries = self._entries
        kept = self.kept + size
        if len(entries) == entries.maxlen:  # the append below drops the oldest
            kept -= len(entries[0].body)
            if self._bodied:
                self._bodied -= 1
        entries.append(obs)
        self.kept = kept
        if kept > self.body_bytes:
            self._trim()

    def _trim(self) -> None:
        entries = self._entries
        while self.kept > self.body_bytes and self._bodied < len(entries):
            old = entries[self._bodied]
            self.kept -= len(old.body)
            old.body = b""
            self._bodied += 1

    def _recount(self) -> None:
        self.kept = sum(len(o.body) for o in self._entries)
        self._bodied = 0
        self._trim()

    @staticmethod
    def entry(when: float, obs: Observation) -> Entry:
        return Entry(
            time=when, endpoint=obs.endpoint, model=obs.model, rule=obs.rule,
            status=obs.status, prompt_tokens=obs.prompt_tokens,
            completion_tokens=obs.completion_tokens,
            ttft_ms=None if obs.ttft is None else round(obs.ttft * 1000, 3),
            total_ms=None if obs.total is None else round(obs.total * 1000, 3),
            body=obs.body.decode("utf-8", errors="replace"),
            client_disconnected=obs.disconnected,
        )

    def query(
        self, rule: str | None = None, model: str | None = None, limit: int | None = None,
        endpoint: str | None = None,
    ) -> list[Entry]:
        """Entries oldest first; ``limit`` keeps the newest ``limit`` (0 or None: all)."""
        out = [
            o for o in self._entries
            if (rule is None or o.rule == rule) and (model is None or o.model == model)
            and (endpoint is None or o.endpoint == endpoint)
        ]
        # Monotonic -> wall clock: right unless the system clock was stepped since.
        offset = time.time() - time.monotonic()
        return [self.entry(offset + (o.end if o.end is not None else o.start), o)
                for o in (out[-limit:] if limit else out)]

    def clear(self) -> None:
        self._entries.clear()
        self.kept = self._bodied = 0

    def __len__(self) -> int:
        return len(self._entries)

    def as_json(self, entries: list[Entry]) -> Any:
        return msgspec.to_builtins(entries)
