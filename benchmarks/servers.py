"""How each server under test is started (argv, env, cwd), and what revision is measured."""

from __future__ import annotations

import argparse
import io
import os
import shlex
import subprocess
import sys
import tarfile
from pathlib import Path

from benchmarks.procs import ServerSpec

REPO = Path(__file__).resolve().parent.parent


def mockllm_spec(args: argparse.Namespace, config: str | None, src: Path | None = None,
                 name: str = "mockllm") -> ServerSpec:
    """``mockllm serve``, from ``src`` (a ``git archive`` of a revision; default
    ``--mockllm-rev``'s) or the working tree."""
    src = src if src is not None else args.mockllm_src
    if args.mockllm_cmd:
        cmd = shlex.split(args.mockllm_cmd)
    else:
        script = Path(sys.executable).parent / "mockllm"
        cmd = [str(script)] if script.exists() else [sys.executable, "-m", "mockllm"]
    env: dict[str, str] = {}
    # Measure mockllm itself: a third-party plugin installed in the venv (examples/mockllm-echo,
    # say, which answers chat) would otherwise be measured instead.
    # Set MOCKLLM_DISABLE_PLUGIN_AUTOLOAD=0 in the environment to measure with them.
    if "MOCKLLM_DISABLE_PLUGIN_AUTOLOAD" not in os.environ:
        env["MOCKLLM_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    if src:
        # The console script would also import from PYTHONPATH first; -m makes it explicit.
        cmd = cmd if args.mockllm_cmd else [sys.executable, "-m", "mockllm"]
        env["PYTHONPATH"] = str(src)
    argv = cmd + ["serve", "--host", "{host}", "--port", "{port}"]
    if config:
        argv += ["--config", str(Path(config).resolve())]
    if args.workers is not None:
        argv += ["--workers", str(args.workers)]
    # Run from the snapshot: with -m, the cwd comes before PYTHONPATH on sys.path.
    cwd = str(src) if src else None
    return ServerSpec(name, argv, env=env, cwd=cwd, model=args.model)


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
