"""Just enough of the Prometheus text format to read one histogram back from GET /metrics."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")
_LE = re.compile(r'le="([^"]+)"')


@dataclass
class Histogram:
    """Cumulative buckets summed over every label set (e.g. all endpoints together)."""

    buckets: dict[float, float] = field(default_factory=dict)
    sum: float = 0.0
    count: float = 0.0

    def minus(self, earlier: Histogram) -> Histogram:
        return Histogram(
            {le: n - earlier.buckets.get(le, 0.0) for le, n in self.buckets.items()},
            self.sum - earlier.sum,
            self.count - earlier.count,
        )

    def quantile(self, q: float) -> float:
        """Linear interpolation inside the bucket, as PromQL's histogram_quantile does."""
        if self.count <= 0:
            return math.nan
        rank = q * self.count
        lower_le, lower_n = 0.0, 0.0
        for le in sorted(self.buckets):
            n = self.buckets[le]
            if n >= rank:
                if math.isinf(le):
                    return lower_le  # above the highest finite bound: report that bound
                width = n - lower_n
                return lower_le + (le - lower_le) * ((rank - lower_n) / width if width else 1.0)
            lower_le, lower_n = le, n
        return lower_le


def histograms(text: str, *names: str) -> dict[str, Histogram]:
    """Histograms named ``names`` found in an exposition; absent names are simply missing."""
    found: dict[str, Histogram] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if not match:
            continue
        sample, labels, value = match.group(1), match.group(2) or "", float(match.group(3))
        for name in names:
            if sample == f"{name}_bucket":
                le = _LE.search(labels)
                if le:
                    hist = found.setdefault(name, Histogram())
                    bound = float(le.group(1))  # float("+Inf") is inf
                    hist.buckets[bound] = hist.buckets.get(bound, 0.0) + value
            elif sample == f"{name}_sum":
                found.setdefault(name, Histogram()).sum += value
            elif sample == f"{name}_count":
                found.setdefault(name, Histogram()).count += value
    return found
