"""An aiperf concurrency sweep against the vLLM-like profile, plotted.

    eval "$(bash benchmarks/aiperf_env.sh)"          # offline aiperf (docs/aiperf.md)
    python -m benchmarks.sweep_aiperf [--concurrency 1 4 16 64]
        [--config examples/configs/vllm-like.yaml] [--out docs/sweep]

Starts ``mockllm serve`` on the config (one worker), runs ``aiperf profile`` once per
concurrency (streaming chat, ISL 100, OSL 50 with ``ignore_eos``, server token counts), and
writes ``OUT.json`` (the figures) and ``OUT.png`` (output throughput and TTFT against
concurrency; matplotlib, the ``bench`` extra). With ``max_concurrent: 16`` throughput rises
to 16 and then stays flat, while TTFT grows with the queue. Request counts are kept small
(a few per slot) so a sweep takes about two minutes on a small machine.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.procs import wait_healthy

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(config: Path, port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, MOCKLLM_DISABLE_PLUGIN_AUTOLOAD="1")
    proc = subprocess.Popen([sys.executable, "-m", "mockllm", "serve", "--config", str(config),
                             "--port", str(port), "--log-level", "warning"], env=env)
    wait_healthy(proc, port)
    return proc


def run_aiperf(aiperf: str, port: int, model: str, concurrency: int, requests: int,
               osl: int, artifacts: Path) -> dict[str, float]:
    cmd = [aiperf, "profile", "--model", model, "--tokenizer", "cl100k_base",
           "--url", f"http://127.0.0.1:{port}", "--ui-type", "none", "--no-gpu-telemetry",
           "--endpoint-type", "chat", "--streaming", "--use-server-token-count",
           "--isl", "100", "--osl", str(osl), "--extra-inputs", "ignore_eos:true",
           "--concurrency", str(concurrency), "--request-count", str(requests),
           "--artifact-dir", str(artifacts)]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    data = json.loads((artifacts / "profile_export_aiperf.json").read_text())
    ttft, itl = data["time_to_first_token"], data["inter_token_latency"]
    return {
        "concurrency": concurrency,
        "requests": data["request_count"]["avg"],
        "errors": len(data.get("error_summary") or []),
        "output_tokens_per_s": data["output_token_throughput"]["avg"],
        "requests_per_s": data["request_throughput"]["avg"],
        "ttft_avg_ms": ttft["avg"], "ttft_p50_ms": ttft["p50"], "ttft_p99_ms": ttft["p99"],
        "itl_avg_ms": itl["avg"],
    }


def plot(rows: list[dict[str, float]], max_concurrent: int | None, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [r["concurrency"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(xs, [r["output_tokens_per_s"] for r in rows], "o-", color="tab:blue")
    left.set_ylabel("output tokens / s")
    left.set_title("Output throughput")
    right.plot(xs, [r["ttft_avg_ms"] / 1000 for r in rows], "o-", label="mean",
               color="tab:red")
    right.plot(xs, [r["ttft_p99_ms"] / 1000 for r in rows], "s--", label="p99",
               color="tab:orange")
    right.set_ylabel("TTFT (s)")
    right.set_title("Time to first token")
    right.legend()
    for ax in (left, right):
        ax.set_xscale("log", base=2)
        ax.set_xticks(xs, [str(int(x)) for x in xs])
        ax.set_xlabel("concurrency (aiperf)")
        ax.grid(True, alpha=0.3)
        if max_concurrent:
            ax.axvline(max_concurrent, color="grey", linestyle=":",
                       label=f"max_concurrent = {max_concurrent}")
    left.legend()
    fig.suptitle("mockllm, examples/configs/vllm-like.yaml: aiperf concurrency sweep")
    fig.tight_layout()
    fig.savefig(out, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=ROOT / "examples/configs/vllm-like.yaml")
    parser.add_argument("--model", default="llama-3.1-8b")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--per-slot", type=int, default=3,
                        help="requests per concurrent client (at least 8 in all)")
    parser.add_argument("--osl", type=int, default=50)
    parser.add_argument("--max-concurrent", type=int, default=16, help="drawn on the plot")
    parser.add_argument("--out", type=Path, default=ROOT / "docs/sweep")
    args = parser.parse_args()
    aiperf = os.environ.get("AIPERF", str(Path.home() / ".cache/mockllm/aiperf-venv/bin/aiperf"))
    port = free_port()
    proc = start_server(args.config, port)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for c in args.concurrency:
                row = run_aiperf(aiperf, port, args.model, c, max(8, args.per_slot * c),
                                 args.osl, Path(tmp) / f"c{c}")
                print(json.dumps(row), flush=True)
                rows.append(row)
    finally:
        proc.terminate()
        proc.wait(10)
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=2) + "\n")
    plot(rows, args.max_concurrent, args.out.with_suffix(".png"))
    print(f"wrote {args.out.with_suffix('.json')} and {args.out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
