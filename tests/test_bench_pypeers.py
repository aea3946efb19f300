"""benchmarks/pypeers.py builds each Python peer's command and files without installing it.

Offline: the venv interpreter path is never run. The peers themselves are measured by
``python -m benchmarks.run --targets llmock,fakellm,mock-ai-api`` (docs/performance.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from benchmarks import pypeers, report
from benchmarks.run import ALL_TARGETS, DEFAULT_TARGETS, parse_args

PY = Path("/nonexistent/venv/bin/python")


def test_llmock_launcher_queues_a_permanent_64_word_reply(tmp_path: Path) -> None:
    argv, env = pypeers.peer_argv("llmock", PY, tmp_path, 64)
    assert argv[:4] == [str(PY), str(tmp_path / "llmock_launch.py"), "{host}", "{port}"]
    # llmock splits the answer into word pieces: 64 "tok " words are 64 stream chunks.
    assert argv[4] == "tok " * 64
    launcher = (tmp_path / "llmock_launch.py").read_text()
    assert "times=None" in launcher and 'log_level="warning"' in launcher
    compile(launcher, "llmock_launch.py", "exec")
    assert env == {"LLMOCK_LATENCY_MS": "0", "LLMOCK_STREAM_CHUNK_DELAY_MS": "0"}


def test_fakellm_rule_answers_exactly_64_words(tmp_path: Path) -> None:
    argv, env = pypeers.peer_argv("fakellm", PY, tmp_path, 64)
    assert argv[-1] == "fakellm.server:app" and "--no-access-log" in argv
    config = yaml.safe_load(Path(env["FAKELLM_CONFIG"]).read_text())
    (rule,) = config["rules"]
    # fakellm streams content.split(" "): a trailing space would add an empty chunk.
    assert rule["respond"]["content"].split(" ") == ["tok"] * 64


def test_mock_ai_api_runs_its_openai_app_alone(tmp_path: Path) -> None:
    argv, env = pypeers.peer_argv("mock-ai-api", PY, tmp_path, 64)
    assert argv[1:3] == ["-m", "uvicorn"] and argv[-1] == "app.openai_app:app"
    assert env == {}
    with pytest.raises(ValueError):
        pypeers.peer_argv("nope", PY, tmp_path, 64)


def test_peers_are_targets_but_not_in_the_default_run() -> None:
    for name in pypeers.PEERS:
        assert name in ALL_TARGETS and name not in DEFAULT_TARGETS
        assert name in report.PEER_NAMES
    # Streams with a fixed per-chunk sleep are left out rather than measured paced.
    assert pypeers.PEERS["llmock"].modes == ("chat", "stream")
    assert pypeers.PEERS["fakellm"].modes == pypeers.PEERS["mock-ai-api"].modes == ("chat",)
    args = parse_args(["--targets", "mockllm,llmock", "--peers-dir", "/tmp/x"])
    assert args.targets == ["mockllm", "llmock"] and args.peers_dir == Path("/tmp/x")
