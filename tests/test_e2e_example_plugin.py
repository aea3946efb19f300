"""End to end with the really pip-installed examples/mockllm-echo plugin (real entry points).

The plugin replaces ``openai.chat``, so it is not installed into the test venv (where it
would change chat for everything else run there): a module fixture pip-installs it, offline,
into a folder of its own, and the real CLI runs in subprocesses with that folder on
``PYTHONPATH``, where ``importlib.metadata`` finds its entry points as in any venv.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import openai
import pytest

pytestmark = pytest.mark.e2e

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "say cheese"}]}
ECHO = Path(__file__).resolve().parent.parent / "examples" / "mockllm-echo"
_site: list[str] = []


@pytest.fixture(autouse=True, scope="module")
def _installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    work = tmp_path_factory.mktemp("echo")
    source = work / "src"  # a copy: an in-tree build leaves build/ and egg-info behind
    shutil.copytree(ECHO, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    site = work / "site"
    out = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
         "--no-build-isolation", "--target", str(site), str(source)],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    _site[:] = [str(site)]
    yield
    _site.clear()


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCKLLM_")}
    env["PYTHONPATH"] = os.pathsep.join([*_site, *filter(None, [env.get("PYTHONPATH")])])
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
    assert "a plugin beats the builtin (builtin.openai)" in out
    assert "builtin.openai" in out and ":Chat" in out and "plugins_builtin.openai" in out


def _startup_lines(*args: str) -> list[str]:
    """What ``mockllm serve`` prints before it serves (up to and including the config line)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockllm", "serve", "--port", str(_free_port()), *args],
        env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    lines: list[str] = []
    with proc:
        try:
            assert proc.stderr is not None
            for line in proc.stderr:
                lines.append(line.rstrip("\n"))
                if line.startswith("mockllm: config:"):
                    break
        finally:
            proc.terminate()
    return lines


def test_serve_warns_that_the_plugin_replaced_a_builtin() -> None:
    lines = _startup_lines()
    [warning] = [line for line in lines if "WARNING" in line]
    assert "openai.chat is answered by plugin 'echo' (from mockllm-echo 0.1.0)" in warning
    assert "--use openai.chat=builtin" in warning
    assert not [line for line in _startup_lines("--use", "openai.chat=builtin")
                if "WARNING" in line]
