"""Helpers for the engine tests: an engine from YAML text, requests, live servers."""

from __future__ import annotations

import contextlib
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mockllm.config import parse
from mockllm.engine import Engine, Message, NeutralRequest
from mockllm.engine.timing import TimingRuntime
from mockllm.engine.tokens import Tokenizers
from mockllm.testing import LiveServer, run_server, test_context
from plugins_builtin.tokenizers import mockllm_tokenizer

MODELS = """
models:
  - {id: gpt-4o, provider: openai, aliases: [gpt-4o-latest], context_window: 400,
     max_output_tokens: 300}
  - {id: claude-x, provider: anthropic, context_window: 400, max_output_tokens: 300}
  - {id: emb, provider: openai, dimensions: 8}
"""

_TOKENIZERS = Tokenizers(mockllm_tokenizer)


def engine(yaml: str, models: str = MODELS) -> Engine:
    """An engine for ``yaml`` (rules, defaults...) with the test models prepended, on the
    server's own timing path (the builtin latency models, a fresh load and pacing state)."""
    return Engine(parse(models + textwrap.dedent(yaml), "test.yaml"), _TOKENIZERS,
                  TimingRuntime())


def chat(user: str = "hi", *, model: str = "gpt-4o", system: str | None = None,
         messages: list[Message] | None = None, **kw: Any) -> NeutralRequest:
    msgs = [Message("system", system)] if system is not None else []
    msgs += messages if messages is not None else [Message("user", user)]
    kw.setdefault("endpoint", "openai.chat")
    kw.setdefault("provider", "openai")
    return NeutralRequest(model=model, messages=msgs, **kw)


@pytest.fixture
def serve(tmp_path: Path) -> Callable[[str], contextlib.AbstractContextManager[LiveServer]]:
    """``with serve(yaml) as live:`` runs a server on a config file holding ``yaml``."""

    @contextlib.contextmanager
    def start(yaml: str) -> Iterator[LiveServer]:
        path = tmp_path / "mockllm.yaml"
        path.write_text(MODELS + textwrap.dedent(yaml))
        with run_server(test_context(config_path=str(path))) as live:
            yield live

    return start
