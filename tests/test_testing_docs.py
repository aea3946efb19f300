"""docs/testing.md is a small project: every block that starts with ``# file: NAME`` is one
of its files. It is written out and run by pytest in a subprocess (the plugin loads through
its real ``pytest11`` entry point), once serially and once with ``-n 2`` (pytest-xdist)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "testing.md"
_BLOCK = re.compile(r"^```(\w+)\n# file: (\S+)\n(.*?)^```$", re.M | re.S)


def project() -> dict[str, str]:
    files = {name: body for _, name, body in _BLOCK.findall(DOC.read_text())}
    assert len(files) == len(_BLOCK.findall(DOC.read_text())), "two blocks name one file"
    return files


def run_pytest(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOCKLLM_", "PYTEST_"))}
    # Hermetic: a mockllm plugin installed in this venv must not answer the docs' examples.
    env["MOCKLLM_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    for name in ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "OLLAMA_HOST"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--strict-markers", "-p", "no:cacheprovider",
         *args],
        cwd=folder, env=env, capture_output=True, text=True, timeout=300,
    )


@pytest.fixture(scope="module")
def docs_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    folder = tmp_path_factory.mktemp("testing-docs")
    files = project()
    for name, body in files.items():
        (folder / name).write_text(body)
    tests = sum(len(re.findall(r"^(?:async )?def test_", body, re.M))
                for name, body in files.items() if name.startswith("test_"))
    return folder, tests


def test_the_guide_covers_the_fixtures_marker_and_assertions() -> None:
    text = "\n".join(project().values())
    for needed in ("mockllm_env", "add_rules", "assert_called", "last_request", ".requests",
                   "pytest.mark.mockllm(config=", "pytest.mark.mockllm(rules=",
                   "pytest.mark.anyio", "pytest.mark.asyncio", "mockllm_config"):
        assert needed in text, needed


@pytest.mark.parametrize("args", [(), ("-n", "2")], ids=["serial", "xdist-2"])
def test_the_guide_passes(docs_project: tuple[Path, int], args: tuple[str, ...]) -> None:
    folder, tests = docs_project
    out = run_pytest(folder, *args)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert f"{tests} passed" in out.stdout, out.stdout[-2000:]
