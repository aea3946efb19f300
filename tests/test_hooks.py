"""Each hook has a docs heading with its exact signature and a test of its own (below)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest
from starlette.middleware import Middleware
from starlette.testclient import TestClient

import mockllm
from mockllm import hookspecs
from mockllm.app import build_app
from mockllm.assembly import StartupOptions, create_context

ROOT = Path(__file__).resolve().parent.parent


def hook_names() -> list[str]:
    return sorted(n for n, f in vars(hookspecs).items()
                  if n.startswith("mockllm_") and callable(f))


def signature_of(name: str) -> str:
    sig = inspect.signature(getattr(hookspecs, name))
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"{name}({params}) -> {sig.return_annotation}"


def test_every_hook_is_prefixed_typed_and_documented_in_its_docstring() -> None:
    assert hook_names()
    for name in hook_names():
        fn = getattr(hookspecs, name)
        assert fn.__doc__ and len(fn.__doc__) > 80, name
        assert all(p.annotation is not inspect.Parameter.empty
                   for p in inspect.signature(fn).parameters.values()), name


def test_every_hook_has_a_docs_heading_with_its_exact_signature() -> None:
    headings = re.findall(r"^## (mockllm_\w+\(.*)$", (ROOT / "docs/hooks.md").read_text(),
                          re.MULTILINE)
    for name in hook_names():
        assert signature_of(name) in headings, f"docs/hooks.md lacks '## {signature_of(name)}'"
    documented = {h.split("(")[0] for h in headings}
    assert documented == set(hook_names()), "docs/hooks.md documents a hook that does not exist"


def test_every_hook_has_a_test_of_its_own() -> None:
    tests = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("test_*.py"))
    for name in hook_names():
        assert f"def test_hook_{name}(" in tests, f"no test named test_hook_{name}"


def test_public_all_is_sorted_and_complete() -> None:
    assert mockllm.__all__ == sorted(mockllm.__all__)
    for name in mockllm.__all__:
        assert hasattr(mockllm, name)


# -- one test per hook ---------------------------------------------------------------------


def make(modules: list[str]) -> Any:
    return create_context(StartupOptions(autoload=False, modules=modules))


def test_hook_mockllm_register_endpoints() -> None:
    ctx = make(["tests.plugins.acme_chat"])
    assert ctx.endpoints.selected("openai.chat").__name__ == "AcmeChat"


def test_hook_mockllm_register_transports() -> None:
    ctx = make([])
    assert ctx.transport("sse").encode(mockllm.Frame(None, b"{}")) == b"data: {}\n\n"
    assert ctx.transport("sse-events").encode(mockllm.Frame("ping", b"{}")) == (
        b"event: ping\ndata: {}\n\n")
    assert ctx.transport("ndjson").encode(mockllm.Frame(None, b"{}")) == b"{}\n"


class _Recorder:
    def __init__(self) -> None:
        self.configured: list[Any] = []
        self.started: list[Any] = []
        self.stopped: list[Any] = []

    @mockllm.hookimpl
    def mockllm_configure(self, config: Any) -> None:
        self.configured.append(config)

    @mockllm.hookimpl
    def mockllm_startup(self, context: Any) -> Any:
        async def later() -> None:
            self.started.append(context)
        return later()

    @mockllm.hookimpl
    async def mockllm_shutdown(self, context: Any) -> None:
        self.stopped.append(context)

    @mockllm.hookimpl
    def mockllm_asgi_middleware(self, context: Any) -> list[Middleware]:
        return [Middleware(_Stamp)]

    @mockllm.hookimpl
    def mockllm_tokenizer(self, name: str) -> Any:
        return _Chars() if name == "chars" else None


class _Stamp:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def stamped(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message["headers"], (b"x-stamp", b"1")]
            await send(message)
        await self.app(scope, receive, stamped)


class _Chars:
    def encode(self, text: str) -> list[int]:
        return [ord(c) for c in text]

    def decode(self, tokens: list[int]) -> str:
        return "".join(map(chr, tokens))


@pytest.fixture
def recorder() -> Any:
    ctx = make([])
    rec = _Recorder()
    ctx.plugins.pm.register(rec, name="recorder")
    return ctx, rec


def test_hook_mockllm_configure(recorder: Any) -> None:
    ctx, rec = recorder
    ctx.apply_config(ctx.config)
    assert rec.configured == [ctx.config]


def test_hook_mockllm_startup(recorder: Any) -> None:
    ctx, rec = recorder
    with TestClient(build_app(ctx)):
        assert rec.started == [ctx]


def test_hook_mockllm_shutdown(recorder: Any) -> None:
    ctx, rec = recorder
    with TestClient(build_app(ctx)):
        assert rec.stopped == []
    assert rec.stopped == [ctx]


def test_shutdown_runs_in_reverse_start_order_and_survives_a_failure() -> None:
    ctx = make([])
    events: list[str] = []

    def plugin(name: str, fail: bool = False) -> Any:
        class P:
            @mockllm.hookimpl
            def mockllm_startup(self) -> None:
                events.append(f"start {name}")

            @mockllm.hookimpl
            def mockllm_shutdown(self) -> None:
                events.append(f"stop {name}")
                if fail:
                    raise RuntimeError("shutdown bug")
        return P()

    ctx.plugins.pm.register(plugin("a", fail=True), name="a")
    ctx.plugins.pm.register(plugin("b"), name="b")
    with TestClient(build_app(ctx)):
        pass
    starts = [e for e in events if e.startswith("start")]
    stops = [e for e in events if e.startswith("stop")]
    assert stops == [s.replace("start", "stop") for s in reversed(starts)]
    assert set(stops) == {"stop a", "stop b"}  # a raised; b still stopped


def test_hook_mockllm_asgi_middleware(recorder: Any) -> None:
    ctx, _ = recorder
    with TestClient(build_app(ctx)) as client:
        assert client.get("/health").headers["x-stamp"] == "1"


def test_hook_mockllm_tokenizer(recorder: Any) -> None:
    ctx, _ = recorder
    assert ctx.tokenizers.count("chars", "abc") == 3
    assert ctx.tokenizers.count("cl100k_base", "hello world") == 2
    assert "chars" not in ctx.tokenizers.fallbacks
    ctx.tokenizers.get("no-such-vocabulary")
    assert ctx.tokenizers.fallbacks == {"no-such-vocabulary": "cl100k_base"}


def test_generated_text_works_with_a_character_level_tokenizer(recorder: Any) -> None:
    ctx, _ = recorder
    tok = ctx.tokenizers.get("chars")
    from mockllm.engine.tokens import generate

    pieces = generate(tok, 40, seed=7)
    assert len(pieces) == 40 and all(len(p) == 1 for p in pieces)
    assert generate(tok, 10, seed=7) == pieces[:10]  # prefix-stable
    assert len(tok.encode("".join(pieces))) == 40
