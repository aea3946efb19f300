"""End to end with the really pip-installed examples/mockllm-echo plugin (real entry points).

Runs the real CLI in subprocesses. Needs `pip install ./examples/mockllm-echo` (the README's
test command, tox -e e2e and .ci/run do it); deselect with `-m "not e2e"` otherwise.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import openai
import pytest

pytestmark = pytest.mark.e2e

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "say cheese"}]}


@pytest.fixture(autouse=True, scope="module")
def _installed() -> None:
    try:
        importlib.metadata.distribution("mockllm-echo")
    except importlib.metadata.PackageNotFoundError:
        pytest.fail("examples/mockllm-echo is not installed: pip install ./examples/mockllm-echo"
                    " (or deselect with -m 'not e2e')")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCKLLM_")}
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(*args: str) -> Iterator[str]:
    port = _free_port()
    log = tempfile.TemporaryFile("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockllm", "serve", "--port", str(port), *args],
        env=_env(), stdout=log, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    poll = httpx.Client(timeout=60)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if poll.get(url + "/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise AssertionError(f"server did not start: {log.read()}")
            time.sleep(0.05)
        yield url
    finally:
        poll.close()
        proc.terminate()
        proc.wait(30)
        log.close()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mockllm", *args], env=_env(),
                          capture_output=True, text=True, timeout=60)


def chat(url: str) -> str | None:
    with openai.OpenAI(base_url=url + "/v1", api_key="x", max_retries=0) as client:
        out = client.chat.completions.create(**CHAT)  # type: ignore[call-overload]
    return out.choices[0].message.content  # type: ignore[no-any-return]


def test_installed_plugin_wins_over_builtin(http: httpx.Client) -> None:
    with serve() as url:
        assert chat(url) == "say cheese"
        r = http.post(url + "/v1/echo/reverse", json={"text": "abc"})
        assert r.json() == {"text": "cba"}


def test_use_builtin_brings_the_builtin_back(http: httpx.Client) -> None:
    with serve("--use", "openai.chat=builtin") as url:
        assert chat(url) != "say cheese"
        assert http.post(url + "/v1/echo/reverse", json={"text": "abc"}).status_code == 200


def test_disable_plugin_blocks_it_entirely(http: httpx.Client) -> None:
    with serve("--disable-plugin", "echo") as url:
        assert chat(url) != "say cheese"
        assert http.post(url + "/v1/echo/reverse", json={"text": "abc"}).status_code == 404


def test_runtime_switch_applies_to_the_next_request(http: httpx.Client) -> None:
    with serve() as url:
        assert chat(url) == "say cheese"
        r = http.post(url + "/_mockllm/plugins/use", json={"key": "openai.chat",
                                                           "plugin": "builtin"})
        assert r.json()["reason"] == "runtime"
        assert chat(url) != "say cheese"
        http.post(url + "/_mockllm/plugins/use", json={"key": "openai.chat", "plugin": "echo"})
        assert chat(url) == "say cheese"


def test_plugins_json_tells_all_of_it() -> None:
    data = json.loads(cli("plugins", "--json").stdout)
    echo = next(p for p in data["plugins"] if p["name"] == "echo")
    assert echo["source"] == "entrypoint" and echo["status"] == "active"
    assert echo["distribution"].startswith("mockllm-echo ")
    chat_key = next(e for e in data["endpoints"] if e["key"] == "openai.chat")
    assert (chat_key["selected"], chat_key["reason"]) == ("echo", "plugin")
    assert [i["plugin"] for i in chat_key["implementations"]] == ["echo", "builtin.openai"]
    assert any(e["key"] == "echo.reverse" and e["path"] == "/v1/echo/reverse"
               for e in data["endpoints"])

    over = json.loads(cli("plugins", "--json", "--use", "openai.chat=builtin").stdout)
    chat_key = next(e for e in over["endpoints"] if e["key"] == "openai.chat")
    assert (chat_key["selected"], chat_key["reason"]) == ("builtin.openai", "override")

    blocked = json.loads(cli("plugins", "--json", "--disable-plugin", "echo").stdout)
    assert next(p for p in blocked["plugins"] if p["name"] == "echo")["status"] == "blocked"


def test_plugins_text_explains_the_winner() -> None:
    out = cli("plugins", "--explain", "openai.chat").stdout
    assert "openai.chat" in out and "-> echo" in out
    assert "installed plugin beats builtin" in out
    assert "builtin.openai" in out and ":Chat" in out and "plugins_builtin.openai" in out
