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
from typing import Any

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


HOOKS_CONFIG = """\
models:
  - {id: gpt-4o, provider: openai}
  - {id: chars-model, provider: openai, tokenizer: echo.chars}
  - {id: claude-test, provider: anthropic, max_output_tokens: 4096}
rules:
  - match: {echo.shouting: true}
    respond: {template: "No need to shout about {shout}."}
    latency: {ttft: {model: echo.steady, ms: 1}}
  - match: {last_user: {contains: backwards}}
    respond: {echo.backwards: {prefix: "> "}}
  - match: {last_user: {contains: stutter}}
    respond: {text: "a b", fault: {kind: echo.stutter, after: 2, params: {times: 2}}}
"""


@pytest.fixture(scope="module")
def hooks_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("hooks") / "hooks.yaml"
    path.write_text(HOOKS_CONFIG)
    # echo replaces openai.chat; --use brings the engine back so the plugin's matchers and
    # responders answer chat too.
    with serve("--config", str(path), "--use", "openai.chat=builtin") as url:
        yield url


def test_every_hook_of_the_example_through_the_openai_sdk(hooks_url: str) -> None:
    with openai.OpenAI(base_url=hooks_url + "/v1", api_key="x", max_retries=0) as client:
        def ask(text: str, model: str = "gpt-4o") -> Any:
            return client.chat.completions.with_raw_response.create(
                model=model, messages=[{"role": "user", "content": text}])

        raw = ask("HELLO THERE")
        assert raw.parse().choices[0].message.content == "No need to shout about hello there."
        assert int(raw.headers["x-echo-requests"]) >= 1  # the plugin's middleware
        assert ask("say backwards").parse().choices[0].message.content == "> sdrawkcab yas"
        out = ask("say backwards", "chars-model").parse()  # a character-level tokenizer
        assert out.usage.completion_tokens == len("> sdrawkcab yas")
        with pytest.raises(openai.BadRequestError, match="please rephrase that politely"):
            ask("a rude question")
        with client.chat.completions.stream(model="chars-model", messages=[
                {"role": "user", "content": "hi"}]) as stream:  # generated text, any tokenizer
            text = stream.get_final_completion().choices[0].message.content or ""
        assert text
        # The fault kind: frames 0 and 1 (role, "a") once, then every frame twice.
        chunks = client.chat.completions.create(model="gpt-4o", stream=True, messages=[
            {"role": "user", "content": "stutter"}])
        assert "".join(c.choices[0].delta.content or "" for c in chunks
                       if c.choices) == "a b b"


def test_every_hook_of_the_example_through_the_anthropic_sdk(hooks_url: str) -> None:
    import anthropic

    with anthropic.Anthropic(base_url=hooks_url, api_key="x", max_retries=0) as client:
        raw = client.messages.with_raw_response.create(
            model="claude-test", max_tokens=100,
            messages=[{"role": "user", "content": "go backwards"}])
        assert raw.headers["x-echo-wrapped"] == "1"  # wrap() around the builtin
        assert raw.parse().content[0].text == "> sdrawkcab og"  # type: ignore[union-attr]
        with client.messages.stream(model="claude-test", max_tokens=100, messages=[
                {"role": "user", "content": "WHY"}]) as stream:
            message = stream.get_final_message()
        assert message.content[0].text == "No need to shout about why."  # type: ignore[union-attr]
        with pytest.raises(anthropic.BadRequestError, match="politely"):
            client.messages.create(model="claude-test", max_tokens=5,
                                   messages=[{"role": "user", "content": "rude"}])


def test_the_example_streams_one_endpoint_through_its_own_transport(
    hooks_url: str, http: httpx.Client
) -> None:
    r = http.post(hooks_url + "/v1/echo/reverse", json={"text": "abc", "stream": True})
    assert r.headers["content-type"].startswith("application/x-ndjson")
    assert r.content == b'{"c":"c"}\n{"c":"b"}\n{"c":"a"}\n{"end":true}\n'
    state = http.get(hooks_url + "/v1/echo/state").json()
    assert state["started"] is True and state["models"] == 3


def test_the_example_lists_its_contributions_and_refuses_bad_values(tmp_path: Path) -> None:
    data = json.loads(cli("plugins", "--json").stdout)
    echo = next(p for p in data["plugins"] if p["name"] == "echo")
    assert echo["matchers"] == ["echo.shouting"] and echo["responders"] == ["echo.backwards"]
    assert echo["validators"] == ["echo.polite"] and echo["wraps"] == ["anthropic.messages"]
    assert echo["latency_models"] == ["echo.steady"] and echo["faults"] == ["echo.stutter"]
    assert "echo" in data["middleware"] and "echo" in data["shutdown"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - match: {echo.shouting: loud}\n"
                   "    latency: {ttft: {model: echo.steady, ms: -1}}\n"
                   "  - respond: {text: x, fault: {kind: echo.stutter, params: {times: 0}}}\n")
    out = cli("validate", str(bad))
    assert out.returncode == 1
    assert f"{bad}:2: rules[0].match.echo.shouting: echo.shouting takes true or false" in out.stderr
    assert f"{bad}:4: rules[1].respond.fault.params: echo.stutter: times must" in out.stderr


def test_blocking_the_example_by_distribution_name(http: httpx.Client) -> None:
    with serve("--disable-plugin", "mockllm-echo") as url:
        assert chat(url) != "say cheese"
        assert http.post(url + "/v1/echo/reverse", json={"text": "abc"}).status_code == 404
