"""Throwaway plugin: a latency model named ``bimodal`` (fast, or slow with probability p)."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from mockllm import hookimpl


class Bimodal:
    constant = False

    def __init__(self, fast_ms: float, slow_ms: float, p_slow: float) -> None:
        self.fast, self.slow, self.p = fast_ms / 1000, slow_ms / 1000, p_slow
        self.mean = (1 - p_slow) * self.fast + p_slow * self.slow

    def sample(self, rng: random.Random) -> float:
        return self.slow if rng.random() < self.p else self.fast


def build(params: Mapping[str, Any], default_ms: float) -> Bimodal:
    return Bimodal(params.get("fast_ms", default_ms), params["slow_ms"], params["p_slow"])


@hookimpl
def mockllm_latency_models() -> dict[str, Any]:
    return {"bimodal": build}
