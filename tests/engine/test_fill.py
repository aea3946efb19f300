"""``generate.fill``: exactly the request's token limit, as load testers expect (--osl N)."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from mockllm.app import build_app
from mockllm.testing import test_context


def _chat(client: TestClient, **extra: object) -> dict[str, object]:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], **extra}
    return client.post("/v1/chat/completions", json=body).json()  # type: ignore[no-any-return]


def test_embedded_default_fills_the_requested_limit() -> None:
    with TestClient(build_app(test_context())) as client:
        out = _chat(client, max_completion_tokens=50)
        assert out["usage"]["completion_tokens"] == 50  # type: ignore[index]
        assert out["choices"][0]["finish_reason"] == "length"  # type: ignore[index]
        out = _chat(client)
        assert out["usage"]["completion_tokens"] == 32  # type: ignore[index]
        assert out["choices"][0]["finish_reason"] == "stop"  # type: ignore[index]


def test_without_fill_the_answer_keeps_its_own_length(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("defaults: {respond: {generate: {tokens: 20}}}\n")
    with TestClient(build_app(test_context(config_path=str(cfg)))) as client:
        out = _chat(client, max_tokens=50)
        assert out["usage"]["completion_tokens"] == 20  # type: ignore[index]
        assert out["choices"][0]["finish_reason"] == "stop"  # type: ignore[index]
