"""Run wrk (Debian package ``wrk``) with benchmarks/wrk/chat.lua and parse its JSON line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).with_name("wrk") / "chat.lua"


def find_wrk(try_install: bool) -> str | None:
    """Path of wrk; optionally try ``apt-get update && apt-get install -y wrk`` once (as root)."""
    found = shutil.which("wrk")
    if found or not try_install or not shutil.which("apt-get") or os.geteuid() != 0:
        return found
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        subprocess.run(cmd, capture_output=True, timeout=600, check=False)
    return shutil.which("wrk")


def run_wrk(
    wrk: str,
    url: str,
    mode: str,
    model: str,
    max_tokens: int,
    connections: int,
    duration: float,
    pin: list[str],
    header: tuple[str, str] | None = None,
) -> dict[str, Any]:
    args = [mode, model, str(max_tokens)] + (list(header) if header else [])
    cmd = pin + [
        wrk,
        "-t1",  # one thread: the client gets exactly one core
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        str(SCRIPT),
        url,
        "--",
        *args,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk produced no result: {proc.stdout}\n{proc.stderr}")
    raw = json.loads(line.removeprefix("WRK_JSON "))
    seconds = raw["duration_us"] / 1e6
    errs = raw["errors"]
    lat = raw["latency_us"]
    return {
        "tool": "wrk",
        "requests": raw["requests"],
        "duration_s": seconds,
        "rps": raw["requests"] / seconds if seconds else 0.0,
        "errors": errs["connect"] + errs["read"] + errs["write"] + errs["timeout"],
        "non2xx": errs["status"],
        "bytes": raw["bytes"],
        "latency_ms": {k: v / 1000 for k, v in lat.items()},
    }
