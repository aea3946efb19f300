"""Shared fixtures. ``mockllm.testing`` (our pytest11 plugin) provides mockllm_server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mockllm.testing import LiveServer, run_server, test_context


@pytest.fixture
def live() -> Iterator[LiveServer]:
    """A live server on the embedded default config."""
    with run_server(test_context()) as server:
        yield server
