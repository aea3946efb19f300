"""Does one hostile-but-valid request stall the server? (issue 16, "Done when").

For each case below, a fresh ``mockllm serve`` (one worker) is asked the request while a
second thread polls ``GET /health`` every 10 ms on its own keep-alive connection. The worst
``/health`` latency seen while the request ran is that case's stall; the target is < 250 ms.

    python -m benchmarks.health_stall                  # every case
    python -m benchmarks.health_stall --cases prompt_near_limit,rules_nested_1500
    python -m benchmarks.health_stall --json out.json

Run it on a quiet machine (``uptime`` load < 1): on busy cores the figures measure the
neighbours. The server is not pinned; the client threads share the other cores.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from benchmarks.procs import free_port, wait_healthy

TARGET_MS = 250.0
POLL_S = 0.010
#: Every answer at zero latency: what is measured is the work, not a schedule.
FAST = {"x-mockllm-latency-ms": "ttft=0,itl=0"}
_WORDS = "the quick brown fox jumps over a lazy dog near the river bank at dawn ".split()


def _text(size: int) -> str:
    """About ``size`` bytes of word text (tokenizes like prose, not like one long run)."""
    unit = " ".join(_WORDS) + " "
    return (unit * (size // len(unit) + 1))[:size]


@dataclass
class Case:
    name: str
    what: str
    method: str
    path: str
    body: Callable[[], bytes]
    content_type: str = "application/json"
    stream: bool = False


def _chat(**extra: object) -> Callable[[], bytes]:
    def make() -> bytes:
        body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
        body.update(extra)
        return json.dumps(body).encode()
    return make


def _prompt(size: int, model: str = "gpt-4o") -> Callable[[], bytes]:
    def make() -> bytes:
        return json.dumps({"model": model, "max_tokens": 16,
                           "messages": [{"role": "user", "content": _text(size)}]}).encode()
    return make


def _rules_large() -> bytes:
    # About 3.4 MB of legal runtime rules: 15,000 rules with long answers.
    rule = ("- name: r{i}\n  match: {{last_user: {{contains: needle{i}}}}}\n"
            "  respond: {{text: \"{t}\"}}\n")
    t = _text(150)
    return "".join(rule.format(i=i, t=t) for i in range(15_000)).encode()


def _embeddings() -> bytes:
    return json.dumps({"model": "text-embedding-3-large",
                       "input": [f"document {i}: {_text(200)}" for i in range(2048)]}).encode()


def _responses() -> bytes:
    return json.dumps({"model": "gpt-4o", "input": "hi", "max_output_tokens": 16384,
                       "ignore_eos": True, "store": True}).encode()


CASES = [
    Case("chat_n4_16k_top20", "chat n=4 max_tokens=16384 logprobs top_logprobs=20 (the "
         "reported case)", "POST", "/v1/chat/completions",
         _chat(n=4, max_tokens=16384, logprobs=True, top_logprobs=20, ignore_eos=True)),
    Case("chat_n4_16k", "chat n=4 max_tokens=16384, no logprobs (65,536 tokens, legal)",
         "POST", "/v1/chat/completions", _chat(n=4, max_tokens=16384, ignore_eos=True)),
    Case("chat_logprobs_budget", "chat max_tokens=9500 top_logprobs=20 (190,000 entries, "
         "within the logprob budget)", "POST", "/v1/chat/completions",
         _chat(max_tokens=9500, logprobs=True, top_logprobs=20, ignore_eos=True)),
    Case("chat_128k", "chat max_completion_tokens=128000 to gpt-6.2-sol (its output limit)",
         "POST", "/v1/chat/completions",
         _chat(model="gpt-6.2-sol", max_completion_tokens=128000, ignore_eos=True)),
    Case("stream_n4_16k", "streamed chat n=4 max_tokens=16384", "POST",
         "/v1/chat/completions", _chat(n=4, max_tokens=16384, ignore_eos=True, stream=True),
         stream=True),
    Case("prompt_30mb", "a 30 MB prompt (over server.limits.prompt_bytes)", "POST",
         "/v1/chat/completions", _prompt(30 * 1024 * 1024)),
    Case("prompt_near_limit", "an 8 MB prompt, just under server.limits.prompt_bytes "
         "(tokenized, then over gpt-4o's context)", "POST", "/v1/chat/completions",
         _prompt(8 * 1024 * 1024 - 4096)),
    Case("prompt_legal_4mb", "a legal 4 MB prompt to gpt-4.1 (about 900k tokens of its "
         "1M context)", "POST", "/v1/chat/completions", _prompt(4 * 1024 * 1024, "gpt-4.1")),
    Case("rules_nested_1500", "runtime rules: 1,500 nested '{'", "POST", "/_mockllm/rules",
         lambda: b"{" * 1500, content_type="application/yaml"),
    Case("rules_large", "runtime rules: 3.4 MB of legal YAML (15,000 rules)", "POST",
         "/_mockllm/rules", _rules_large, content_type="application/yaml"),
    Case("embeddings_2048", "embeddings: 2,048 distinct inputs at 3,072 dims", "POST",
         "/v1/embeddings", _embeddings),
    Case("responses_16k", "Responses max_output_tokens=16384, stored", "POST",
         "/v1/responses", _responses),
]


class Poller:
    """``GET /health`` every 10 ms from a process of its own (so the client's own work on
    large bodies cannot hide a stall); keeps the worst latency seen while ``running``."""

    def __init__(self, base: str) -> None:
        ctx = mp.get_context("spawn")
        self.running, self.done = ctx.Event(), ctx.Event()
        self._worst, self._polls = ctx.Value("d", 0.0), ctx.Value("i", 0)
        self.proc = ctx.Process(target=_poll, daemon=True, args=(
            base, self.running, self.done, self._worst, self._polls))

    def start(self) -> None:
        self.proc.start()

    def join(self) -> None:
        self.proc.join(timeout=30)

    def reset(self) -> None:
        self._worst.value, self._polls.value = 0.0, 0

    @property
    def worst(self) -> float:
        return float(self._worst.value)

    @property
    def polls(self) -> int:
        return int(self._polls.value)


def _poll(base: str, running: Any, done: Any, worst: Any, polls: Any) -> None:
    with httpx.Client(base_url=base, timeout=300) as client:
        while not done.is_set():
            if not running.is_set():
                time.sleep(POLL_S)
                continue
            t0 = time.perf_counter()
            client.get("/health").raise_for_status()
            took = time.perf_counter() - t0
            if running.is_set():
                worst.value = max(worst.value, took)
                polls.value += 1
            time.sleep(max(POLL_S - took, 0))


def _send(client: httpx.Client, case: Case, body: bytes) -> tuple[int, int]:
    """(status, bytes of the answer)."""
    headers = {"content-type": case.content_type, **FAST}
    if case.stream:
        size = 0
        with client.stream(case.method, case.path, content=body, headers=headers) as r:
            for chunk in r.iter_bytes():
                size += len(chunk)
            return r.status_code, size
    r = client.request(case.method, case.path, content=body, headers=headers)
    return r.status_code, len(r.content)


def run_case(case: Case) -> dict[str, object]:
    port = free_port()
    env = {**os.environ, "MOCKLLM_DISABLE_PLUGIN_AUTOLOAD": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "mockllm", "serve", "--host", "127.0.0.1",
                             "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(proc, port, timeout=60)
        body = case.body()
        poller = Poller(base)
        poller.start()
        with httpx.Client(base_url=base, timeout=300) as client:
            _send(client, Case("warm", "", "POST", "/v1/chat/completions", _chat()), _chat()())
            poller.running.set()
            while poller.polls < 10:  # the poller process is up and answered
                time.sleep(POLL_S)
            poller.reset()
            t0 = time.perf_counter()
            status, size = _send(client, case, body)
            took = time.perf_counter() - t0
            poller.running.clear()
        poller.done.set()
        poller.join()
        worst_ms = round(poller.worst * 1000, 1)
        return {"case": case.name, "what": case.what, "status": status, "answer_bytes": size,
                "request_s": round(took, 3), "health_polls": poller.polls,
                "worst_health_ms": worst_ms, "pass": worst_ms < TARGET_MS}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.health_stall",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    ap.add_argument("--json", default="", help="also write the rows to this file")
    args = ap.parse_args(argv)
    wanted = [c for c in args.cases.split(",") if c]
    unknown = set(wanted) - {c.name for c in CASES}
    if unknown:
        ap.error(f"unknown cases: {', '.join(sorted(unknown))}")
    rows = [run_case(c) for c in CASES if not wanted or c.name in wanted]
    print(f"load average: {os.getloadavg()[0]:.2f} (figures need a quiet machine, < 1)")
    print(f"{'case':24} {'status':>6} {'request s':>10} {'worst /health ms':>17}  pass")
    for r in rows:
        print(f"{r['case']:24} {r['status']:>6} {r['request_s']:>10} "
              f"{r['worst_health_ms']:>17}  {'yes' if r['pass'] else 'NO'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return 0 if all(r["pass"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
