"""Phase runners: start the right server(s) for each phase, run it, log one line each."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from benchmarks import scenarios
from benchmarks.procs import Server, ServerSpec
from benchmarks.servers import baseline_spec, mockllm_spec


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def serve_and_load(
    args: argparse.Namespace, spec: ServerSpec, ctx: dict[str, Any], round_no: int
) -> dict[str, Any]:
    """One fresh server: readiness, a shape check, then warm-up + measured load per mode."""
    modes = spec.modes
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
    """Rounds of baseline, mockllm, legacy, aimock, baseline, ... so drift hits every server
    alike. Each round starts one server further on (round 2: mockllm, ..., baseline): run in
    the same place every round, the last server measured 10-30% more streams/s than the same
    code in another place (two mockllm trees swapped between two runs, 2026-12-04)."""
    rounds: list[dict[str, Any]] = []
    order = list(specs.items())
    for i in range(1, args.rounds + 1):
        row: dict[str, Any] = {}
        shift = (i - 1) % len(order) if order else 0
        for name, spec in order[shift:] + order[:shift]:
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
