"""aimock (npm ``@copilotkit/aimock``, a Node mock of many LLM APIs) as a peer to measure.

It is installed on demand with ``npm install --prefix <cache dir>`` (default
``~/.cache/mockllm/aimock``), so nothing lands in the repository or in a global
``node_modules``. We start its fixture server the way its README's CLI section does
(``llmock -p PORT -f FIXTURES``, the ``dist/cli.js`` bin that the Docker image runs), with one
catch-all fixture (an empty ``match``) whose content is 64 chunks: ``--chunk-size 4`` over a
256-character answer of ``"tok "`` x 64, at its default zero latency between chunks. Every
stream then carries exactly 64 token chunks (plus its role and finish chunks and ``[DONE]``),
like the baseline's and mockllm's with ``--stream-tokens 64``, and the harness's shape check
records and verifies that. ``--log-level warn``: its default ``info`` logs every request.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from benchmarks.procs import ServerSpec

PACKAGE = "@copilotkit/aimock"
DEFAULT_VERSION = "1.43.0"  # the version issue 19's figures were measured with
DEFAULT_DIR = Path.home() / ".cache" / "mockllm" / "aimock"
CHUNK_CHARS = 4
TOKEN = "tok "  # CHUNK_CHARS characters: one chunk each


def package_dir(prefix: Path) -> Path:
    return prefix / "node_modules" / "@copilotkit" / "aimock"


def installed_version(prefix: Path) -> str | None:
    try:
        meta = json.loads((package_dir(prefix) / "package.json").read_text())
    except (OSError, ValueError):
        return None
    version = meta.get("version")
    return version if isinstance(version, str) else None


def ensure_installed(prefix: Path, version: str) -> Path:
    """``npm install --prefix prefix @copilotkit/aimock@version`` unless already there; the
    path of its CLI script. Raises RuntimeError when node or npm is missing or npm fails."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        raise RuntimeError("aimock needs node and npm on PATH (Node 20+)")
    if installed_version(prefix) != version:
        prefix.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [
                npm,
                "install",
                "--prefix",
                str(prefix),
                "--no-audit",
                "--no-fund",
                f"{PACKAGE}@{version}",
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"npm install {PACKAGE}@{version} failed: {proc.stderr[-2000:]}")
    cli = package_dir(prefix) / "dist" / "cli.js"
    if not cli.is_file():
        raise RuntimeError(f"{cli} missing after npm install")
    return cli


def fixture(tokens: int) -> dict[str, object]:
    """One catch-all fixture: any request gets ``tokens`` chunks of CHUNK_CHARS characters."""
    return {"fixtures": [{"match": {}, "response": {"content": TOKEN * tokens}}]}


def aimock_spec(prefix: Path, version: str, work_dir: Path, tokens: int, model: str) -> ServerSpec:
    cli = ensure_installed(prefix, version)
    work_dir.mkdir(parents=True, exist_ok=True)
    fixtures = work_dir / f"catch-all-{tokens}.json"
    fixtures.write_text(json.dumps(fixture(tokens)))
    node = shutil.which("node") or "node"
    argv = [node, str(cli), "--host", "{host}", "--port", "{port}", "--fixtures", str(fixtures)]
    argv += ["--chunk-size", str(CHUNK_CHARS), "--latency", "0", "--log-level", "warn"]
    return ServerSpec(name="aimock", argv=argv, cwd=str(work_dir), model=model)
