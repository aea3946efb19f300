"""What installing mockllm adds to a pytest run that uses none of its fixtures:
``python -m benchmarks.pytest_plugin_cost [--runs N]``.

Runs pytest on a one-test suite in a fresh interpreter each time, alternating with the
plugin (as installed: its ``pytest11`` entry point) and without it (``-p no:mockllm``), so
machine load hits both alike. Prints the medians and their difference, and the plugin's own
import time (``python -X importtime``).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _run(folder: Path, *extra: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra,
                    "test_plain.py"], cwd=folder, check=True, capture_output=True)
    return time.perf_counter() - t0


def import_ms() -> float:
    out = subprocess.run([sys.executable, "-X", "importtime", "-c",
                          "import pytest, mockllm.testing"], capture_output=True, text=True)
    for line in out.stderr.splitlines():
        if line.rstrip().endswith("| mockllm.testing"):
            return int(line.split("|")[1]) / 1000
    return float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "test_plain.py").write_text("def test_plain():\n    assert True\n")
        _run(folder)  # warm the file cache
        with_plugin, without = [], []
        for _ in range(args.runs):
            with_plugin.append(_run(folder))
            without.append(_run(folder, "-p", "no:mockllm"))
    a, b = statistics.median(with_plugin), statistics.median(without)
    print(f"pytest on one plain test, median of {args.runs} alternating runs:")
    print(f"  with the mockllm plugin    {a * 1000:7.1f} ms")
    print(f"  with -p no:mockllm         {b * 1000:7.1f} ms")
    print(f"  difference                 {(a - b) * 1000:+7.1f} ms")
    print(f"  import of mockllm.testing  {import_ms():7.1f} ms (cumulative, python -X importtime)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
