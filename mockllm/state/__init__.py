"""Where the server's mutable state lives: one interface, a home per deployment.

The state is what changes while the server runs and what clients expect *one server* to
have: rule counters (sequences, ``times``, ``{counter}``), runtime rules, runtime plugin and
transport switches, the journal, stored Responses objects and quotas.

- ``server: {state: memory}`` (the default, one process): :class:`MemoryState`
  (``mockllm.state.memory``), plain Python objects, no I/O.
- ``--workers N`` or ``server: {state: "redis://HOST:PORT/DB"}``: a store every process
  shares (``mockllm.state.shared``).

Rules of the interface, so the memory home costs nothing on the per-request path:

- The per-request operations are synchronous and cheap: ``RuleCounter.take`` and
  :meth:`State.record`. A shared home makes a round trip only where the answer depends on
  it (a sequence step, ``times``, ``{counter}``); everything else is batched.
- Changes made through the admin API (:mod:`mockllm.state.changes`) are applied to this
  process first (so a bad one is refused with a 400 before anyone else sees it), then
  :meth:`State.publish`-ed: a shared home stores them for processes that start later and
  returns once every running process has applied them.
- Reads for the admin API are ``async`` (a shared home asks the store).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol, TypeVar

from mockllm.engine.counters import RuleCounter
from mockllm.journal import Entry, Journal
from mockllm.observe import Observation
from mockllm.state.changes import Change

T = TypeVar("T")

#: What a process does with a change another process published (awaited if it returns
#: an awaitable: a reload).
Applier = Callable[[Change], Awaitable[object] | None]


class Store(Protocol[T]):
    """A bounded key-value store of one type (stored Responses objects)."""

    async def put(self, key: str, value: T) -> None: ...

    async def get(self, key: str) -> T | None: ...

    async def delete(self, key: str) -> bool: ...


class StateError(Exception):
    """The shared store is unreachable or misconfigured; the message is one readable line."""


class State:
    """The interface every home implements. See the module docstring for its rules."""

    #: This process's own journal: the memory home's journal itself (what in-process tests
    #: read as ``context.journal``); unused by a shared home.
    local_journal: Journal

    #: True when other processes see this state (the admin API then reports it).
    shared: bool = False
    #: ``memory``, ``workers`` or the store's URL (credentials removed), for /metrics and
    #: ``GET /_mockllm/config``.
    describe: str = "memory"

    # -- rule counters ----------------------------------------------------------------

    def counter(self, key: bytes) -> RuleCounter:
        """The counter of the rule whose content is ``key`` (``engine.counters.Counters``)."""
        raise NotImplementedError

    def retain(self, keys: Iterable[bytes]) -> None:
        """Forget the counters of rules that are gone (a reload, cleared runtime rules)."""
        raise NotImplementedError

    def reset_counters(self) -> None:
        """Every rule starts over here (the ``ResetCounters`` change: publishing it empties
        a shared store's counts)."""
        raise NotImplementedError

    async def uses(self, counters: list[RuleCounter]) -> list[int]:
        """Every process's count for each counter (``GET /_mockllm/rules``)."""
        return [c.uses for c in counters]

    # -- quotas -----------------------------------------------------------------------

    def quota_add(self, key: str, window: int, requests: int, tokens: int) -> tuple[int, int]:
        """Add to one quota's counts in one window (atomically, on the request path): the
        (requests, tokens) counted in that window after the addition."""
        raise NotImplementedError

    # -- journal ----------------------------------------------------------------------

    def record(self, obs: Observation) -> None:
        """Keep one finished model request (on the per-request path: no waiting)."""
        raise NotImplementedError

    def recorder(self) -> Callable[[Observation], None]:
        """What the server calls to :meth:`record` (a state may hand out a shorter way)."""
        return self.record

    async def journal(
        self, rule: str | None = None, model: str | None = None, limit: int | None = None,
        endpoint: str | None = None,
    ) -> list[Entry]:
        """Entries oldest first; ``limit`` keeps the newest ``limit`` (0 or None: all)."""
        raise NotImplementedError

    async def clear_journal(self) -> None:
        raise NotImplementedError

    def resize_journal(self, size: int) -> None:
        raise NotImplementedError

    # -- stored objects ---------------------------------------------------------------

    def store(self, name: str, kind: type[T], size: int) -> Store[T]:
        """The store called ``name`` holding up to ``size`` values of type ``kind`` (and,
        in this process's memory, up to ``server.memory.store_bytes`` of them)."""
        raise NotImplementedError

    def budget(self, store_bytes: int, journal_body_bytes: int) -> None:
        """Apply ``server.memory`` to the stores and the journal this process keeps (a
        shared home's store bounds its own memory)."""

    # -- snapshots every process adds to (/metrics) -----------------------------------

    def share(self, name: str, snapshot: Callable[[], bytes]) -> None:
        """Register what this process adds to a :meth:`gather` of ``name``."""
        self.__dict__.setdefault("_snapshots", {})[name] = snapshot

    def snapshot(self, name: str) -> bytes | None:
        """This process's snapshot of ``name`` now (None: nothing shared under it)."""
        make = self.__dict__.get("_snapshots", {}).get(name)
        return None if make is None else make()

    async def gather(self, name: str) -> list[bytes]:
        """Every running process's snapshot of ``name``, taken now (one process: its own)."""
        mine = self.snapshot(name)
        return [] if mine is None else [mine]

    # -- changes and life cycle -------------------------------------------------------

    async def publish(self, change: Change) -> None:
        """Make a change this process already applied hold in every process."""

    async def start(self, apply: Applier) -> None:
        """Connect, and apply the changes published before this process started."""

    async def stop(self) -> None:
        """Flush what is batched and disconnect."""

    def stats(self) -> dict[str, Any]:
        """Counters for /metrics (errors talking to a shared store, batches sent, ...)."""
        return {}


__all__ = ["Applier", "Change", "State", "StateError", "Store"]
