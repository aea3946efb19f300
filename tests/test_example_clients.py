"""The client scripts in examples/clients/ work against a live server (embedded default
config): each script's ``main(base_url)`` runs in-process, through the official SDKs."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from mockllm.testing import LiveServer, run_server, test_context

CLIENTS = Path(__file__).resolve().parent.parent / "examples" / "clients"


def load(name: str) -> ModuleType:
    """Import ``examples/clients/NAME.py`` by path (examples/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"example_client_{name}", CLIENTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with run_server(test_context()) as live:
        yield live


def test_openai_chat(server: LiveServer, capsys: pytest.CaptureFixture[str]) -> None:
    out = load("openai_chat").main(server.url)
    # The default config fills max_tokens (16) with deterministic words, streamed or not.
    assert out["text"] and out["streamed"] == out["text"]
    assert out["chunks"] == out["completion_tokens"] == 16
    assert out["dimensions"] == 1536
    assert "[stream] 16 chunks" in capsys.readouterr().out


def test_anthropic_messages(server: LiveServer, capsys: pytest.CaptureFixture[str]) -> None:
    out = load("anthropic_messages").main(server.url)
    assert out["text"] and out["streamed"] == out["text"]
    assert out["deltas"] == out["output_tokens"] == 16
    assert out["input_tokens"] > 0
    assert "claude-sonnet-5-5" in out["models"]
    assert "[count_tokens]" in capsys.readouterr().out


def test_ollama_chat(server: LiveServer, capsys: pytest.CaptureFixture[str]) -> None:
    out = load("ollama_chat").main(server.url)
    assert out["text"] and out["streamed"] == out["text"]
    assert out["objects"] == out["eval_count"] == 16
    assert out["generated"] and out["embeddings"] == 2
    assert "llama3.2:latest" in out["models"]
    assert "[list]" in capsys.readouterr().out


def test_nim_rankings(server: LiveServer, capsys: pytest.CaptureFixture[str]) -> None:
    module = load("nim_rankings")
    out = module.main(server.url)
    # The passage sharing the most words with the query ranks first, the unrelated one last.
    assert [r["index"] for r in out["rankings"]] == [1, 2, 0]
    assert out["usage"]["prompt_tokens"] == out["usage"]["total_tokens"] > 0
    assert module.PASSAGES[1] in capsys.readouterr().out


def test_cohere_rerank(server: LiveServer, capsys: pytest.CaptureFixture[str]) -> None:
    out = load("cohere_rerank").main(server.url)
    # The document that answers the question first, the unrelated one last (v1: all three).
    assert [i for i, _ in out["v2"]] == [1, 0] and out["v1"] == [1, 0, 2]
    assert out["search_units"] == 1 and out["best"] == load("cohere_rerank").DOCUMENTS[1]
    assert "[v1] best:" in capsys.readouterr().out


def test_bedrock_converse(server: LiveServer, capsys: pytest.CaptureFixture[str]) -> None:
    out = load("bedrock_converse").main(server.url)
    assert out["text"] and out["streamed"] == out["text"]
    assert out["deltas"] == out["output_tokens"] == 16  # maxTokens cuts the generated text
    assert out["tool"] == "get_weather" and isinstance(out["input"]["city"], str)
    assert "[converse_stream] 16 deltas" in capsys.readouterr().out


def test_each_script_says_what_it_needs_installed() -> None:
    import ast

    folder = Path(__file__).resolve().parent.parent / "examples" / "clients"
    for script in sorted(p for p in folder.glob("*.py")
                         if p.name != "conftest.py" and not p.name.startswith("test_")):
        tree = ast.parse(script.read_text())
        doc = ast.get_docstring(tree) or ""
        needed = {node.names[0].name.split(".")[0] for node in tree.body
                  if isinstance(node, ast.Import)} | {
                  (node.module or "").split(".")[0] for node in tree.body
                  if isinstance(node, ast.ImportFrom) and node.level == 0}
        third_party = needed - set(sys.stdlib_module_names) - {"__future__"}
        for name in third_party:
            assert f"pip install {name}" in doc, (script.name, name)
