"""A live `mockllm serve` on the embedded default config (no rules) for the client paths."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mockllm.testing import LiveServer, run_server, test_context


@pytest.fixture(scope="session")
def live() -> Iterator[LiveServer]:
    with run_server(test_context()) as server:
        yield server
