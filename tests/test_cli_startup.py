"""``mockllm serve`` start-up: what it prints, where options come from (command line >
environment > config > default), and that no CLI path ends in a traceback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from mockllm.cli import main, parser
from mockllm.settings import apply_environment


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("MOCKLLM_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MOCKLLM_DISABLE_PLUGIN_AUTOLOAD", "1")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCKLLM_")}
    env["MOCKLLM_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_command_line_beats_environment_beats_default(monkeypatch: pytest.MonkeyPatch) -> None:
    args = parser().parse_args(["serve"])
    assert apply_environment(args) == {}
    assert (args.host, args.port, args.workers, args.log_level, args.config) == (
        "127.0.0.1", 8000, 1, "warning", None)
    for name, value in {"MOCKLLM_HOST": "0.0.0.0", "MOCKLLM_PORT": "9001",
                        "MOCKLLM_WORKERS": "3", "MOCKLLM_LOG_LEVEL": "INFO",
                        "MOCKLLM_CONFIG": "x.yaml", "MOCKLLM_PLUGINS": "a, b"}.items():
        monkeypatch.setenv(name, value)
    args = parser().parse_args(["serve"])
    origins = apply_environment(args)
    assert (args.host, args.port, args.workers, args.log_level, args.config) == (
        "0.0.0.0", 9001, 3, "info", "x.yaml")
    assert args.modules == ["a", "b"]
    assert origins["port"] == "MOCKLLM_PORT" and len(origins) == 5
    args = parser().parse_args(["serve", "--port", "9002", "--config", "y.yaml", "-p", "c"])
    origins = apply_environment(args)
    assert (args.port, args.config, args.host) == (9002, "y.yaml", "0.0.0.0")
    assert args.modules == ["c", "a", "b"]
    assert "port" not in origins and "config" not in origins


def test_environment_beats_config_for_overrides(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("plugins: {use: {openai.chat: tests.plugins.acme_chat}}\n")
    monkeypatch.setenv("MOCKLLM_CONFIG", str(cfg))
    assert main(["routes", "-p", "tests.plugins.acme_chat"]) == 0
    assert "tests.plugins.acme_chat" in _chat_row(capsys.readouterr().out)
    monkeypatch.setenv("MOCKLLM_USE", "openai.chat=builtin")
    assert main(["routes", "-p", "tests.plugins.acme_chat"]) == 0
    assert "builtin.openai" in _chat_row(capsys.readouterr().out)
    assert main(["routes", "-p", "tests.plugins.acme_chat",
                 "--use", "openai.chat=tests.plugins.acme_chat"]) == 0
    assert "tests.plugins.acme_chat" in _chat_row(capsys.readouterr().out)


def _chat_row(out: str) -> str:
    # The path column exactly: /openai/v1/chat/completions (Azure) is another route.
    [row] = [line for line in out.splitlines() if line.split()[1:2] == ["/v1/chat/completions"]]
    return row


@pytest.mark.parametrize(("argv", "env", "message"), [
    (["serve", "--log-level", "loud"], {},
     "invalid choice: 'loud' (choose from critical, error, warning, info, debug, trace)"),
    (["serve"], {"MOCKLLM_LOG_LEVEL": "loud"}, "MOCKLLM_LOG_LEVEL: invalid choice: 'loud'"),
    (["serve"], {"MOCKLLM_PORT": "eighty"}, "MOCKLLM_PORT: not a port number: 'eighty'"),
    (["serve", "--port", "70000"], {}, "port 70000 is out of range"),
    (["serve", "--workers", "0"], {}, "workers must be at least 1"),
    (["serve", "--use", "openai.chta=builtin"], {},
     "unknown endpoint key 'openai.chta' (did you mean 'openai.chat'?)"),
    (["serve", "--use", "ssee=builtin"], {},
     "unknown transport key 'ssee' (did you mean 'sse'?)"),
    (["serve", "--use", "openai.chat"], {}, "expected KEY=PLUGIN"),
    (["serve", "--config", "/nonexistent.yaml"], {}, "cannot read"),
    (["plugins", "--explain", "openai.chta"], {}, "(did you mean 'openai.chat'?)"),
    (["frobnicate"], {}, "invalid choice: 'frobnicate'"),
])
def test_bad_input_is_one_line_never_a_traceback(argv: list[str], env: dict[str, str],
                                                 message: str) -> None:
    out = subprocess.run([sys.executable, "-m", "mockllm", *argv], env=_env(**env),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out
    assert message in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("argv", [["routes"], ["plugins", "--json"], ["routes", "--json"],
                                  ["--help"], ["serve", "--help"]])
def test_a_closed_pipe_is_no_traceback(argv: list[str]) -> None:
    # `mockllm routes | head -1`: the reader leaves after one line.
    cmd = " ".join([sys.executable, "-m", "mockllm", *argv]) + " | head -c 1 >/dev/null"
    out = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], env=_env(), capture_output=True,
                         text=True, timeout=120)
    assert "Traceback" not in out.stderr and "Error" not in out.stderr, out.stderr


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text('rules:\n  - match: {last_user: {contains: "sky}}\n    respond: {text: x}\n')
    out = subprocess.run([sys.executable, "-m", "mockllm", "serve", "--config", str(bad)],
                         env=_env(), capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert f"{bad}:2: a quote or bracket opened on this line is not closed" in out.stderr


@contextmanager
def serving(args: list[str], env: dict[str, str], until: str = "mockllm: config:"
            ) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """``mockllm serve``, and its stderr lines up to the first that starts with ``until``."""
    proc = subprocess.Popen([sys.executable, "-m", "mockllm", "serve", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    with proc:
        try:
            assert proc.stderr is not None
            lines = []
            for line in proc.stderr:
                lines.append(line.rstrip("\n"))
                if line.startswith(until):
                    break
            yield proc, lines
        finally:
            proc.terminate()


def _wait_up(url: str) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(url + "/health", timeout=60).status_code == 200:
                return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.05)


def _ask(url: str, text: str) -> str:
    r = httpx.post(url + "/v1/chat/completions", timeout=60, json={
        "model": "gpt-4o", "messages": [{"role": "user", "content": text}]})
    return str(r.json()["choices"][0]["message"]["content"])


def test_serve_says_where_it_listens_and_takes_the_environment(tmp_path: Path) -> None:
    cfg = tmp_path / "faq.yaml"
    cfg.write_text("rules: [{name: sky, match: {last_user: {contains: sky}}, "
                   "respond: {text: blue}}]\n")
    env_port, cli_port = _free_port(), _free_port()
    env = _env(MOCKLLM_PORT=str(env_port), MOCKLLM_CONFIG=str(cfg),
               MOCKLLM_USE="sse=builtin")
    with serving([], env) as (_, lines):
        assert lines[-2:] == [f"mockllm: serving http://127.0.0.1:{env_port}",
                              f"mockllm: config: {cfg.resolve()}"]
        _wait_up(f"http://127.0.0.1:{env_port}")
        assert _ask(f"http://127.0.0.1:{env_port}", "why is the sky blue?") == "blue"
    with serving(["--port", str(cli_port)], env) as (_, lines):
        assert f"mockllm: serving http://127.0.0.1:{cli_port}" in lines
    with serving(["--port", str(cli_port)], _env()) as (_, lines):
        assert lines[-1] == "mockllm: config: embedded default"
        assert not [line for line in lines if "WARNING" in line]


def test_serve_lists_environment_and_overrides(tmp_path: Path) -> None:
    port = _free_port()
    env = _env(MOCKLLM_PORT=str(port), MOCKLLM_USE="sse=builtin",
               MOCKLLM_DISABLE_PLUGINS="builtin.metrics")
    with serving([], env, until="mockllm: blocked plugins:") as (_, lines):
        pass
    assert "mockllm: from the environment: port (MOCKLLM_PORT)" in lines
    assert "mockllm: overrides: sse=builtin.transports" in lines
    assert "mockllm: blocked plugins: builtin.metrics" in lines


def test_a_reload_is_logged_and_applied(tmp_path: Path) -> None:
    cfg = tmp_path / "faq.yaml"
    cfg.write_text("rules: [{match: {last_user: {contains: sky}}, respond: {text: blue}}]\n")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with serving(["--port", str(port), "--config", str(cfg)], _env()) as (proc, _):
        _wait_up(url)
        assert _ask(url, "sky?") == "blue"
        time.sleep(0.05)  # a new mtime, even on a coarse-grained file system
        cfg.write_text("rules: [{match: {last_user: {contains: sky}}, respond: {text: grey}}]\n")
        assert proc.stderr is not None
        line = proc.stderr.readline()  # blocks until the watcher logs (no timed assertion)
        assert line.strip() == f"mockllm: INFO: reloaded {cfg.resolve()}"
        assert _ask(url, "sky?") == "grey"


def test_sigterm_during_start_up_stops_the_server() -> None:
    # A SIGTERM sent as soon as the banner is out lands before uvicorn has taken the signal
    # over; it must still stop the process (it used to be swallowed, and serve ran on).
    port = _free_port()
    with serving(["--port", str(port)], _env()) as (proc, lines):
        assert lines[-1] == "mockllm: config: embedded default"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) == 0
