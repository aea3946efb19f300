"""A fixed-bucket histogram: bounded memory however long the server runs."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

#: Bucket bounds (seconds) of the pacing error histogram: fine below 10 ms, where it matters.
PACING_ERROR_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01,
                        0.015, 0.02, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
#: Bucket bounds of latency histograms (TTFT, ITL, e2e); vLLM's, so dashboards line up.
LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5,
                   5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0)


class Histogram:
    """Cumulative-free bucket counts with fixed bounds: O(1) memory, one bisect per sample."""

    __slots__ = ("bounds", "counts", "sum", "count", "max")

    def __init__(self, bounds: Sequence[float] = PACING_ERROR_BUCKETS) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)  # the last one is +Inf
        self.sum = 0.0
        self.count = 0
        self.max = float("-inf")

    def observe(self, x: float, n: int = 1) -> None:
        self.counts[bisect_left(self.bounds, x)] += n
        self.sum += x * n
        self.count += n
        if x > self.max:
            self.max = x


    def __len__(self) -> int:
        return self.count

    @property
    def mean(self) -> float:
        return self.sum / self.count if self.count else 0.0

    def quantile(self, q: float) -> float:
        """Linear interpolation inside the bucket, as PromQL's ``histogram_quantile``."""
        if not self.count:
            return 0.0
        rank, seen, lower = q * self.count, 0, 0.0
        for bound, n in zip(self.bounds, self.counts, strict=False):
            if n and seen + n >= rank:
                return lower + (bound - lower) * (rank - seen) / n
            seen += n
            lower = bound
        return self.bounds[-1]
