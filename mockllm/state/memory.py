"""``server: {state: memory}``: the state of one process, in plain Python objects."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from mockllm.bytecache import STORE_BYTES, ByteLRU
from mockllm.engine.counters import LocalCounters, RuleCounter
from mockllm.journal import Entry, Journal
from mockllm.observe import Observation
from mockllm.state import State, Store
from mockllm.state.codec import ValueCodec

T = TypeVar("T")


class BoundedStore(Generic[T]):
    """At most ``size`` values and ``max_bytes`` bytes; the least recently used go first.

    Values are kept msgpack-encoded, as a shared store keeps them: their size is then
    exact (a stored Response as Python objects costs several times its encoding), and a
    get returns a copy no caller can change in place."""

    def __init__(self, size: int, kind: type[T], max_bytes: int = STORE_BYTES) -> None:
        self.size = size
        self._items: ByteLRU[str, bytes] = ByteLRU(max_bytes)
        self._codec = ValueCodec(kind)

    def put_now(self, key: str, value: T) -> None:
        data = self._codec.encode(value)
        self._items.put(key, data, len(data))
        while len(self._items) > self.size:
            self._items.pop_oldest()

    @property
    def max_bytes(self) -> int:
        return self._items.budget

    def resize(self, max_bytes: int) -> None:
        self._items.resize(max_bytes)

    async def put(self, key: str, value: T) -> None:
        self.put_now(key, value)

    async def get(self, key: str) -> T | None:
        data = self._items.get(key)
        return None if data is None else self._codec.decode(data)

    async def delete(self, key: str) -> bool:
        return self._items.pop(key) is not None

    @property
    def bytes(self) -> int:
        return self._items.bytes

    def __len__(self) -> int:
        return len(self._items)


class QuotaCounts:
    """(requests, tokens) per quota key in its current window; older windows are dropped."""

    def __init__(self) -> None:
        self._counts: dict[str, list[int]] = {}

    def add(self, key: str, window: int, requests: int, tokens: int) -> tuple[int, int]:
        c = self._counts.get(key)
        if c is None or c[0] != window:
            c = self._counts[key] = [window, 0, 0]
        c[1] += requests
        c[2] += tokens
        return c[1], c[2]


class MemoryState(State):
    """Counters, journal and stores of this process; changes need no publishing."""

    def __init__(self, journal: Journal | None = None) -> None:
        self.local_journal = journal if journal is not None else Journal()
        self._counters = LocalCounters()
        self._stores: dict[str, BoundedStore[object]] = {}
        self._quotas = QuotaCounts()
        self._store_bytes = STORE_BYTES

    def counter(self, key: bytes) -> RuleCounter:
        return self._counters.counter(key)

    def retain(self, keys: Iterable[bytes]) -> None:
        self._counters.retain(keys)

    def reset_counters(self) -> None:
        self._counters.reset()

    def quota_add(self, key: str, window: int, requests: int, tokens: int) -> tuple[int, int]:
        return self._quotas.add(key, window, requests, tokens)

    def record(self, obs: Observation) -> None:
        self.local_journal.record(obs)

    def recorder(self) -> Callable[[Observation], None]:
        if type(self).record is MemoryState.record:  # not overridden by a subclass
            return self.local_journal.record  # the journal's own: one call less a request
        return self.record

    async def journal(
        self, rule: str | None = None, model: str | None = None, limit: int | None = None,
        endpoint: str | None = None,
    ) -> list[Entry]:
        return self.local_journal.query(rule, model, limit, endpoint=endpoint)

    async def clear_journal(self) -> None:
        self.local_journal.clear()

    def resize_journal(self, size: int) -> None:
        self.local_journal.resize(size)

    def store(self, name: str, kind: type[T], size: int) -> Store[T]:
        existing = self._stores.get(name)
        if existing is None:
            existing = self._stores[name] = BoundedStore(
                size, kind, self._store_bytes)
        return existing  # type: ignore[return-value]

    def budget(self, store_bytes: int, journal_body_bytes: int) -> None:
        self._store_bytes = store_bytes
        for store in self._stores.values():
            store.resize(store_bytes)
        self.local_journal.budget(journal_body_bytes)
