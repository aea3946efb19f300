"""A least-recently-used map bounded by bytes, not entries (``server.memory``).

An entry-count bound says nothing about memory: 4,096 cached generations are 4 MB at 100
tokens each and 4 GB at 128k. Every cache and store the server keeps across requests is one
of these, and each is told the size of what it keeps, so a long soak levels off at its
budget whatever the requests look like.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

#: The defaults of ``server.memory`` (config_schema.Memory), here so each cache and the
#: config share one number.
TEXT_CACHE_BYTES = 64 * 1024 * 1024
EMBEDDING_CACHE_BYTES = 32 * 1024 * 1024
STORE_BYTES = 64 * 1024 * 1024
JOURNAL_BODY_BYTES = 4 * 1024 * 1024

#: What a dict slot, its key object and a small value cost on top of the counted payload.
ENTRY_OVERHEAD = 160


class ByteLRU(Generic[K, V]):
    """At most ``budget`` bytes of values (as the caller sizes them, plus
    :data:`ENTRY_OVERHEAD` each); the least recently used go first. A value larger than the
    whole budget is not kept at all.

    Thread-safe: answers built in worker threads (``Endpoint.build``) fill the caches too.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.bytes = 0
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.evictions = 0

    def get(self, key: K) -> V | None:
        # No lock: a hit is on the per-request path (prompt counts, generated texts), and
        # OrderedDict's get and move_to_end are each atomic under the GIL. The one race, a
        # put or an eviction in another thread removing the key between the two, only
        # costs the recency bump of an entry that is gone.
        item = self._items.get(key)
        if item is None:
            return None
        try:
            self._items.move_to_end(key)
        except KeyError:
            pass
        return item[0]

    def put(self, key: K, value: V, size: int) -> None:
        size += ENTRY_OVERHEAD
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            if size > self.budget:
                return
            self._items[key] = (value, size)
            self.bytes += size
            self._shrink()

    def pop(self, key: K) -> V | None:
        with self._lock:
            item = self._items.pop(key, None)
            if item is None:
                return None
            self.bytes -= item[1]
            return item[0]

    def pop_oldest(self) -> None:
        with self._lock:
            if self._items:
                _, (_, size) = self._items.popitem(last=False)
                self.bytes -= size

    def resize(self, budget: int) -> None:
        with self._lock:
            self.budget = budget
            self._shrink()

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.bytes = 0

    def _shrink(self) -> None:
        while self.bytes > self.budget and self._items:
            _, (_, size) = self._items.popitem(last=False)
            self.bytes -= size
            self.evictions += 1

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items
