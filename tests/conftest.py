"""Shared fixtures. ``mockllm.testing`` (our pytest11 plugin) provides mockllm_server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from mockllm.testing import LiveServer, run_server, test_context


@pytest.fixture(scope="session")
def mockllm_server() -> Iterator[LiveServer]:
    """The plugin's session server, hermetic here: no installed plugin answers (an example
    plugin pip-installed in a developer's venv must not change what the suite sees)."""
    with run_server(test_context()) as server:
        yield server


@pytest.fixture
def live() -> Iterator[LiveServer]:
    """A live server on the embedded default config."""
    with run_server(test_context()) as server:
        yield server


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    """One plain HTTP client per test module, for the requests no SDK makes (pass full URLs).

    A fresh ``httpx.post`` per request builds a client, an SSL context and a connection
    each time (about 80 ms apiece on a busy machine); this one keeps its connections.
    The timeout is generous: a busy machine is slow, and no test waits on it to fail.
    """
    with httpx.Client(timeout=60) as c:
        yield c


@pytest.fixture
def client(server: LiveServer) -> Iterator[openai.OpenAI]:
    """An OpenAI client for the test module's own ``server`` fixture (closed afterwards)."""
    with openai.OpenAI(base_url=server.openai_url, api_key="test", max_retries=0) as c:
        yield c


@pytest.fixture
def anyio_backend() -> str:
    """anyio's pytest plugin runs ``@pytest.mark.anyio`` tests on asyncio only."""
    return "asyncio"
