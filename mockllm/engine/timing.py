"""Timing: the TTFT and ITL schedule of one answer."""

from __future__ import annotations

from mockllm.engine.request import NeutralRequest
from mockllm.engine.schema import Latency, ModelConfig
from mockllm.streaming import Fault, Pacing


def build_pacing(
    start: float,
    req: NeutralRequest,
    model: ModelConfig,
    latency: Latency,
    prompt_tokens: int,
    fault: Fault | None,
) -> Pacing:
    """The schedule for one answer. ``latency`` is the rule's, else the model's, else the
    defaults'."""
    return Pacing(start, latency.ttft_ms / 1000, latency.itl_ms / 1000, fault)
