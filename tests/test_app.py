"""App assembly: routes from the resolution, duplicates refused, runtime switches."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from mockllm.app import build_app, route_table
from mockllm.assembly import StartupOptions, create_context
from mockllm.registry import PluginError

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def make(**kw: object) -> TestClient:
    kw.setdefault("autoload", False)
    return TestClient(build_app(create_context(StartupOptions(**kw))),  # type: ignore[arg-type]
                      base_url="http://localhost")  # type: ignore[arg-type]


@pytest.fixture
def two_chats() -> Iterator[TestClient]:
    with make(modules=["tests.plugins.acme_chat"]) as client:
        yield client


def test_one_route_per_method_and_path() -> None:
    ctx = create_context(StartupOptions(autoload=False))
    rows = route_table(ctx)
    pairs = [(m, p) for m, p, _ in rows]
    assert len(pairs) == len(set(pairs))
    assert ("POST", "/v1/chat/completions") in pairs
    assert ("GET", "/v1/models/{model:path}") in pairs


def test_duplicate_method_and_path_from_two_keys_is_refused() -> None:
    ctx = create_context(StartupOptions(autoload=False, modules=["tests.plugins.route_clash"]))
    with pytest.raises(PluginError, match="claimed by both 'acme.clash' and 'openai.chat'|"
                                          "claimed by both 'openai.chat' and 'acme.clash'"):
        build_app(ctx)


def test_runtime_use_implementation_switches_the_next_request(two_chats: TestClient) -> None:
    assert two_chats.post("/v1/chat/completions", json=CHAT).json() == {"by": "acme"}
    ctx = two_chats.app.state.context  # type: ignore[attr-defined]
    builtin_cls = next(c.impl for c in ctx.endpoints.list_implementations("openai.chat")
                       if c.builtin)
    ctx.endpoints.use_implementation("openai.chat", builtin_cls)  # by class
    assert two_chats.post("/v1/chat/completions", json=CHAT).json()["object"] == "chat.completion"
    ctx.endpoints.use_implementation("openai.chat", "tests.plugins.acme_chat")
    assert two_chats.post("/v1/chat/completions", json=CHAT).json() == {"by": "acme"}


def test_admin_plugins_use_switches_the_next_request(two_chats: TestClient) -> None:
    r = two_chats.post("/_mockllm/plugins/use", json={"key": "openai.chat", "plugin": "builtin"})
    assert r.json() == {"key": "openai.chat", "selected": "builtin.openai", "reason": "runtime"}
    assert two_chats.post("/v1/chat/completions", json=CHAT).json()["object"] == "chat.completion"
    listing = two_chats.get("/_mockllm/plugins").json()
    chat = next(e for e in listing["endpoints"] if e["key"] == "openai.chat")
    assert (chat["selected"], chat["reason"]) == ("builtin.openai", "runtime")
    # Dropping the runtime override goes back to the start-up winner.
    two_chats.post("/_mockllm/plugins/use", json={"key": "openai.chat"})
    assert two_chats.post("/v1/chat/completions", json=CHAT).json() == {"by": "acme"}


def test_admin_use_rejects_a_non_contributor(two_chats: TestClient) -> None:
    r = two_chats.post("/_mockllm/plugins/use",
                       json={"key": "openai.chat", "plugin": "builtin.health"})
    assert r.status_code == 400
    assert "does not implement" in r.json()["error"]["message"]
    r = two_chats.post("/_mockllm/plugins/use", json={"plugin": "x"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "key"


def test_instances_are_created_lazily_once_per_implementation(two_chats: TestClient) -> None:
    ctx = two_chats.app.state.context  # type: ignore[attr-defined]
    assert "openai.chat" not in ctx.endpoints.active
    two_chats.post("/v1/chat/completions", json=CHAT)
    first = ctx.endpoints.active["openai.chat"]
    two_chats.post("/v1/chat/completions", json=CHAT)
    assert ctx.endpoints.active["openai.chat"] is first
    ctx.endpoints.use_implementation("openai.chat", "builtin")
    ctx.endpoints.use_implementation("openai.chat", "tests.plugins.acme_chat")
    assert ctx.endpoints.create_instance("openai.chat", ctx) is first


def test_plugins_json_shape() -> None:
    with make() as client:
        data = client.get("/_mockllm/plugins").json()
    assert {"name", "source", "distribution", "status"} <= set(data["plugins"][0])
    chat = next(e for e in data["endpoints"] if e["key"] == "openai.chat")
    assert {"key", "methods", "path", "selected", "reason", "implementations"} <= set(chat)
    impl = chat["implementations"][0]
    assert (impl["plugin"], impl["builtin"]) == ("builtin.openai", True)
    assert impl["class"].startswith("plugins_builtin.openai") and impl["class"].endswith(":Chat")
    assert {t["key"] for t in data["transports"]} >= {"json", "sse", "sse-events", "ndjson"}


def test_admin_refuses_non_loopback_clients() -> None:
    ctx = create_context(StartupOptions(autoload=False))
    with TestClient(build_app(ctx), client=("10.1.2.3", 5000),
                    base_url="http://localhost") as client:
        assert client.get("/_mockllm/plugins").status_code == 403
        assert client.post("/v1/chat/completions", json=CHAT).status_code == 200


def test_admin_token_allows_remote_clients(tmp_path: object) -> None:
    cfg = tmp_path / "c.yaml"  # type: ignore[operator]
    cfg.write_text("server: {admin_token: s3cret}\n")
    ctx = create_context(StartupOptions(autoload=False, config_path=str(cfg)))
    with TestClient(build_app(ctx), client=("10.1.2.3", 5000),
                    base_url="http://localhost") as client:
        assert client.get("/_mockllm/plugins").status_code == 401
        ok = client.get("/_mockllm/plugins", headers={"authorization": "Bearer s3cret"})
        assert ok.status_code == 200


def test_health_and_unknown_admin_route() -> None:
    with make() as client:
        assert client.get("/health").json() == {"status": "ok"}
        assert client.get("/_mockllm/nope").status_code == 404


def test_lifespan_runs_startup_hooks_and_warms_tokenizers() -> None:
    ctx = create_context(StartupOptions(autoload=False))
    with TestClient(build_app(ctx)):
        assert ctx.started_at > 0
        assert ctx.tokenizers._cache  # noqa: SLF001 - warmed before the first request


def test_unknown_url_and_wrong_method_answer_json_envelopes() -> None:
    with make() as client:
        r = client.get("/v1/nothing-here")
        assert r.status_code == 404
        assert r.json()["error"]["message"] == "Invalid URL (GET /v1/nothing-here)"
        r = client.get("/v1/chat/completions")
        assert r.status_code == 405
        assert r.json()["error"]["type"] == "invalid_request_error"
        assert r.headers["allow"] == "POST"


def test_a_foreign_implementation_that_raises_gets_a_json_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with make(modules=["tests.plugins.raising"]) as client:
        r = client.post("/v1/chat/completions", json=CHAT)
    assert r.status_code == 500
    assert r.json()["error"]["type"] == "server_error"
    assert "plugin bug" in caplog.text


def test_with_plugin_middleware_a_raising_implementation_is_still_an_enveloped_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with make(modules=["tests.plugins.raising", "tests.plugins.stamp_middleware"]) as client:
        r = client.post("/v1/chat/completions", json=CHAT)
    assert r.status_code == 500 and r.headers["content-type"] == "application/json"
    body = r.json()["error"]
    assert body["type"] == "server_error"
    assert r.headers["x-request-id"] in body["message"]
    assert len([rec for rec in caplog.records if rec.exc_info]) == 1  # logged once
