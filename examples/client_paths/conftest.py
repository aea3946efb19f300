"""A live `mockllm serve` on the embedded default config (no rules) for the client paths."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from mockllm.testing import LiveServer, run_server, test_context


# litellm downloads its model price map at import unless told to use the copy it ships: tests
# never need the network.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture(scope="session")
def live() -> Iterator[LiveServer]:
    with run_server(test_context()) as server:
        yield server
