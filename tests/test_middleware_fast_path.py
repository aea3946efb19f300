"""Plugin middleware wraps every request (lifespan included) and the exact-path shortcut
stays: Starlette's router is not on the path of /v1/chat/completions with middleware
installed (a cProfile call count, not a timing)."""

from __future__ import annotations

import asyncio
import cProfile
import json
import pstats
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockllm.app import MockApp, build_app
from mockllm.testing import test_context
from tests.plugins import header_middleware

PLUGIN = "tests.plugins.header_middleware"
CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


def _app() -> MockApp:
    return build_app(test_context(modules=[PLUGIN]))


def test_middleware_sees_every_request_and_lifespan() -> None:
    header_middleware.SEEN.clear()
    with TestClient(_app(), base_url="http://localhost") as client:
        for r in (client.post("/v1/chat/completions", json=CHAT),   # an exact path
                  client.get("/v1/models/gpt-4o"),                   # a templated one
                  client.get("/v1/nothing-here"),                    # no route: 404
                  client.get("/v1/chat/completions")):               # wrong method: 405
            assert r.headers["x-stamped"] == "yes", r.url
            assert r.headers["content-type"].startswith("application/json")
        assert client.post("/v1/chat/completions", json=CHAT).json()["choices"]
    kinds = [t for t, _ in header_middleware.SEEN]
    assert kinds[0] == "lifespan" and kinds.count("http") == 5


def test_the_exact_path_shortcut_stays_with_middleware() -> None:
    app = _app()
    assert app.exact[("POST", "/v1/chat/completions")] == "openai.chat"
    calls = _calls_by_file(app)
    assert not [f for f in calls if f.endswith(("starlette/routing.py",
                                                "starlette/applications.py"))], calls
    assert any(f.endswith("header_middleware.py") for f in calls)  # it did run


def test_middleware_that_raises_is_an_enveloped_500(caplog: pytest.LogCaptureFixture) -> None:
    with TestClient(_app(), base_url="http://localhost", raise_server_exceptions=False) as c:
        r = c.post("/v1/chat/completions", json=CHAT, headers={"x-break-middleware": "1"})
        assert r.status_code == 500 and r.headers["content-type"] == "application/json"
        assert r.json()["error"]["type"] == "server_error"
        assert r.headers["x-request-id"] in r.json()["error"]["message"]
        r = c.post("/v1/messages", headers={"x-break-middleware": "1",
                                            "anthropic-version": "2023-06-01"}, json={})
        assert r.status_code == 500 and r.json()["type"] == "error"
    assert len([rec for rec in caplog.records if rec.exc_info]) == 2  # once each


def _calls_by_file(app: MockApp) -> dict[str, int]:
    """Function calls per source file for one POST /v1/chat/completions, driven in-process
    (after a first request has built the endpoint instance)."""
    body = json.dumps(CHAT).encode()
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/v1/chat/completions", "raw_path": b"/v1/chat/completions",
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8000),
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())]}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(app(dict(scope), receive, send))  # warm: instances, caches
        profile = cProfile.Profile()
        profile.enable()
        loop.run_until_complete(app(dict(scope), receive, send))
        profile.disable()
    finally:
        loop.close()
    assert sent[-2]["status"] == 200
    out: dict[str, int] = {}
    for (file, _, _), row in pstats.Stats(profile).stats.items():  # type: ignore[attr-defined]
        out[file] = out.get(file, 0) + row[1]
    return out
