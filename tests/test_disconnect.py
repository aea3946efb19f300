"""A client that leaves while it waits for a non-streamed answer frees everything at once:
its load slot, the running gauges, and the journal says ``client_disconnected``."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from mockllm.testing import LiveServer, run_server, test_context

CONFIG = ("models: [{id: busy, load: {max_concurrent: 2, queue_size: 4}}]\n"
          "defaults: {latency: {ttft_ms: 60000, itl_ms: 1}, respond: {generate: {tokens: 3}}}\n")


def wait_until(cond: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60  # a generous bound for a busy machine, never a race
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.005)
    assert cond()


def send(live: LiveServer | str, path: str, body: dict[str, object]) -> socket.socket:
    """A non-streamed request on a raw socket, left waiting for its answer."""
    url = live if isinstance(live, str) else live.url
    host, port = url.removeprefix("http://").split(":")
    raw = json.dumps(body).encode()
    sock = socket.create_connection((host, int(port)))
    sock.sendall(f"POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n"
                 f"content-length: {len(raw)}\r\n\r\n".encode() + raw)
    return sock


@pytest.mark.parametrize(("path", "body"), [
    ("/v1/chat/completions", {"model": "busy", "messages": [{"role": "user", "content": "hi"}]}),
    ("/v1/completions", {"model": "busy", "prompt": "hi"}),
    ("/v1/messages", {"model": "busy", "max_tokens": 5,
                      "messages": [{"role": "user", "content": "hi"}]}),
    ("/api/chat", {"model": "busy", "stream": False,
                   "messages": [{"role": "user", "content": "hi"}]}),
])
def test_abandoned_requests_free_their_slots_at_once(
    tmp_path: Path, http: httpx.Client, path: str, body: dict[str, object]
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG)
    with run_server(test_context(config_path=str(config))) as live:
        load = live.context.timing.loads["busy"]
        first, second = send(live, path, body), send(live, path, body)
        wait_until(lambda: load.running == 2)  # both hold a slot for a minute
        first.close()
        second.close()
        wait_until(lambda: load.running == 0 and load.waiting == 0)
        metrics = http.get(live.url + "/metrics").text
        running = [line for line in metrics.splitlines()
                   if line.startswith("vllm:num_requests_running{")]
        assert running and all(line.endswith(" 0.0") for line in running), running
        # The next request gets a slot at once instead of queueing behind ghosts.
        third = send(live, path, body)
        wait_until(lambda: load.running == 1)
        assert load.waiting == 0
        third.close()
        wait_until(lambda: load.running == 0)

        def journal() -> list[dict[str, object]]:
            return http.get(live.url + "/_mockllm/requests").json()["requests"]  # type: ignore[no-any-return]

        wait_until(lambda: len(journal()) == 3)
        entries = journal()
        assert [e["client_disconnected"] for e in entries] == [True, True, True]
        assert {e["status"] for e in entries} == {499}


def test_sigterm_cancels_what_outlives_the_graceful_timeout(tmp_path: Path) -> None:
    """A 10-minute TTFT used to hold a SIGTERM exit for its whole length."""
    import signal
    import subprocess
    import sys

    config = tmp_path / "c.yaml"
    config.write_text("server: {shutdown_timeout_s: 0.5}\n"
                      "defaults: {latency: {ttft_ms: 600000}}\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "mockllm", "serve", "--port", str(port),
                             "--config", str(config)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(timeout=60) as http:
            def up() -> bool:
                try:
                    return http.get(url + "/health").status_code == 200
                except httpx.TransportError:
                    return False

            wait_until(up)
            sock = send(url, "/v1/chat/completions", {
                "model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
        time.sleep(0.2)  # let the request reach its wait (no assertion depends on it)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0  # a bound for a busy machine, not 600 s
        sock.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
