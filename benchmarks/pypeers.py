"""The Python peers on PyPI (LLMock, fakellm, mock-ai-api) as servers to measure.

Each is installed on first use, at a pinned version, into its own venv under
``~/.cache/mockllm/peers/<name>`` (``python3.11 -m venv`` + ``pip install name==version``),
never into the project's venv or the repository. What each one can be made to answer, read
from its source at that version (docs/performance.md, "Python peers", has the numbers):

- **llmock** 0.2.2 (FastAPI): its default latency, stream chunk delay, error rates and
  stream faults are all 0 unless set by flag, env or config; we set none but pass
  ``LLMOCK_LATENCY_MS=0`` and ``LLMOCK_STREAM_CHUNK_DELAY_MS=0`` to be explicit. Its stream
  is one chunk per word of the answer (``text_pieces``), and the only way to choose the
  answer is a scenario ``Reply``, which its CLI cannot load (only
  ``POST /_llmock/scenario`` at run time). So we start the same app its ``llmock serve`` starts
  (``llmock.main:create_app`` under ``uvicorn.run``) from a six-line launcher that first queues
  one permanent ``Reply(text="tok " * 64, times=None)``: 64 content chunks, as for the others.
  The launcher sets uvicorn's ``log_level="warning"`` (``llmock serve --log-level warning``
  would do the same); that also turns off the access log.
- **fakellm** 0.3.5 (FastAPI): one catch-all rule in a ``fakellm.yaml`` answering 64 words.
  Its OpenAI stream sleeps a fixed 10 ms after every word (``streaming.py``, not configurable),
  so a 64-token stream takes >= 640 ms: it is measured on chat only. Run as
  ``uvicorn fakellm.server:app --no-access-log`` with ``FAKELLM_CONFIG`` (what ``fakellm serve``
  runs, minus the access log that its CLI cannot turn off).
- **mock-ai-api** 0.1.1 (a Starlette app): ``mock-ai-api`` starts two uvicorn children on fixed
  127.0.0.1 ports with the access log on; we run its OpenAI app alone,
  ``uvicorn app.openai_app:app --no-access-log``. The answer is chosen by the model name
  (``gpt-4o-mini`` gives ``"Hello. It's nice to meet you."``; there is no fixture file); its
  stream groups 8 words per chunk (one content chunk here) and sleeps a fixed 40 ms between
  events (``app/common.py``), so it too is measured on chat only.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from benchmarks.procs import ServerSpec

DEFAULT_ROOT = Path.home() / ".cache" / "mockllm" / "peers"
TOKEN = "tok "

LLMOCK_LAUNCHER = """\
import sys, uvicorn
from llmock.main import create_app
from llmock.scenarios import Reply
app = create_app()
app.state.llmock.scenarios.add(Reply(text=sys.argv[3], times=None))
uvicorn.run(app, host=sys.argv[1], port=int(sys.argv[2]), log_level="warning")
"""


@dataclass(frozen=True)
class Peer:
    name: str  # the target name and the PyPI name
    version: str
    modes: tuple[str, ...]  # what is measured; why not streams: the module docstring


PEERS: dict[str, Peer] = {
    p.name: p
    for p in (
        Peer("llmock", "0.2.2", ("chat", "stream")),
        Peer("fakellm", "0.3.5", ("chat",)),
        Peer("mock-ai-api", "0.1.1", ("chat",)),
    )
}


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_venv(venv: Path, package: str, version: str) -> Path:
    """``python3.11 -m venv`` + ``pip install package==version`` unless already there."""
    py = venv_python(venv)
    check = f"import importlib.metadata as m; assert m.version({package!r}) == {version!r}"
    probe = [str(py), "-c", check]
    # cwd=venv: from the repo, a peer's top-level "server"/"app" could be shadowed.
    if py.exists() and subprocess.run(probe, capture_output=True, cwd=venv).returncode == 0:
        return py
    python = shutil.which("python3.11")
    if python is None:
        raise RuntimeError("python3.11 not found on PATH")
    if not py.exists():
        subprocess.run([python, "-m", "venv", str(venv)], check=True, capture_output=True)
    proc = subprocess.run(
        [str(py), "-m", "pip", "install", "-q", f"{package}=={version}"],
        capture_output=True,
        text=True,
        cwd=venv,
        timeout=600,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"pip install {package}=={version} failed: {proc.stderr[-2000:]}")
    return py


def fakellm_yaml(tokens: int) -> str:
    # split(" ") of the content gives the chunks: no trailing space, or one empty chunk more.
    words = " ".join(["tok"] * tokens)
    return f"rules:\n  - name: catch-all\n    respond:\n      content: \"{words}\"\n"


def peer_argv(name: str, py: Path, work_dir: Path, tokens: int) -> tuple[list[str], dict[str, str]]:
    """argv (with ``{host}``/``{port}``) and extra env of one peer; writes its config files."""
    if name == "llmock":
        launcher = work_dir / "llmock_launch.py"
        launcher.write_text(LLMOCK_LAUNCHER)
        env = {"LLMOCK_LATENCY_MS": "0", "LLMOCK_STREAM_CHUNK_DELAY_MS": "0"}
        return [str(py), str(launcher), "{host}", "{port}", TOKEN * tokens], env
    uvicorn = [str(py), "-m", "uvicorn", "--host", "{host}", "--port", "{port}"]
    uvicorn += ["--no-access-log", "--log-level", "warning"]
    if name == "fakellm":
        config = work_dir / "fakellm.yaml"
        config.write_text(fakellm_yaml(tokens))
        return uvicorn + ["fakellm.server:app"], {"FAKELLM_CONFIG": str(config)}
    if name == "mock-ai-api":
        return uvicorn + ["app.openai_app:app"], {}
    raise ValueError(f"unknown peer {name!r}")


def peer_spec(name: str, root: Path, work_root: Path, tokens: int, model: str) -> ServerSpec:
    peer = PEERS[name]
    py = ensure_venv(root / name, peer.name, peer.version)
    work_dir = work_root / name
    work_dir.mkdir(parents=True, exist_ok=True)
    argv, env = peer_argv(name, py, work_dir, tokens)
    return ServerSpec(name, argv, env=env, cwd=str(work_dir), model=model, modes=peer.modes)
