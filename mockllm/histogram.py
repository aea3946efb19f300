"""A fixed-bucket histogram: bounded memory however long the server runs."""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from typing import Any

#: Bucket bounds (seconds) of the pacing error histogram: fine below 10 ms, where it matters.
PACING_ERROR_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01,
                        0.015, 0.02, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
#: Bucket bounds of latency histograms (TTFT, ITL, e2e); vLLM's, so dashboards line up.
LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5,
                   5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0)


#: Samples :attr:`Histogram.add` may hold before they must be folded in.
BACKLOG = 256


class _Folded:
    """A :class:`Histogram` total, read or set after the samples ``add`` kept are counted:
    the totals live in slots of their own (``slot``), a sample taken by ``add`` costs only an
    append, and whoever reads the histogram sees every sample."""

    def __init__(self, slot: str, doc: str) -> None:
        self.slot, self.__doc__ = slot, doc

    def __get__(self, hist: Histogram | None, owner: type | None = None) -> Any:
        if hist is None:
            return self
        hist.fold()
        return getattr(hist, self.slot)

    def __set__(self, hist: Histogram, value: Any) -> None:
        hist.fold()
        setattr(hist, self.slot, value)


class Histogram:
    """Cumulative-free bucket counts with fixed bounds: O(1) memory, one bisect per sample.

    :meth:`observe` counts a sample at once. :attr:`add` (a list's ``append``, so no Python
    frame: a paced stream calls it once or twice a token) only keeps it; the samples kept are
    counted in one loop when anything is read, or by :meth:`fold` (which the caller of
    ``add`` calls once :attr:`pending` holds :data:`BACKLOG`, so memory stays bounded).
    """

    __slots__ = ("bounds", "_counts", "_sum", "_count", "_max", "pending", "add", "_lock")

    def __init__(self, bounds: Sequence[float] = PACING_ERROR_BUCKETS) -> None:
        self.bounds = tuple(bounds)
        self._counts = [0] * (len(self.bounds) + 1)  # the last one is +Inf
        self._sum = 0.0
        self._count = 0
        self._max = float("-inf")
        #: Samples taken by :attr:`add`, not yet counted.
        self.pending: list[float] = []
        self.add: Callable[[float], None] = self.pending.append
        self._lock = threading.Lock()

    def observe(self, x: float, n: int = 1) -> None:
        self._counts[bisect_left(self.bounds, x)] += n
        # the same sum; ``x * 1`` would be a float made and freed each time
        self._sum += x if n == 1 else x * n
        self._count += n
        if x > self._max:
            self._max = x

    def fold(self) -> None:
        """Count the samples :attr:`add` kept."""
        pending = self.pending
        if not pending:
            return
        # A reader (the test fixtures' thread, a scrape) may fold while the server's thread
        # adds and folds: one fold at a time, and what is added meanwhile waits for the next.
        with self._lock:
            n = len(pending)
            if not n:
                return
            batch = pending[:n]
            del pending[:n]
            # Sorted (in C), a bucket's samples are one slice: a bisect per bound.
            batch.sort()
            counts, below = self._counts, 0
            for i, bound in enumerate(self.bounds):  # bucket i: bounds[i - 1] < x <= bounds[i]
                upto = bisect_right(batch, bound, below)
                counts[i] += upto - below
                below = upto
            counts[-1] += n - below
            self._sum += sum(batch)
            self._count += n
            if batch[-1] > self._max:
                self._max = batch[-1]

    #: What is read or set counts the kept samples first (:class:`_Folded`).
    counts = _Folded("_counts",
                     "Samples per bucket (not cumulative), the last one above every bound.")
    sum = _Folded("_sum", "The samples' sum.")
    count = _Folded("_count", "How many samples.")
    max = _Folded("_max", "The largest sample (-inf: none).")

    def __len__(self) -> int:
        count: int = self.count
        return count

    @property
    def mean(self) -> float:
        total: float = self.sum
        count: int = self.count
        return total / count if count else 0.0

    def quantile(self, q: float) -> float:
        """Linear interpolation inside the bucket, as PromQL's ``histogram_quantile``."""
        count: int = self.count
        if not count:
            return 0.0
        counts: list[int] = self.counts
        rank, seen, lower = q * count, 0, 0.0
        for bound, n in zip(self.bounds, counts, strict=False):
            if n and seen + n >= rank:
                return lower + (bound - lower) * (rank - seen) / n
            seen += n
            lower = bound
        return self.bounds[-1]
