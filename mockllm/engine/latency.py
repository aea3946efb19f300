"""Latency models: how long a TTFT or one inter-token gap takes, as a distribution.

A model is compiled once, at config load, from its name and parameters (``{model: lognormal,
mean_ms: 200, cv: 0.3}``); per request it only draws samples. Every model is deterministic given
the ``random.Random`` it is handed, so the same seed gives the same schedule.

Models are plugins: ``mockllm_latency_models()`` returns ``{name: factory}``, where a factory is
called as ``factory(params, default_ms)`` (``default_ms`` is the block's ``ttft_ms`` / ``itl_ms``,
the mean when ``params`` names none) and returns a :class:`LatencyModel`. The builtins here are
contributed by ``plugins_builtin/latency.py``.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol


class LatencyModel(Protocol):
    """A distribution of durations in seconds."""

    #: True when :meth:`sample` always returns :attr:`mean` (no random draws are needed).
    constant: bool
    #: The mean in seconds (used to show a profile and for constant models).
    mean: float

    def sample(self, rng: random.Random) -> float:
        """One duration in seconds, never negative."""
        ...


Factory = Callable[[Mapping[str, Any], float], LatencyModel]


class LatencyParamError(ValueError):
    """A model's parameters are wrong; the message names the parameter."""


def _ms(params: Mapping[str, Any], key: str, default: float | None = None) -> float:
    value = params.get(key, default)
    if value is None:
        raise LatencyParamError(f"missing parameter {key!r}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LatencyParamError(f"{key!r} must be a number, got {value!r}")
    if value < 0 or math.isnan(value) or math.isinf(value):
        raise LatencyParamError(f"{key!r} must be a finite number >= 0, got {value!r}")
    return float(value)


def _only(params: Mapping[str, Any], allowed: Iterable[str]) -> None:
    extra = sorted(set(params) - {"model", *allowed})
    if extra:
        raise LatencyParamError(f"unknown parameter {extra[0]!r} (allowed: "
                                f"{', '.join(sorted(allowed))})")


class Constant:
    """Always ``ms`` (default: the block's ``ttft_ms`` / ``itl_ms``)."""

    constant = True

    def __init__(self, ms: float) -> None:
        self.mean = ms / 1000

    @classmethod
    def build(cls, params: Mapping[str, Any], default_ms: float) -> Constant:
        _only(params, ("ms",))
        return cls(_ms(params, "ms", default_ms))

    def sample(self, rng: random.Random) -> float:
        return self.mean


class Uniform:
    """Uniform on ``[min_ms, max_ms]``."""

    constant = False

    def __init__(self, low_ms: float, high_ms: float) -> None:
        if high_ms < low_ms:
            raise LatencyParamError(f"max_ms ({high_ms}) is below min_ms ({low_ms})")
        self.low, self.high = low_ms / 1000, high_ms / 1000
        self.mean = (self.low + self.high) / 2

    @classmethod
    def build(cls, params: Mapping[str, Any], default_ms: float) -> Uniform:
        _only(params, ("min_ms", "max_ms"))
        return cls(_ms(params, "min_ms", 0.0), _ms(params, "max_ms", 2 * default_ms))

    def sample(self, rng: random.Random) -> float:
        return self.low + (self.high - self.low) * rng.random()


class Normal:
    """Normal with ``mean_ms`` and ``std_ms`` (or ``cv`` = std / mean), clipped at 0."""

    constant = False

    def __init__(self, mean_ms: float, std_ms: float) -> None:
        self.mu, self.sigma = mean_ms / 1000, std_ms / 1000
        self.mean = self.mu  # the clip at 0 moves it by a negligible amount when cv < 0.5

    @classmethod
    def build(cls, params: Mapping[str, Any], default_ms: float) -> Normal:
        _only(params, ("mean_ms", "std_ms", "cv"))
        mean = _ms(params, "mean_ms", default_ms)
        if "std_ms" in params and "cv" in params:
            raise LatencyParamError("give std_ms or cv, not both")
        std = _ms(params, "std_ms") if "std_ms" in params else mean * _ms(params, "cv", 0.0)
        return cls(mean, std)

    def sample(self, rng: random.Random) -> float:
        return max(rng.gauss(self.mu, self.sigma), 0.0)


class LogNormal:
    """Log-normal given its (arithmetic) ``mean_ms`` and coefficient of variation ``cv``.

    sigma^2 = ln(1 + cv^2) and mu = ln(mean) - sigma^2 / 2, so the samples' mean is ``mean_ms``
    and their standard deviation ``cv * mean_ms``: the long right tail real servers show.
    """

    constant = False

    def __init__(self, mean_ms: float, cv: float) -> None:
        self.mean = mean_ms / 1000
        self.sigma = math.sqrt(math.log1p(cv * cv))
        self.mu = math.log(self.mean) - self.sigma**2 / 2 if self.mean > 0 else -math.inf

    @classmethod
    def build(cls, params: Mapping[str, Any], default_ms: float) -> LogNormal:
        _only(params, ("mean_ms", "cv"))
        return cls(_ms(params, "mean_ms", default_ms), _ms(params, "cv", 0.0))

    def sample(self, rng: random.Random) -> float:
        if self.mean <= 0:
            return 0.0
        return math.exp(self.mu + self.sigma * rng.gauss(0.0, 1.0))


class Empirical:
    """A percentile table (``{p50: 180, p90: 320, p99: 900}``) sampled by inverse CDF.

    A uniform draw u is mapped to a duration by linear interpolation between the table's
    points. Below the lowest and above the highest percentile the line through the two
    nearest points is extended (clipped at 0); ``p0`` / ``p100`` (or ``min`` / ``max``) bound
    the tails exactly.
    """

    constant = False

    def __init__(self, points: list[tuple[float, float]]) -> None:
        points = sorted(points)
        if len(points) < 2:
            raise LatencyParamError("an empirical table needs at least two percentiles")
        qs = [q for q, _ in points]
        if len(set(qs)) != len(qs):
            raise LatencyParamError("a percentile appears twice")
        values = [v for _, v in points]
        if any(b < a for a, b in zip(values, values[1:], strict=False)):
            raise LatencyParamError("percentile values must not decrease as the percentile rises")
        if qs[0] > 0:
            qs.insert(0, 0.0)
            values.insert(0, max(_line(points[0], points[1], 0.0), 0.0))
        if qs[-1] < 1:
            qs.append(1.0)
            values.append(_line(points[-2], points[-1], 1.0))
        self.qs, self.values = qs, [v / 1000 for v in values]
        # The mean of a piecewise-linear inverse CDF: the trapezoids' area.
        self.mean = sum((q1 - q0) * (v0 + v1) / 2 for q0, q1, v0, v1
                        in zip(qs, qs[1:], self.values, self.values[1:], strict=False))

    @classmethod
    def build(cls, params: Mapping[str, Any], default_ms: float) -> Empirical:
        points = []
        for key in params:
            if key == "model":
                continue
            points.append((_quantile(key), _ms(params, key)))
        return cls(points)

    def quantile(self, u: float) -> float:
        """The duration (seconds) at cumulative probability ``u`` in [0, 1]."""
        qs, vs = self.qs, self.values
        i = min(max(bisect.bisect_right(qs, u), 1), len(qs) - 1)
        q0, q1 = qs[i - 1], qs[i]
        return vs[i - 1] + (vs[i] - vs[i - 1]) * (u - q0) / (q1 - q0)

    def sample(self, rng: random.Random) -> float:
        return self.quantile(rng.random())


def _line(a: tuple[float, float], b: tuple[float, float], q: float) -> float:
    (q0, v0), (q1, v1) = a, b
    return v0 + (v1 - v0) * (q - q0) / (q1 - q0)


def _quantile(key: str) -> float:
    if key == "min":
        return 0.0
    if key == "max":
        return 1.0
    try:
        if not key.startswith("p"):
            raise ValueError
        q = float(key[1:]) / 100
    except ValueError:
        raise LatencyParamError(f"{key!r} is not a percentile (p50, p99.9, min, max)") from None
    if not 0 <= q <= 1:
        raise LatencyParamError(f"percentile {key!r} is outside p0..p100")
    return q


BUILTIN: dict[str, Factory] = {
    "constant": Constant.build,
    "uniform": Uniform.build,
    "normal": Normal.build,
    "lognormal": LogNormal.build,
    "empirical": Empirical.build,
}


class LatencyModels:
    """Named latency-model factories (the winners of ``mockllm_latency_models``, resolved by
    ``mockllm.named``; the builtins alone by default)."""

    def __init__(self, factories: Mapping[str, Factory] | None = None) -> None:
        self.factories: dict[str, Factory] = dict(BUILTIN if factories is None else factories)

    def build(self, spec: Mapping[str, Any] | None, default_ms: float) -> LatencyModel:
        """Compile ``spec`` (``{model: NAME, ...params}``); None means constant ``default_ms``."""
        if spec is None:
            return Constant(default_ms)
        name = spec.get("model", "constant")
        factory = self.factories.get(name) if isinstance(name, str) else None
        if factory is None:
            raise LatencyParamError(
                f"unknown latency model {name!r} (known: {', '.join(sorted(self.factories))})"
            )
        try:
            return factory(spec, default_ms)
        except LatencyParamError:
            raise
        except Exception as exc:  # a plugin model's refusal is a config error, however spelt
            why = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
            raise LatencyParamError(f"latency model {name!r}: {why}") from None


__all__ = [
    "BUILTIN", "Constant", "Empirical", "Factory", "LatencyModel", "LatencyModels",
    "LatencyParamError", "LogNormal", "Normal", "Uniform",
]
