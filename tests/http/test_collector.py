"""While a server runs, the cyclic collector runs less often (mockllm.lifespan); the last
server of the process to stop restores CPython's settings. No other server may be alive
in this module: it reads the process-wide thresholds."""

from __future__ import annotations

import gc

from mockllm import lifespan
from mockllm.app import build_app
from mockllm.testing import test_context
from tests.http.conftest import serving


def test_serving_runs_the_collector_less_often_and_the_last_stop_restores_it() -> None:
    before = gc.get_threshold()
    with serving(build_app(test_context())):
        raised = gc.get_threshold()
        assert raised[0] >= lifespan.GEN0_THRESHOLD and raised[1] >= lifespan.GEN1_THRESHOLD
        with serving(build_app(test_context())):
            assert gc.get_threshold() == raised
        assert gc.get_threshold() == raised  # the other server still runs
    assert gc.get_threshold() == before
