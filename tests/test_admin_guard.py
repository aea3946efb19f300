"""The admin API refuses what a web page could send: cross-site posts, DNS rebinding,
untyped bodies; and it never shows the secrets it holds."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from mockllm.cli import bind_warning
from mockllm.testing import LiveServer, run_config
from plugins_builtin.admin_guard import host_allowed, is_loopback, origin_allowed

PWN = b"[{respond: {text: pwned}}]"
YAML = {"content-type": "application/yaml"}


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with run_config("server: {admin_hosts: [mock.test]}\n") as live:
        yield live


@pytest.fixture(scope="module")
def admin(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url + "/_mockllm", timeout=60) as c:
        yield c


@pytest.fixture(autouse=True)
def no_runtime_rules(admin: httpx.Client) -> Iterator[None]:
    yield
    admin.delete("/rules")


def answer(server: LiveServer) -> str | None:
    with openai.OpenAI(base_url=server.openai_url, api_key="k", max_retries=0) as client:
        out = client.chat.completions.create(model="gpt-4o", max_tokens=5,
                                             messages=[{"role": "user", "content": "hi"}])
    return out.choices[0].message.content


def test_a_cross_site_text_plain_post_changes_nothing(server: LiveServer,
                                                      admin: httpx.Client) -> None:
    """The outside run's exploit: a form post from a web page made the mock say "pwned"."""
    before = answer(server)
    r = admin.post("/rules", content=PWN, headers={"content-type": "text/plain",
                                                   "origin": "http://evil.example"})
    assert r.status_code == 403
    assert "cross-site" in r.json()["error"]["message"]
    assert answer(server) == before != "pwned"


@pytest.mark.parametrize("headers", [
    {"origin": "http://evil.example"},
    {"origin": "null"},  # sandboxed frames and file:// pages
    {"origin": "http://127.0.0.1.evil.example"},
    {"sec-fetch-site": "cross-site"},
])
def test_a_cross_site_change_is_403_even_when_typed(admin: httpx.Client,
                                                    headers: dict[str, str]) -> None:
    for method, path in (("POST", "/rules"), ("DELETE", "/rules"), ("POST", "/reload"),
                         ("DELETE", "/requests"), ("POST", "/plugins/use")):
        r = admin.request(method, path, content=PWN if method == "POST" else None,
                          headers={**YAML, **headers})
        assert r.status_code == 403, (method, path, r.text)
    assert admin.get("/rules").json()["runtime"] == []


@pytest.mark.parametrize("media", ["text/plain", "application/x-www-form-urlencoded",
                                   "multipart/form-data; boundary=x", None])
def test_an_untyped_or_form_body_is_415(admin: httpx.Client, media: str | None) -> None:
    headers = {"content-type": media} if media else {}
    r = admin.post("/rules", content=PWN, headers=headers)
    assert r.status_code == 415
    assert "JSON or YAML" in r.json()["error"]["message"]
    assert admin.get("/rules").json()["runtime"] == []


@pytest.mark.parametrize("media", ["application/yaml", "application/x-yaml", "text/yaml",
                                   "application/json; charset=utf-8", "application/vnd.x+json"])
def test_json_and_yaml_bodies_are_accepted(admin: httpx.Client, media: str) -> None:
    body = b'[{"respond": {"text": "ok"}}]' if "json" in media else PWN
    assert admin.post("/rules", content=body, headers={"content-type": media}).status_code == 200


@pytest.mark.parametrize("origin", ["http://localhost:3000", "http://127.0.0.1:5173",
                                    "http://[::1]:8080", "https://mock.test"])
def test_local_and_listed_origins_may_change_things(admin: httpx.Client, origin: str) -> None:
    r = admin.post("/rules", content=PWN, headers={**YAML, "origin": origin})
    assert r.status_code == 200, r.text


def test_an_empty_post_needs_no_content_type(admin: httpx.Client) -> None:
    r = admin.post("/reload")  # curl -X POST .../reload: no body, so no type to check
    assert r.status_code == 200 and r.json()["reloaded"] is True


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "localhost.evil.example"])
def test_a_foreign_host_is_403_dns_rebinding(admin: httpx.Client, host: str) -> None:
    for method, path in (("GET", "/config"), ("GET", "/requests"), ("POST", "/rules")):
        r = admin.request(method, path, content=PWN if method == "POST" else None,
                          headers={**YAML, "host": host})
        assert r.status_code == 403, (method, path)
        assert "DNS-rebinding" in r.json()["error"]["message"]


@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000",
                                  "app.localhost", "10.0.0.5:8000", "mock.test:8000"])
def test_local_ip_and_listed_hosts_are_accepted(admin: httpx.Client, host: str) -> None:
    assert admin.get("/config", headers={"host": host}).status_code == 200


def test_the_config_shows_no_secrets() -> None:
    with run_config("server: {api_keys: [sk-live-123, sk-live-456], admin_token: hunter2}\n") \
            as live, httpx.Client(base_url=live.url, timeout=60) as c:
        r = c.get("/_mockllm/config", headers={"authorization": "Bearer hunter2"})
    assert r.status_code == 200
    assert "sk-live" not in r.text and "hunter2" not in r.text
    server = r.json()["config"]["server"]
    assert server["api_keys"] == ["<redacted>", "<redacted>"]
    assert server["admin_token"] == "<redacted>"


def test_with_a_token_loopback_clients_need_it_too() -> None:
    """docs/config.md: with server.admin_token, every client must send it."""
    with run_config("server: {admin_token: tok}\n") as live, \
            httpx.Client(base_url=live.url, timeout=60) as c:
        assert c.get("/_mockllm/config").status_code == 401
        assert c.get("/_mockllm/config", headers={"authorization": "Bearer nope"}).status_code \
            == 401
        assert c.get("/_mockllm/config", headers={"authorization": "Bearer tok"}).status_code \
            == 200


def test_loopback_and_host_rules() -> None:
    assert all(map(is_loopback, ["localhost", "a.localhost", "127.0.0.1", "127.9.9.9", "::1",
                                 "::ffff:127.0.0.1"]))
    assert not any(map(is_loopback, ["10.0.0.1", "localhost.evil", "example.com", "::"]))
    from mockllm.config import ServerConfig

    server = ServerConfig(admin_hosts=["Mock.Test"])
    assert host_allowed("MOCK.test:80", server) and host_allowed("192.168.1.9", server)
    assert not host_allowed("", server) and not host_allowed("other.test", server)
    assert origin_allowed("http://example.com:81", "example.com:81", server)  # same origin
    assert not origin_allowed("http://example.com:82", "example.com:81", server)
    assert not origin_allowed("chrome-extension://abc", "localhost", server)


@pytest.mark.parametrize(("host", "keys", "warns"), [
    ("127.0.0.1", [], False), ("localhost", [], False), ("::1", [], False),
    ("0.0.0.0", [], True), ("::", [], True), ("192.168.1.4", [], True),
    ("myhost.example", [], True), ("0.0.0.0", ["sk-1"], False),
])
def test_serving_beyond_loopback_without_keys_warns(host: str, keys: list[str],
                                                    warns: bool) -> None:
    warning = bind_warning(host, keys)
    assert (warning is not None) == warns
    if warning:
        assert host in warning and "server.api_keys" in warning
