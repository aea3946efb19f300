"""The builtin latency models: constant, uniform, normal, lognormal, empirical."""

from __future__ import annotations

from mockllm import hookimpl
from mockllm.engine.latency import BUILTIN, Factory


@hookimpl(trylast=True)
def mockllm_latency_models() -> dict[str, Factory]:
    return dict(BUILTIN)
