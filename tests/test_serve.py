"""`mockllm serve` as a real process: the embedded default config, and --workers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time

import httpx
import pytest

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answered(
    http: httpx.Client, url: str, proc: subprocess.Popen[str], log: object
) -> httpx.Response:
    deadline = time.monotonic() + 60
    while True:
        try:
            return http.post(url + "/v1/chat/completions", json=CHAT)
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)  # type: ignore[attr-defined]
                pytest.fail(f"server did not answer: {log.read()}")  # type: ignore[attr-defined]
            time.sleep(0.02)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_answers_on_the_embedded_default(http: httpx.Client, workers: str) -> None:
    port = _free_port()
    env = {**os.environ, "MOCKLLM_DISABLE_PLUGIN_AUTOLOAD": "1"}
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mockllm", "serve", "--port", str(port), "--workers", workers],
            env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
        )
        try:
            r = _answered(http, f"http://127.0.0.1:{port}", proc, log)
            assert r.status_code == 200
            body = r.json()
            assert body["model"] == "gpt-4o-mini-2024-07-18"
            assert body["usage"]["completion_tokens"] == 4
            for _ in range(4):  # every worker answers the same way
                again = http.post(f"http://127.0.0.1:{port}/v1/chat/completions", json=CHAT)
                assert again.json()["choices"] == body["choices"]
        finally:
            proc.terminate()
            proc.wait(15)
