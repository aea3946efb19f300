"""Instructions per served request, counted by callgrind: a server comparison a busy machine
does not move.

    python -m benchmarks.served_instructions [--servers baseline,mockllm,bare-own]
        [--requests 1000,3000] [--stream]

Each server runs under ``valgrind --tool=callgrind`` (``PYTHONHASHSEED=0``) and answers wrk's
chat request (``benchmarks/wrk/chat.lua``'s body; ``--stream``: its 64-token zero-latency
stream) N times over 4 keep-alive connections from a plain ``http.client`` loop, then stops
on SIGTERM. Two runs with different N; (instructions(N2) - instructions(N1)) / (N2 - N1) is
what one request costs in user space (the interpreter, uvloop, the parser, libc; not the
kernel), with start-up and shutdown cancelled out. The servers:

- ``baseline``: the bare Starlette app on uvicorn (``benchmarks.baseline_app``), the
  harness's reference;
- ``mockllm``: ``mockllm serve`` on its embedded default;
- ``bare-own``: the same bare Starlette app on mockllm's own HTTP layer, which splits
  mockllm's figure into the HTTP layer's share and the engine's.

Requests per second (``benchmarks.run``) moved by a third between runs of the same tree on
the shared 2-core machine; these counts move by well under 1%. They do not see cache misses
or the kernel, so a server that executes fewer instructions can still answer fewer requests
a second: read both. Takes a few minutes (valgrind runs Python about 50x slower).
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.procs import free_port, wait_healthy
from benchmarks.rawhttp import chat_body

REPO = Path(__file__).resolve().parent.parent
#: Started under valgrind, a server needs a while before it answers.
START_TIMEOUT_S = 600.0


def request_body(stream: bool) -> bytes:
    """wrk's request (benchmarks/wrk/chat.lua): 64 tokens, ``ignore_eos`` for streams."""
    return chat_body("gpt-4o-mini", stream, 64)


def server_argv(name: str, port: int) -> list[str]:
    py = sys.executable
    if name == "baseline":
        return [py, "-m", "benchmarks.baseline_app", "--port", str(port)]
    if name == "mockllm":
        return [py, "-m", "mockllm", "serve", "--port", str(port), "--log-level", "warning"]
    if name == "bare-own":
        code = ("from benchmarks.baseline_app import app; from mockllm.http import Server, bind;"
                f" Server(app, bind('127.0.0.1', {port})).run()")
        return [py, "-c", code]
    raise SystemExit(f"unknown server {name!r} (baseline, mockllm, bare-own)")


def drive(port: int, n: int, body: bytes) -> None:
    """``n`` requests over 4 keep-alive connections, each answer read whole."""
    conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=600) for _ in range(4)]
    for i in range(n):
        conn = conns[i % 4]
        conn.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise SystemExit(f"request {i}: HTTP {resp.status}")
    for conn in conns:
        conn.close()


def count(name: str, n: int, body: bytes, out_dir: Path) -> int:
    """Instructions of one server's whole run answering ``n`` requests."""
    port = free_port()
    out = out_dir / f"callgrind.{name}.{n}.out"
    env = dict(os.environ, PYTHONHASHSEED="0", MOCKLLM_DISABLE_PLUGIN_AUTOLOAD="1",
               PYTHONPATH=os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH")))))
    proc = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                             *server_argv(name, port)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_healthy(proc, port, START_TIMEOUT_S)  # type: ignore[arg-type]
        drive(port, n, body)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=START_TIMEOUT_S)
    for line in out.read_text(errors="replace").splitlines():
        if line.startswith("summary:") or line.startswith("totals:"):
            return int(line.split()[1])
    raise SystemExit(f"{out}: no summary line (did valgrind run?)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--servers", default="baseline,mockllm,bare-own")
    ap.add_argument("--requests", default="1000,3000", help="two request counts, N1,N2")
    ap.add_argument("--stream", action="store_true", help="64-token zero-latency streams")
    args = ap.parse_args()
    n1, n2 = (int(x) for x in args.requests.split(","))
    body = request_body(args.stream)
    per: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.servers.split(","):
            low, high = count(name, n1, body, Path(tmp)), count(name, n2, body, Path(tmp))
            per[name] = (high - low) / (n2 - n1)
            print(f"{name:>9}: {per[name] / 1000:8.1f}k instructions per request", flush=True)
    if "baseline" in per:
        for name, value in per.items():
            if name != "baseline":
                print(f"{name:>9} vs baseline: {value / per['baseline']:.3f}x the instructions")


if __name__ == "__main__":
    main()
