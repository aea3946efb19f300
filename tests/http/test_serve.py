"""``mockllm serve --http mockllm`` as a process: the banner names the port really bound,
SIGTERM lets in-flight streams finish with their terminator and exits 0, ``--workers N``
share one socket, IPv6, and the choice of server by flag, environment or config."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from mockllm.cli import parser
from mockllm.settings import apply_environment
from tests.http.conftest import Replies, connect, request, wait_until

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCKLLM_")}
    env["MOCKLLM_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return env


@contextmanager
def serve(*args: str) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """``mockllm serve --http mockllm --port 0 ARGS``: the process and the port it bound."""
    proc = subprocess.Popen([sys.executable, "-m", "mockllm", "serve", "--http", "mockllm",
                             "--port", "0", *args], env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        assert first.startswith("mockllm: serving http://"), first
        port = int(first.split()[2].rsplit(":", 1)[1])
        assert port != 0
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def _up(url: str) -> bool:
    try:
        return httpx.get(url + "/health", timeout=60).status_code == 200
    except httpx.TransportError:
        return False


def test_sigterm_lets_streams_in_flight_end_with_done(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    # 20 tokens 100 ms apart: the streams are still running when SIGTERM arrives, and
    # end well inside the 10 s of grace.
    config.write_text("defaults: {latency: {ttft_ms: 0, itl_ms: 100}, "
                      "respond: {generate: {tokens: 20, fill: true}}}\n")
    with serve("--config", str(config)) as (proc, port):
        wait_until(lambda: _up(f"http://127.0.0.1:{port}"))
        body = json.dumps({**CHAT, "stream": True}).encode()
        socks = [connect(port) for _ in range(3)]
        for sock in socks:
            sock.sendall(request("POST", "/v1/chat/completions", body))
        replies = [Replies(sock) for sock in socks]
        for reply in replies:
            assert reply.until_head().status == 200
        proc.send_signal(signal.SIGTERM)
        for reply in replies:
            assert reply.until_closed()  # the answer ends, then the connection
            reply.sock.close()
            [stream] = reply.done
            assert stream.complete and stream.body.endswith(b"data: [DONE]\n\n")
        assert proc.wait(timeout=60) == 0
        # No new connection is taken after the signal.
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=5):
            pass


def test_workers_share_one_socket_and_stop_on_sigterm() -> None:
    with serve("--workers", "2") as (proc, port):
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: _up(url))
        wait_until(lambda: len(_workers(proc.pid)) == 2)
        for _ in range(10):  # fresh connections: the kernel hands them to either worker
            r = httpx.post(url + "/v1/chat/completions", json=CHAT, timeout=60)
            assert r.status_code == 200
        workers = _workers(proc.pid)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    # The supervisor waited for its workers (they are reaped, not left running).
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]


def _workers(pid: int) -> list[str]:
    """The worker processes of supervisor ``pid`` (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [c for c in children
            if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def _ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6(), reason="no IPv6 loopback on this machine")
def test_an_ipv6_host() -> None:
    with serve("--host", "::1") as (proc, port):
        wait_until(lambda: _up(f"http://[::1]:{port}"))
        r = httpx.post(f"http://[::1]:{port}/v1/chat/completions", json=CHAT, timeout=60)
        assert r.status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0


def test_a_port_in_use_is_one_line_never_a_traceback() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run([sys.executable, "-m", "mockllm", "serve", "--http", "mockllm",
                              "--port", str(port)], env=_env(), capture_output=True,
                             text=True, timeout=120)
    assert out.returncode == 2
    assert f"mockllm: error: cannot listen on 127.0.0.1:{port}" in out.stderr
    assert "Traceback" not in out.stderr


def test_the_server_is_chosen_by_flag_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MOCKLLM_HTTP", raising=False)
    args = parser().parse_args(["serve"])
    apply_environment(args)
    assert args.http is None  # the config's server.http decides
    monkeypatch.setenv("MOCKLLM_HTTP", "uvicorn")
    args = parser().parse_args(["serve"])
    assert apply_environment(args)["http"] == "MOCKLLM_HTTP" and args.http == "uvicorn"
    args = parser().parse_args(["serve", "--http", "mockllm"])
    apply_environment(args)
    assert args.http == "mockllm"
    monkeypatch.setenv("MOCKLLM_HTTP", "nginx")
    with pytest.raises(ValueError, match="MOCKLLM_HTTP: invalid choice: 'nginx'"):
        apply_environment(parser().parse_args(["serve"]))


def test_server_http_in_the_config_is_checked(tmp_path: Path) -> None:
    from mockllm.config import ConfigError, load_file

    bad = tmp_path / "c.yaml"
    bad.write_text("server:\n  http: nginx\n")
    with pytest.raises(ConfigError, match=r"c.yaml:2: .*must be one of mockllm, uvicorn"):
        load_file(bad)
