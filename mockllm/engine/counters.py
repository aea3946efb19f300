"""How many times each rule answered: what sequences, ``times`` and ``{counter}`` read.

The engine asks a :class:`Counters` for one :class:`RuleCounter` per rule, keyed by the
rule's content, so an unchanged rule keeps its count over a reload. Where the counters live
is the state's business (``mockllm.state``): :class:`LocalCounters` is this process's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class RuleCounter:
    """One rule's count. This class counts in this process; a shared state subclasses it."""

    __slots__ = ("uses",)

    def __init__(self) -> None:
        self.uses = 0

    def exhausted(self, limit: int | None) -> bool:
        """Known used up (``times``), without asking anyone: checked while matching."""
        return limit is not None and self.uses >= limit

    def take(self, limit: int | None, exact: bool) -> int | None:
        """Count one answer: the uses before it, or None once ``limit`` answers were given.

        ``exact`` says the answer depends on the count (a sequence step, ``times``, a
        template); without it a shared state may count later, in a batch.
        """
        uses = self.uses
        if limit is not None and uses >= limit:
            return None
        self.uses = uses + 1
        return uses


class Counters(Protocol):
    def counter(self, key: bytes) -> RuleCounter:
        """The counter of the rule whose content is ``key`` (the same object while kept)."""

    def retain(self, keys: Iterable[bytes]) -> None:
        """Forget the counters of rules that are gone (a reload, cleared runtime rules)."""


class LocalCounters:
    """Counters of this process."""

    def __init__(self) -> None:
        self._counters: dict[bytes, RuleCounter] = {}

    def counter(self, key: bytes) -> RuleCounter:
        c = self._counters.get(key)
        if c is None:
            c = self._counters[key] = RuleCounter()
        return c

    def retain(self, keys: Iterable[bytes]) -> None:
        keep = set(keys)
        self._counters = {k: v for k, v in self._counters.items() if k in keep}

    def reset(self) -> None:
        for c in self._counters.values():
            c.uses = 0
