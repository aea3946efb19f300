"""From raw per-round results to the summary: medians, ratios, targets, notes."""

from __future__ import annotations

import argparse
import math
from typing import Any

from benchmarks import report


def summarise(args: argparse.Namespace, raw: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    notes: list[str] = []
    rounds = raw.get("throughput", [])
    thr: dict[str, Any] = {}
    for name in args.targets:
        thr[name] = {m: report.summarise_throughput(rounds, name, m) for m in ("chat", "stream")}
        stream = thr[name]["stream"]
        verify = [r[name]["verify"] for r in rounds if "verify" in r.get(name, {})]
        if stream and verify:
            tokens = _median_int([v["stream_tokens"] for v in verify])
            frames = _median_int([v["stream_frames"] for v in verify])
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
        "chat_vs_aimock": report.ratio(
            thr.get("mockllm", {}).get("chat", {}), thr.get("aimock", {}).get("chat", {})
        ),
        "stream_vs_aimock": report.ratio(
            thr.get("mockllm", {}).get("stream", {}), thr.get("aimock", {}).get("stream", {})
        ),
        "idle_kb_per_stream": raw.get("idle", {}).get("mockllm", {}).get("kb_per_stream", math.nan),
        "startup_s": raw.get("startup", {}).get("mockllm", {}).get("median_s", math.nan),
    }
    per_round = {
        "chat_vs_baseline": report.per_round_ratios(rounds, "mockllm", "baseline", "chat"),
        "stream_vs_baseline": report.per_round_ratios(rounds, "mockllm", "baseline", "stream"),
        "chat_vs_legacy": report.per_round_ratios(rounds, "mockllm", "legacy", "chat"),
        "chat_vs_aimock": report.per_round_ratios(rounds, "mockllm", "aimock", "chat"),
        "stream_vs_aimock": report.per_round_ratios(rounds, "mockllm", "aimock", "stream"),
    }
    cpu_normalised = {
        key: report.ratio(
            thr.get(a, {}).get(mode, {}), thr.get(b, {}).get(mode, {}), "rps_per_cpu_s"
        )
        for key, a, b, mode in (
            ("chat_vs_baseline", "mockllm", "baseline", "chat"),
            ("stream_vs_baseline", "mockllm", "baseline", "stream"),
            ("chat_vs_legacy", "mockllm", "legacy", "chat"),
            ("chat_vs_aimock", "mockllm", "aimock", "chat"),
            ("stream_vs_aimock", "mockllm", "aimock", "stream"),
        )
    }
    # mockllm / peer, req/s and per CPU-second, for the peers without a target of their own.
    peer_ratios = {
        f"{mode}_vs_{name}": {
            "rps": report.ratio(thr["mockllm"].get(mode, {}), thr[name].get(mode, {})),
            "per_cpu_s": report.ratio(
                thr["mockllm"].get(mode, {}), thr[name].get(mode, {}), "rps_per_cpu_s"
            ),
        }
        for name in report.PEER_NAMES
        if name in thr and "mockllm" in thr
        for mode in ("chat", "stream")
        if thr[name].get(mode)
    }
    # --before-rev: the same ratios for the other revision, from the same rounds.
    before_ratios = {
        f"{mode}_vs_baseline": {
            "before": report.ratio(thr["before"].get(mode, {}), thr["baseline"].get(mode, {})),
            "after": report.ratio(thr["mockllm"].get(mode, {}), thr["baseline"].get(mode, {})),
            "rounds_before": report.per_round_ratios(rounds, "before", "baseline", mode),
            "rounds_after": report.per_round_ratios(rounds, "mockllm", "baseline", mode),
        }
        for mode in ("chat", "stream")
        if all(n in thr for n in ("before", "mockllm", "baseline"))
    }
    summary = {
        "throughput": thr,
        "before_ratios": before_ratios,
        "peer_ratios": peer_ratios,
        "cpu_normalised_ratios": cpu_normalised,
        "targets": targets,
        "per_round_ratios": per_round,
        "startup": raw.get("startup", {}),
        "idle": raw.get("idle", {}),
        "pacing": raw.get("pacing", {}),
    }
    return summary, notes


def _median_int(values: list[int]) -> int:
    return sorted(values)[len(values) // 2]
