"""Turn raw per-round results into medians, ratios, target checks and a Markdown table."""

from __future__ import annotations

import math
import statistics
from typing import Any

# (name, what, comparison, threshold); ratios are mockllm / reference from the same run.
TARGETS: list[tuple[str, str, str, float]] = [
    # issue 19 raised this from 0.75 (issue 6) to 1.0
    ("chat_vs_baseline", "non-streaming chat req/s vs bare Starlette", ">=", 1.0),
    ("stream_vs_baseline", "64-token streams/s vs bare Starlette", ">=", 1.0),
    ("chat_vs_legacy", "non-streaming chat req/s vs MockLLM 0.0.8", ">=", 15.0),
    ("chat_vs_aimock", "non-streaming chat req/s vs aimock", ">=", 2.0),
    ("stream_vs_aimock", "64-token streams/s vs aimock", ">=", 1.0),
    ("idle_kb_per_stream", "RSS per idle open stream (KB)", "<=", 50.0),
    ("startup_s", "start to first answered request (s)", "<=", 1.0),
]


# The Python peers (benchmarks/pypeers.py): reported as mockllm / peer, no goal.
PEER_NAMES = ("llmock", "fakellm", "mock-ai-api")
SERVER_ORDER = ("baseline", "mockllm", "before", "legacy", "aimock", *PEER_NAMES)


def _median(values: list[float]) -> float:
    clean = [v for v in values if not math.isnan(v)]
    return statistics.median(clean) if clean else math.nan


def summarise_throughput(rounds: list[dict[str, Any]], name: str, mode: str) -> dict[str, Any]:
    runs = [r[name][mode] for r in rounds if name in r and mode in r[name]]
    if not runs:
        return {}
    return {
        "rps": _median([x["rps"] for x in runs]),
        "p50_ms": _median([x["latency_ms"]["p50"] for x in runs]),
        "p99_ms": _median([x["latency_ms"]["p99"] for x in runs]),
        "rps_per_round": [round(x["rps"], 1) for x in runs],
        "server_cpu": _median([x.get("server_cpu_fraction", math.nan) for x in runs]),
        # Requests per second of server CPU: what the server would do with a whole core.
        # Robust to neighbours stealing core 0, which raw req/s on a shared box is not.
        "rps_per_cpu_s": _median(
            [x["rps"] / x["server_cpu_fraction"] for x in runs if x.get("server_cpu_fraction")]
        ),
        "errors": sum(x["errors"] for x in runs),
        "non2xx": sum(x["non2xx"] for x in runs),
    }


def per_round_ratios(rounds: list[dict[str, Any]], a: str, b: str, mode: str) -> list[float]:
    return [
        r[a][mode]["rps"] / r[b][mode]["rps"]
        for r in rounds
        if a in r and b in r and mode in r[a] and mode in r[b] and r[b][mode]["rps"]
    ]


def ratio(num: dict[str, Any], den: dict[str, Any], key: str = "rps") -> float:
    if not num or not den or not den.get(key):
        return math.nan
    return float(num[key] / den[key])


def check(value: float, op: str, threshold: float) -> str:
    if math.isnan(value):
        return "n/a"
    ok = value >= threshold if op == ">=" else value <= threshold
    return "PASS" if ok else "FAIL"


def _f(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def markdown(results: dict[str, Any]) -> str:
    s = results["summary"]
    meta = results["meta"]
    out = [
        f"# mockllm benchmark, {meta['started_utc']}",
        "",
        f"Load generator: {meta['load_generator']}, {meta['connections']} connections, "
        f"{meta['duration_s']:g} s per run, {meta['rounds']} interleaved round(s), "
        + (
            "server pinned to core 0, client on core 1. "
            if meta["pinned"]
            else "no CPU pinning (taskset missing, < 2 cores, or --no-pin). "
        )
        + "Medians over rounds.",
        "",
        "## Throughput",
        "",
        "| server | chat req/s | chat p50 ms | chat p99 ms "
        "| streams/s | token chunks/s | stream p50 ms | stream p99 ms "
        "| chat req per CPU-s | streams per CPU-s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in SERVER_ORDER:
        chat = s["throughput"].get(name, {}).get("chat", {})
        stream = s["throughput"].get(name, {}).get("stream", {})
        if not chat and not stream:
            continue
        out.append(
            f"| {results['servers'].get(name, name)} | {_f(chat.get('rps'))} "
            f"| {_f(chat.get('p50_ms'), 2)} | {_f(chat.get('p99_ms'), 2)} "
            f"| {_f(stream.get('rps'))} | {_f(stream.get('token_chunks_per_s'), 0)} "
            f"| {_f(stream.get('p50_ms'), 2)} | {_f(stream.get('p99_ms'), 2)} "
            f"| {_f(chat.get('rps_per_cpu_s'), 0)} | {_f(stream.get('rps_per_cpu_s'), 0)} |"
        )
    out += [
        "",
        "Server CPU share while loaded (1.0 = its core saturated, i.e. the server is the "
        "bottleneck as intended): "
        + ", ".join(
            f"{results['servers'].get(n, n)} {_f(m.get('chat', {}).get('server_cpu'), 2)}"
            f"/{_f(m.get('stream', {}).get('server_cpu'), 2)}"
            for n, m in s["throughput"].items()
        )
        + " (chat/stream).",
        "",
        "## Targets",
        "",
        "Ratios are median mockllm over median reference; the last column gives the range of "
        "the per-round ratios (each round runs the servers back to back).",
        "",
        "| target | measured | goal | result | per-round range | per CPU-second |",
        "|---|---:|---:|---|---:|---:|",
    ]
    for key, what, op, threshold in TARGETS:
        value = s["targets"].get(key, math.nan)
        rounds = s.get("per_round_ratios", {}).get(key) or []
        spread = f"{min(rounds):.2f}–{max(rounds):.2f}" if rounds else "–"
        per_cpu = s.get("cpu_normalised_ratios", {}).get(key, math.nan)
        out.append(
            f"| {what} | {_f(value, 2)} | {op} {threshold:g} | {check(value, op, threshold)} "
            f"| {spread} | {_f(per_cpu, 2)} |"
        )
    before = s.get("before_ratios") or {}
    if before:
        out += [
            "",
            f"Before ({results['servers'].get('before')}) and after, each over the bare app of "
            "the same rounds:",
            "",
            "| ratio | before | after | per-round before | per-round after |",
            "|---|---:|---:|---:|---:|",
        ]
        for key, v in before.items():
            ranges = [f"{min(r):.2f}–{max(r):.2f}" if r else "–"
                      for r in (v["rounds_before"], v["rounds_after"])]
            out.append(f"| {key.replace('_vs_', ' vs ')} | {_f(v['before'], 2)} "
                       f"| {_f(v['after'], 2)} | {ranges[0]} | {ranges[1]} |")
    peers = s.get("peer_ratios") or {}
    if peers:
        out += [
            "",
            "Python peers, mockllm / peer from the same run (no goal):",
            "",
            "| ratio | req/s | per CPU-second |",
            "|---|---:|---:|",
        ]
        out += [
            f"| {key.replace('_vs_', ' vs ')} | {_f(v['rps'], 2)} | {_f(v['per_cpu_s'], 2)} |"
            for key, v in peers.items()
        ]
    out += ["", "## Start-up, idle streams, pacing", ""]
    out += ["| measurement | baseline | mockllm |", "|---|---:|---:|"]
    st = s.get("startup", {})
    out.append(
        "| start to first answer, median s (max) | "
        + " | ".join(
            f"{_f(st[n]['median_s'], 3)} ({_f(st[n]['max_s'], 3)})"
            if "median_s" in st.get(n, {})
            else "–"
            for n in ("baseline", "mockllm")
        )
        + " |"
    )
    idle = s.get("idle", {})
    idle_rows: tuple[tuple[str, str | None, int], ...] = (
        ("idle streams open / requested", None, 0),
        ("RSS per idle stream, KB", "kb_per_stream", 1),
        ("RSS per 1,000 idle streams, MB", "mb_per_1000_streams", 1),
    )
    for label, col, digits in idle_rows:
        cells = []
        for n in ("baseline", "mockllm"):
            row = idle.get(n)
            if not row or "error" in row:
                cells.append("error" if row else "–")
            elif col is None:
                cells.append(f"{row['open']:,} / {row['requested']:,}")
            else:
                cells.append(_f(row[col], digits))
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    pace = s.get("pacing", {})
    for label, side, key in (
        ("pacing error mean ms (client)", "client", "mean_ms"),
        ("pacing error p99 ms (client)", "client", "p99_ms"),
        ("… of which token 0 (TTFT), mean ms", "client_first_token", "mean_ms"),
        ("… token i vs token 0 + i·ITL, p99 ms", "client_relative_to_first_token", "p99_ms"),
        ("pacing error mean ms (server /metrics)", "server_histogram", "mean_ms"),
        ("pacing error p99 ms (server /metrics)", "server_histogram", "p99_ms"),
    ):
        cells = []
        for n in ("baseline", "mockllm"):
            view: dict[str, Any] = pace.get(n, {}).get(side) or {}
            cells.append(_f(view.get(key), 2) if view.get("available", True) else "–")
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    ok_pace = [p for p in pace.values() if "error" not in p]
    if ok_pace:
        any_pace = ok_pace[0]
        out += [
            "",
            f"Pacing: {any_pace['streams']:,} concurrent streams, TTFT {any_pace['ttft_ms']:g} ms, "
            f"ITL {any_pace['itl_ms']:g} ms, {any_pace['tokens']} tokens; the baseline column is "
            "the bare app pacing with asyncio.sleep (the floor for this client).",
        ]
    if results.get("notes"):
        out += ["", "## Notes", ""] + [f"- {n}" for n in results["notes"]]
    return "\n".join(out) + "\n"
