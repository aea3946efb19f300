"""The one command: ``python -m benchmarks.run`` (from the repository root).

Starts each server alone on loopback (pinned to core 0 when taskset exists), drives it from
core 1, interleaves baseline / mockllm / MockLLM 0.0.8 rounds, and writes
``<out>/results-<timestamp>.json`` and ``.md``. See benchmarks/README.md for every option.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import shlex
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import legacy, report, scenarios
from benchmarks.procs import (
    Server,
    ServerSpec,
    pin_self_to_client_core,
    pinning_available,
    raise_nofile,
)
from benchmarks.rawhttp import install_uvloop
from benchmarks.wrk_driver import find_wrk

REPO = Path(__file__).resolve().parent.parent
ALL_TARGETS = ("baseline", "mockllm", "legacy")
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
        "--targets", default=",".join(ALL_TARGETS), help="subset of " + ",".join(ALL_TARGETS)
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
    args = p.parse_args(argv)
    args.targets = [
        t for t in args.targets.split(",") if t and not (args.skip_legacy and t == "legacy")
    ]
    args.phases = [x for x in args.phases.split(",") if x]
    for bad in set(args.targets) - set(ALL_TARGETS) | set(args.phases) - set(ALL_PHASES):
        p.error(f"unknown target/phase {bad!r}")
    return args


def mockllm_spec(args: argparse.Namespace, config: str | None) -> ServerSpec:
    if args.mockllm_cmd:
        cmd = shlex.split(args.mockllm_cmd)
    else:
        script = Path(sys.executable).parent / "mockllm"
        cmd = [str(script)] if script.exists() else [sys.executable, "-m", "mockllm"]
    env: dict[str, str] = {}
    if args.mockllm_src:
        # The console script would also import from PYTHONPATH first; -m makes it explicit.
        cmd = cmd if args.mockllm_cmd else [sys.executable, "-m", "mockllm"]
        env["PYTHONPATH"] = str(args.mockllm_src)
    argv = cmd + ["serve", "--host", "{host}", "--port", "{port}"]
    if config:
        argv += ["--config", str(Path(config).resolve())]
    if args.workers is not None:
        argv += ["--workers", str(args.workers)]
    # Run from the snapshot: with -m, the cwd comes before PYTHONPATH on sys.path.
    cwd = str(args.mockllm_src) if args.mockllm_src else None
    return ServerSpec("mockllm", argv, env=env, cwd=cwd, model=args.model)


def export_revision(rev: str, dest: Path) -> Path:
    """``git archive REV mockllm plugins_builtin`` into dest (read-only use of the repo)."""
    tar = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", rev, "mockllm", "plugins_builtin"],
        capture_output=True,
        check=True,
    ).stdout
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(dest, filter="data")
    return dest


def baseline_spec(
    args: argparse.Namespace, ttft_ms: float | None = None, itl_ms: float | None = None
) -> ServerSpec:
    argv = [sys.executable, "-m", "benchmarks.baseline_app", "--host", "{host}", "--port", "{port}"]
    if ttft_ms is not None or itl_ms is not None:
        argv += ["--ttft-ms", f"{ttft_ms or 0:g}", "--itl-ms", f"{itl_ms or 0:g}"]
    return ServerSpec("baseline", argv, cwd=str(REPO), model=args.model)


def git_head() -> str:
    proc = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return proc.stdout.strip() or "unknown"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def serve_and_load(
    args: argparse.Namespace, spec: ServerSpec, ctx: dict[str, Any], round_no: int
) -> dict[str, Any]:
    """One fresh server: readiness, a shape check, then warm-up + measured load per mode."""
    modes = ["chat"] if spec.name == "mockllm-0.0.8" else ["chat", "stream"]
    kw: dict[str, Any] = dict(
        wrk=ctx["wrk"], connections=args.connections, max_tokens=args.stream_tokens, pin=ctx["pin"]
    )
    out: dict[str, Any] = {}
    with Server(spec, ctx["log_dir"], ctx["pin"]) as server:
        out["ready_s"] = server.wait_ready()
        out["verify"] = scenarios.verify(server, args.stream_tokens)
        for mode in modes:
            if args.warmup > 0:
                scenarios.throughput(server, mode, duration=args.warmup, **kw)
            out[mode] = r = scenarios.throughput(server, mode, duration=args.duration, **kw)
            log(
                f"round {round_no} {spec.name:13} {mode:6} {r['rps']:9.1f}/s "
                f"p99 {r['latency_ms']['p99']:.2f} ms err {r['errors']} non2xx {r['non2xx']} "
                f"server cpu {r['server_cpu_fraction']:.2f} "
                f"(waiting for cpu {r['server_runqueue_fraction']:.2f})"
            )
    return out


def run_throughput(
    args: argparse.Namespace, specs: dict[str, ServerSpec], ctx: dict[str, Any]
) -> list[dict[str, Any]]:
    """Rounds of baseline, mockllm, legacy, baseline, ... so drift hits every server alike."""
    rounds: list[dict[str, Any]] = []
    for i in range(1, args.rounds + 1):
        row: dict[str, Any] = {}
        for name, spec in specs.items():
            row[name] = guarded(name, f"round {i}", serve_and_load, args, spec, ctx, i)
        rounds.append(row)
    return rounds


def guarded(
    name: str, what: str, fn: Callable[..., dict[str, Any]], *fn_args: Any
) -> dict[str, Any]:
    """Run one phase; a server that fails (e.g. mockllm still half-written) must not lose
    the rest of the run, so the failure is recorded in the results instead of raised."""
    try:
        return fn(*fn_args)
    except Exception as exc:  # noqa: BLE001 - any failure is data here
        log(f"{what} {name}: FAILED {exc!r}")
        return {"error": repr(exc)}


def start_paced(
    args: argparse.Namespace,
    ctx: dict[str, Any],
    name: str,
    ttft_ms: float,
    itl_ms: float,
    config: str | None,
) -> tuple[Server, str, str]:
    """A running server that paces streams as asked: (server, header to send, how).

    The baseline paces by CLI flags. mockllm gets, in order: the user's ``--*-config``; else
    the per-request latency header, checked with a probe stream; else a generated config
    whose default latency is the asked one (so the phase still runs on a server without the
    header).
    """
    if name == "baseline":
        server = Server(baseline_spec(args, ttft_ms, itl_ms), ctx["log_dir"], ctx["pin"])
        attempts = [(server, "", "baseline flags")]
    else:
        attempts = []
        if config:
            attempts.append(
                (Server(mockllm_spec(args, config), ctx["log_dir"], ctx["pin"]), "", "config")
            )
        else:
            if args.latency_header:
                default = Server(mockllm_spec(args, args.config), ctx["log_dir"], ctx["pin"])
                attempts.append((default, args.latency_header, "header"))
            generated = ctx["log_dir"] / f"latency-ttft{ttft_ms:g}-itl{itl_ms:g}.yaml"
            generated.parent.mkdir(parents=True, exist_ok=True)
            generated.write_text(scenarios.latency_config(args.model, ttft_ms, itl_ms))
            attempts.append(
                (
                    Server(mockllm_spec(args, str(generated)), ctx["log_dir"], ctx["pin"]),
                    "",
                    "generated config",
                )
            )
    reasons = []
    for server, header, how in attempts:
        server.start()
        try:
            server.wait_ready(chat=False)
            reason = scenarios.probe_pacing(server, min(ttft_ms, 100), min(itl_ms, 1000), header)
        except Exception:
            server.stop()
            raise
        if reason is None:
            return server, header, how
        server.stop()
        reasons.append(f"{how}: {reason}")
        log(f"{name} pacing via {how} failed: {reason}")
    raise RuntimeError("; ".join(reasons))


def run_idle(args: argparse.Namespace, ctx: dict[str, Any], names: list[str]) -> dict[str, Any]:
    def phase(name: str) -> dict[str, Any]:
        server, header, how = start_paced(args, ctx, name, 0, args.idle_itl_ms, args.idle_config)
        with server:
            result = scenarios.idle_streams(
                server,
                count=args.idle_streams,
                itl_ms=args.idle_itl_ms,
                hold_s=args.idle_hold,
                header_name=header,
            )
        return {"latency_via": how, **result}

    out: dict[str, Any] = {}
    for name in names:
        out[name] = r = guarded(name, "idle", phase, name)
        if "error" not in r:
            log(f"idle {name}: {r['open']}/{r['requested']} open, {r['kb_per_stream']:.1f} KB each")
    return out


def run_pacing(args: argparse.Namespace, ctx: dict[str, Any], names: list[str]) -> dict[str, Any]:
    def phase(name: str) -> dict[str, Any]:
        server, header, how = start_paced(
            args, ctx, name, args.pacing_ttft_ms, args.pacing_itl_ms, args.pacing_config
        )
        with server:
            result = scenarios.pacing(
                server,
                count=args.pacing_streams,
                ttft_ms=args.pacing_ttft_ms,
                itl_ms=args.pacing_itl_ms,
                tokens=args.pacing_tokens,
                header_name=header,
                metrics_path=args.metrics_path,
            )
        return {"latency_via": how, **result}

    out: dict[str, Any] = {}
    for name in names:
        out[name] = r = guarded(name, "pacing", phase, name)
        if "error" not in r:
            c = r["client"]
            log(f"pacing {name}: error mean {c['mean_ms']} ms, p99 {c['p99_ms']} ms (client)")
    return out


def summarise(args: argparse.Namespace, raw: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    notes: list[str] = []
    rounds = raw.get("throughput", [])
    thr: dict[str, Any] = {}
    for name in args.targets:
        thr[name] = {m: report.summarise_throughput(rounds, name, m) for m in ("chat", "stream")}
        stream = thr[name]["stream"]
        verify = [r[name]["verify"] for r in rounds if "verify" in r.get(name, {})]
        if stream and verify:
            tokens = statistics_median([v["stream_tokens"] for v in verify])
            frames = statistics_median([v["stream_frames"] for v in verify])
            stream["tokens_per_stream"] = tokens
            stream["sse_frames_per_stream"] = frames
            stream["token_chunks_per_s"] = stream["rps"] * tokens
            stream["sse_frames_per_s"] = stream["rps"] * frames
            if tokens != args.stream_tokens:
                notes.append(
                    f"{name}: a stream carried {tokens} token chunks, not {args.stream_tokens}"
                )
        failed = [r[name]["error"] for r in rounds if "error" in r.get(name, {})]
        if failed:
            notes.append(f"{name}: {len(failed)} round(s) failed, first: {failed[0]}")
        for mode in ("chat", "stream"):
            cpus = [r[name][mode]["server_cpu_fraction"] for r in rounds if mode in r.get(name, {})]
            waits = [
                r[name][mode]["server_runqueue_fraction"] for r in rounds if mode in r.get(name, {})
            ]
            starved = [c for c in cpus if c < 0.85]
            if starved:
                notes.append(
                    f"{name} {mode}: in {len(starved)} of {len(cpus)} runs the server used < 85% "
                    f"of its core (min {min(starved):.0%}); it was runnable but waiting for the "
                    f"CPU up to {max(waits):.0%} of the time (other processes on core 0), and "
                    "idle the rest (client side slow, or core 1 busy)"
                )
        for mode, s in thr[name].items():
            if s and (s["errors"] or s["non2xx"]):
                notes.append(
                    f"{name} {mode}: {s['errors']} socket errors, {s['non2xx']} non-2xx answers"
                )
    targets = {
        "chat_vs_baseline": report.ratio(
            thr.get("mockllm", {}).get("chat", {}), thr.get("baseline", {}).get("chat", {})
        ),
        "stream_vs_baseline": report.ratio(
            thr.get("mockllm", {}).get("stream", {}), thr.get("baseline", {}).get("stream", {})
        ),
        "chat_vs_legacy": report.ratio(
            thr.get("mockllm", {}).get("chat", {}), thr.get("legacy", {}).get("chat", {})
        ),
        "idle_kb_per_stream": raw.get("idle", {}).get("mockllm", {}).get("kb_per_stream", math.nan),
        "startup_s": raw.get("startup", {}).get("mockllm", {}).get("median_s", math.nan),
    }
    per_round = {
        "chat_vs_baseline": report.per_round_ratios(rounds, "mockllm", "baseline", "chat"),
        "stream_vs_baseline": report.per_round_ratios(rounds, "mockllm", "baseline", "stream"),
        "chat_vs_legacy": report.per_round_ratios(rounds, "mockllm", "legacy", "chat"),
    }
    cpu_normalised = {
        key: report.ratio(
            thr.get(a, {}).get(mode, {}), thr.get(b, {}).get(mode, {}), "rps_per_cpu_s"
        )
        for key, a, b, mode in (
            ("chat_vs_baseline", "mockllm", "baseline", "chat"),
            ("stream_vs_baseline", "mockllm", "baseline", "stream"),
            ("chat_vs_legacy", "mockllm", "legacy", "chat"),
        )
    }
    summary = {
        "throughput": thr,
        "cpu_normalised_ratios": cpu_normalised,
        "targets": targets,
        "per_round_ratios": per_round,
        "startup": raw.get("startup", {}),
        "idle": raw.get("idle", {}),
        "pacing": raw.get("pacing", {}),
    }
    return summary, notes


def statistics_median(values: list[int]) -> int:
    return sorted(values)[len(values) // 2]


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
    if "legacy" in args.targets:
        log("preparing MockLLM 0.0.8 venv")
        specs["legacy"] = legacy.legacy_spec(
            args.legacy_venv, args.out / "legacy-work", args.legacy_mode
        )
        servers["legacy"] = f"MockLLM 0.0.8 ({args.legacy_mode})"

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
