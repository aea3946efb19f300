"""Record-then-replay round trip through the CLI: ``python -m benchmarks.record_roundtrip``.

An upstream ``mockllm serve`` with a paced rule (TTFT and ITL of its own), ``mockllm record``
in front of it, then ``mockllm serve --config`` on the recorded file. The same streamed
chat request is timed from the client (the openai SDK) against all three: TTFT is the first
content chunk, ITL the mean gap between content chunks. Prints a table and the replay's
differences from the upstream; the issue's bar is 25 ms.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import openai

UPSTREAM = """
rules:
  - match: {last_user: {contains: paced}}
    respond: {generate: {tokens: %(tokens)d, seed: 7}}
    latency: {ttft_ms: %(ttft)d, itl_ms: %(itl)d}
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(*args: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    env = {**os.environ, "MOCKLLM_DISABLE_PLUGIN_AUTOLOAD": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "mockllm", *args, "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            httpx.get(url + "/health", timeout=30)
            return proc, url
        except httpx.TransportError:
            time.sleep(0.05)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    proc.wait(60)


def measure(url: str, runs: int) -> tuple[float, float]:
    """Median TTFT and median mean-ITL (ms) over ``runs`` streamed requests (one warm-up)."""
    client = openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0)
    ttfts, itls = [], []
    for i in range(runs + 1):
        t0 = time.perf_counter()
        stamps = []
        stream = client.chat.completions.create(
            model="gpt-4o", stream=True, messages=[{"role": "user", "content": "paced, please"}])
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                stamps.append(time.perf_counter())
        if i == 0:
            continue  # connection set-up
        ttfts.append((stamps[0] - t0) * 1000)
        itls.append((stamps[-1] - stamps[0]) * 1000 / (len(stamps) - 1))
    return statistics.median(ttfts), statistics.median(itls)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ttft", type=int, default=150)
    ap.add_argument("--itl", type=int, default=20)
    ap.add_argument("--tokens", type=int, default=60)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        cfg, rules = Path(folder) / "upstream.yaml", Path(folder) / "rules.yaml"
        cfg.write_text(UPSTREAM % vars(args))
        upstream, up_url = _start("serve", "--config", str(cfg))
        try:
            direct = measure(up_url, args.runs)
            recorder, rec_url = _start("record", "--upstream", up_url, "--out", str(rules))
            try:
                through = measure(rec_url, args.runs)
            finally:
                _stop(recorder)
        finally:
            _stop(upstream)
        replay, rep_url = _start("serve", "--config", str(rules))
        try:
            replayed = measure(rep_url, args.runs)
        finally:
            _stop(replay)
    print(f"upstream rule: ttft_ms={args.ttft} itl_ms={args.itl}, {args.tokens} tokens; "
          f"medians of {args.runs} streamed requests, measured by the openai SDK client")
    print(f"{'':<18}{'TTFT ms':>10}{'ITL ms':>10}")
    for name, (ttft, itl) in (("upstream", direct), ("through recorder", through),
                              ("replay", replayed)):
        print(f"{name:<18}{ttft:>10.1f}{itl:>10.2f}")
    print(f"replay - upstream: TTFT {replayed[0] - direct[0]:+.1f} ms, "
          f"ITL {replayed[1] - direct[1]:+.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
