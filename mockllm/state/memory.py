"""``server: {state: memory}``: the state of one process, in plain Python objects."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Generic, TypeVar

from mockllm.engine.counters import LocalCounters, RuleCounter
from mockllm.journal import Entry, Journal
from mockllm.observe import Observation
from mockllm.state import State, Store

T = TypeVar("T")


class BoundedStore(Generic[T]):
    """Insertion-ordered, at most ``size`` values; the oldest is dropped first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, T] = OrderedDict()

    def put_now(self, key: str, value: T) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    async def put(self, key: str, value: T) -> None:
        self.put_now(key, value)

    async def get(self, key: str) -> T | None:
        return self._items.get(key)

    async def delete(self, key: str) -> bool:
        return self._items.pop(key, None) is not None

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
            existing = self._stores[name] = BoundedStore(size)
        return existing  # type: ignore[return-value]
