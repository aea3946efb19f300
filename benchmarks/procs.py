"""Server processes under test: spawn (pinned), wait until answering, read RSS, stop."""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.rawhttp import chat_body, fetch

SERVER_CORE = 0
CLIENT_CORE = 1


def pinning_available() -> bool:
    return shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2


def pin_prefix(core: int, enabled: bool) -> list[str]:
    return ["taskset", "-c", str(core)] if enabled else []


def pin_self_to_client_core(enabled: bool) -> None:
    """The harness itself is the client for the raw-asyncio phases, so it lives on core 1."""
    if enabled and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {CLIENT_CORE})


def raise_nofile() -> int:
    """10k open streams need >10k fds in client and server; children inherit this limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def wait_healthy(proc: subprocess.Popen[bytes], port: int, timeout: float = 30.0) -> None:
    """Poll ``GET /health`` until it answers; kill ``proc`` and exit if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("mockllm did not start")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class ServerSpec:
    """How to start one server; ``{host}`` and ``{port}`` in argv are filled in at spawn."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    model: str = "gpt-4o-mini"
    # What the throughput phase measures; chat only for a server whose streams cannot be
    # made zero-latency (MockLLM 0.0.8, fakellm, mock-ai-api).
    modes: tuple[str, ...] = ("chat", "stream")


class Server:
    def __init__(self, spec: ServerSpec, log_dir: Path, pin: bool, host: str = "127.0.0.1"):
        self.spec = spec
        self.host = host
        self.port = free_port()
        self.pin = pin
        self.log_path = log_dir / f"server-{spec.name}-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.spawned_at = 0.0

    def start(self) -> None:
        argv = [a.format(host=self.host, port=self.port) for a in self.spec.argv]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.spec.env}
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self.spawned_at = time.perf_counter()
        # Own session so stop() can signal the server and any workers it forks, and nothing else.
        self.proc = subprocess.Popen(
            pin_prefix(SERVER_CORE, self.pin) + argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self.spec.cwd,
            start_new_session=True,
        )
        log.close()

    def wait_ready(self, timeout: float = 30.0, interval: float = 0.01, chat: bool = True) -> float:
        """Seconds from spawn until a real chat request is answered 200 (polled every 10 ms).

        ``chat=False`` polls ``GET /health`` instead and takes any HTTP answer: a server
        configured with slow latency takes (TTFT + n * ITL) to answer a chat request.
        """
        body = chat_body(self.spec.model, stream=False, max_tokens=16) if chat else None
        path = "/v1/chat/completions" if chat else "/health"

        async def poll() -> float:
            deadline = self.spawned_at + timeout
            while time.perf_counter() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"{self.spec.name} exited; see {self.log_path}")
                try:
                    reply = await fetch(self.host, self.port, path, body, timeout=5)
                    if reply.status == 200 or not chat:
                        return time.perf_counter() - self.spawned_at
                except (TimeoutError, OSError):
                    pass
                await asyncio.sleep(interval)
            raise TimeoutError(f"{self.spec.name} not answering after {timeout}s; {self.log_path}")

        return asyncio.run(poll())

    def pids(self) -> list[int]:
        """The server process and its descendants (uvicorn workers), via /proc ppid links."""
        if self.proc is None:
            return []
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
        found, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(children.get(pid, []))
        return found

    def rss_kb(self) -> int:
        """Sum of VmRSS over the process tree, in KiB."""
        total = 0
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                continue
        return total

    def cpu_s(self) -> float:
        """User + system CPU seconds used so far by the process tree (utime/stime in ticks)."""
        ticks = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def runqueue_wait_s(self) -> float:
        """Seconds the process tree sat runnable but not running (schedstat field 2): time
        taken by other tasks on the server's core, i.e. noisy neighbours."""
        total = 0
        for pid in self.pids():
            try:
                total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[1])
            except (OSError, IndexError, ValueError):
                continue
        return total / 1e9

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        pgid = self.proc.pid  # == its own process group (start_new_session)
        os.killpg(pgid, signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            self.proc.wait(10)

    def __enter__(self) -> Server:
        if self.proc is None:  # callers may have started (and probed) it already
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
