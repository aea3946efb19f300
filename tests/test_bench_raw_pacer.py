"""benchmarks/raw_pacer.py, the floor pacing_bench and pacing_budget measure against: with the
extra CPU of ``--request-us``/``--token-us`` it still answers every token and ends the stream,
and the extra cost shows in the process's CPU (what pacing_budget's table rests on)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.pacing_bench import free_port, request_bytes
from benchmarks.procs import wait_healthy
from benchmarks.raw_pacer import CHUNK, spin

ROOT = Path(__file__).resolve().parent.parent


def test_spin_spends_at_least_what_it_is_asked() -> None:
    t0 = time.process_time()
    spin(0.02)
    assert time.process_time() - t0 >= 0.02  # CPU time, however busy the machine is
    spin(0)  # no cost asked: returns at once


@pytest.fixture()
def raw_pacer() -> object:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.raw_pacer", "--port", str(port), "--ttft", "0",
         "--itl", "0", "--tokens", "3", "--request-us", "20000", "--token-us", "1000"],
        cwd=ROOT)
    try:
        wait_healthy(proc, port)
        yield port, proc
    finally:
        proc.terminate()
        proc.wait(10)


def test_with_extra_cost_every_token_and_the_end_still_arrive(raw_pacer: tuple[int, object]
                                                            ) -> None:
    port, _ = raw_pacer
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(request_bytes(port, 3))
        data = b""
        while not data.endswith(b"0\r\n\r\n"):
            more = s.recv(65536)
            if not more:
                break
            data += more
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    assert data.count(CHUNK) == 3
    assert b"data: [DONE]\n\n" in data and data.endswith(b"0\r\n\r\n")


def test_the_request_cost_shows_in_the_server_cpu(raw_pacer: tuple[int, object]) -> None:
    port, proc = raw_pacer
    stat = Path(f"/proc/{proc.pid}/stat")  # type: ignore[attr-defined]

    def cpu() -> float:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, clock ticks

    before = cpu()
    for _ in range(5):  # 5 x 20 ms spun per request
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(request_bytes(port, 3))
            while s.recv(65536):
                pass
    assert cpu() - before >= 0.08
