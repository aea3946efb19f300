"""The one command: ``python -m benchmarks.run`` (from the repository root).

Starts each server alone on loopback (pinned to core 0 when taskset exists), drives it from
core 1, interleaves baseline / mockllm / MockLLM 0.0.8 rounds, and writes
``<out>/results-<timestamp>.json`` and ``.md``. See benchmarks/README.md for every option.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import aimock, legacy, pypeers, report, scenarios
from benchmarks.phases import guarded, log, run_idle, run_pacing, run_throughput
from benchmarks.procs import ServerSpec, pin_self_to_client_core, pinning_available, raise_nofile
from benchmarks.rawhttp import install_uvloop
from benchmarks.servers import REPO, baseline_spec, export_revision, git_head, mockllm_spec
from benchmarks.summary import summarise
from benchmarks.wrk_driver import find_wrk

ALL_TARGETS = ("baseline", "mockllm", "legacy", "aimock", *pypeers.PEERS)
# Not in the default run: each needs a first-time pip install (see benchmarks/pypeers.py).
DEFAULT_TARGETS = ("baseline", "mockllm", "legacy", "aimock")
ALL_PHASES = ("throughput", "startup", "idle", "pacing")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    g = p.add_argument_group("run")
    g.add_argument("--duration", type=float, default=5.0, help="seconds per load run")
    g.add_argument("--warmup", type=float, default=1.0, help="seconds of load before measuring")
    g.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="interleaved rounds per server (many short rounds beat few long ones on a noisy box)",
    )
    g.add_argument("--connections", type=int, default=32)
    g.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    g.add_argument(
        "--targets", default=",".join(DEFAULT_TARGETS), help="subset of " + ",".join(ALL_TARGETS)
    )
    g.add_argument(
        "--phases", default=",".join(ALL_PHASES), help="subset of " + ",".join(ALL_PHASES)
    )
    g.add_argument("--skip-legacy", action="store_true", help="same as leaving out 'legacy'")
    g.add_argument("--no-pin", action="store_true", help="do not use taskset / CPU affinity")
    g.add_argument("--loadgen", action="store_true", help="use the bundled client, not wrk")
    g.add_argument("--install-wrk", action="store_true", help="apt-get install wrk if missing")
    g = p.add_argument_group("requests")
    g.add_argument("--model", default="gpt-4o-mini")
    g.add_argument("--stream-tokens", type=int, default=64)
    g.add_argument(
        "--latency-header",
        default="x-mockllm-latency-ms",
        help="per-request latency header ('' to send none)",
    )
    g = p.add_argument_group("mockllm")
    g.add_argument(
        "--mockllm-cmd",
        default=None,
        help="command before 'serve' (default: the venv's mockllm script)",
    )
    g.add_argument(
        "--mockllm-rev",
        default=None,
        help="benchmark this git revision's mockllm/ and plugins_builtin/ (git archive into "
        "the results dir, put first on PYTHONPATH) instead of the working tree",
    )
    g.add_argument(
        "--before-rev",
        default=None,
        help="also run this git revision's mockllm as server 'before', in the same "
        "interleaved rounds: before/after ratios against the same bare app (throughput)",
    )
    g.add_argument("--config", default=None, help="--config for throughput/startup runs")
    g.add_argument("--workers", type=int, default=None, help="pass --workers N (default: omit)")
    g = p.add_argument_group("start-up")
    g.add_argument("--startup-trials", type=int, default=5)
    g = p.add_argument_group("idle streams")
    g.add_argument("--idle-streams", type=int, default=10_000)
    g.add_argument("--idle-itl-ms", type=float, default=1000.0)
    g.add_argument("--idle-hold", type=float, default=3.0, help="seconds to hold before sampling")
    g.add_argument(
        "--idle-config",
        default=None,
        help="server config giving the slow ITL (then no header is sent)",
    )
    g = p.add_argument_group("pacing")
    g.add_argument("--pacing-streams", type=int, default=1000)
    g.add_argument("--pacing-ttft-ms", type=float, default=100.0)
    g.add_argument("--pacing-itl-ms", type=float, default=10.0)
    g.add_argument("--pacing-tokens", type=int, default=50)
    g.add_argument(
        "--pacing-config",
        default=None,
        help="server config giving TTFT/ITL (then no header is sent)",
    )
    g.add_argument("--metrics-path", default="/metrics")
    g = p.add_argument_group("MockLLM 0.0.8")
    g.add_argument("--legacy-venv", type=Path, default=legacy.DEFAULT_VENV)
    g.add_argument(
        "--legacy-mode",
        choices=("start", "uvicorn"),
        default="start",
        help="'start': its documented CLI (reload + access log); 'uvicorn': bare, best case",
    )
    g = p.add_argument_group("aimock (npm @copilotkit/aimock, Node)")
    g.add_argument("--skip-aimock", action="store_true", help="same as leaving out 'aimock'")
    g.add_argument(
        "--aimock-dir",
        type=Path,
        default=aimock.DEFAULT_DIR,
        help="npm --prefix it is installed into on first use",
    )
    g.add_argument("--aimock-version", default=aimock.DEFAULT_VERSION)
    g = p.add_argument_group("Python peers (" + ", ".join(pypeers.PEERS) + ")")
    g.add_argument(
        "--peers-dir",
        type=Path,
        default=pypeers.DEFAULT_ROOT,
        help="each peer's venv is <dir>/<name>, created on first use",
    )
    args = p.parse_args(argv)
    skipped = {"legacy"} if args.skip_legacy else set()
    skipped |= {"aimock"} if args.skip_aimock else set()
    args.targets = [t for t in args.targets.split(",") if t and t not in skipped]
    args.phases = [x for x in args.phases.split(",") if x]
    for bad in set(args.targets) - set(ALL_TARGETS) | set(args.phases) - set(ALL_PHASES):
        p.error(f"unknown target/phase {bad!r}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    args.out.mkdir(parents=True, exist_ok=True)
    pin = pinning_available() and not args.no_pin
    pin_self_to_client_core(pin)
    nofile = raise_nofile()
    loop_name = install_uvloop()
    wrk = None if args.loadgen else find_wrk(args.install_wrk)
    load_start = Path("/proc/loadavg").read_text().split()[:3]
    args.mockllm_src = None
    if args.mockllm_rev:
        args.mockllm_src = export_revision(args.mockllm_rev, args.out / f"src-{stamp}")
        log(f"mockllm from git revision {args.mockllm_rev} in {args.mockllm_src}")
    ctx: dict[str, Any] = {"pin": pin, "wrk": wrk, "log_dir": args.out / f"logs-{stamp}"}
    notes: list[str] = []
    if not wrk and not args.loadgen:
        notes.append(
            "wrk not found: used the bundled asyncio load generator (install: apt-get install wrk)"
        )
    log(f"pinned={pin} wrk={wrk} nofile={nofile} client loop={loop_name}")

    specs: dict[str, ServerSpec] = {}
    servers: dict[str, str] = {}
    if "baseline" in args.targets:
        specs["baseline"] = baseline_spec(args)
        servers["baseline"] = "bare Starlette"
    if "mockllm" in args.targets:
        specs["mockllm"] = mockllm_spec(args, args.config)
        servers["mockllm"] = "mockllm serve"
    if args.before_rev:
        before_src = export_revision(args.before_rev, args.out / f"before-{stamp}")
        specs["before"] = mockllm_spec(args, args.config, src=before_src, name="before")
        servers["before"] = f"mockllm serve @ {args.before_rev}"
        args.targets.append("before")
    if "legacy" in args.targets:
        log("preparing MockLLM 0.0.8 venv")
        specs["legacy"] = legacy.legacy_spec(
            args.legacy_venv, args.out / "legacy-work", args.legacy_mode
        )
        servers["legacy"] = f"MockLLM 0.0.8 ({args.legacy_mode})"
    if "aimock" in args.targets:
        log(f"preparing aimock {args.aimock_version} in {args.aimock_dir}")
        try:
            specs["aimock"] = aimock.aimock_spec(
                args.aimock_dir,
                args.aimock_version,
                args.out / "aimock-work",
                args.stream_tokens,
                args.model,
            )
            servers["aimock"] = f"aimock {args.aimock_version}"
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            # A missing Node must not cost the rest of the run; the results say so.
            log(f"aimock left out: {exc}")
            notes.append(f"aimock left out: {exc}")
            args.targets.remove("aimock")
    for name in [t for t in args.targets if t in pypeers.PEERS]:
        peer = pypeers.PEERS[name]
        log(f"preparing {name} {peer.version} in {args.peers_dir / name}")
        try:
            specs[name] = pypeers.peer_spec(
                name, args.peers_dir, args.out / "peers-work", args.stream_tokens, args.model
            )
            servers[name] = f"{name} {peer.version}"
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            log(f"{name} left out: {exc}")
            notes.append(f"{name} left out: {exc}")
            args.targets.remove(name)

    raw: dict[str, Any] = {}
    if "throughput" in args.phases:
        raw["throughput"] = run_throughput(args, specs, ctx)
    if "startup" in args.phases:
        raw["startup"] = {}
        for name in ("baseline", "mockllm"):
            if name in specs:
                spec = specs[name]
                raw["startup"][name] = r = guarded(
                    name,
                    "startup",
                    scenarios.startup,
                    spec,
                    ctx["log_dir"],
                    pin,
                    args.startup_trials,
                )
                if "error" not in r:
                    log(f"startup {name}: {r['median_s']:.3f} s median")
    if "idle" in args.phases:
        raw["idle"] = run_idle(args, ctx, [n for n in ("baseline", "mockllm") if n in specs])
    if "pacing" in args.phases:
        raw["pacing"] = run_pacing(args, ctx, [n for n in ("baseline", "mockllm") if n in specs])

    summary, more_notes = summarise(args, raw)
    results = {
        "meta": {
            "started_utc": stamp,
            "command": " ".join(["python -m benchmarks.run", *map(shlex.quote, sys.argv[1:])]),
            "load_generator": "wrk -t1" if wrk else "bundled asyncio loadgen",
            "connections": args.connections,
            "duration_s": args.duration,
            "rounds": args.rounds,
            "pinned": pin,
            "python": sys.version.split()[0],
            "mockllm_rev": args.mockllm_rev or "working tree",
            "git_head": git_head(),
            "loadavg_start": load_start,
            "loadavg_end": Path("/proc/loadavg").read_text().split()[:3],
        },
        "servers": servers,
        "summary": summary,
        "raw": raw,
        "notes": notes + more_notes,
    }
    json_path = args.out / f"results-{stamp}.json"
    md_path = args.out / f"results-{stamp}.md"
    json_path.write_text(json.dumps(results, indent=2, default=str))
    md_path.write_text(report.markdown(results))
    print(md_path.read_text())
    log(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
