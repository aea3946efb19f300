"""mockllm's HTTP layer under real clients (httpx, the openai and anthropic SDKs and their
stream helpers), and the connection events the app relies on: a client that leaves
mid-stream, a client that reads slowly (flow control), an app that fails."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from mockllm.testing import LiveServer, run_server, test_context
from tests.http.conftest import Replies, connect, port_of, request, serving, wait_until

ASK = [{"role": "user", "content": "why is the sky blue?"}]


def test_httpx_keeps_one_connection_for_many_answers(own: LiveServer) -> None:
    peers = set()
    with httpx.Client(base_url=own.url, timeout=60) as http:
        for _ in range(5):
            r = http.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": ASK})
            assert r.status_code == 200
            with http.stream("POST", "/v1/chat/completions",
                             json={"model": "gpt-4o", "messages": ASK, "stream": True}) as s:
                body = b"".join(s.iter_bytes())
            assert body.endswith(b"data: [DONE]\n\n")
            peers.add(r.extensions["network_stream"].get_extra_info("client_addr"))
    assert len(peers) == 1


def test_the_openai_sdk_and_its_stream_helpers(own: LiveServer) -> None:
    client = openai.OpenAI(base_url=own.openai_base_url, api_key="k", max_retries=0)
    whole = client.chat.completions.create(model="gpt-4o", messages=ASK, seed=1)  # type: ignore[arg-type]
    chunks = list(client.chat.completions.create(model="gpt-4o", messages=ASK, seed=1,  # type: ignore[arg-type]
                                                 stream=True,
                                                 stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert chunks[-1].usage is not None
    with client.chat.completions.stream(model="gpt-4o", messages=ASK, seed=1) as stream:  # type: ignore[arg-type]
        final = stream.get_final_completion()
    assert final.choices[0].message.content == text
    with client.responses.stream(model="gpt-4o", input="why is the sky blue?") as events:
        response = events.get_final_response()
    assert response.status == "completed" and response.output_text


def test_the_anthropic_sdk_stream_helper(own: LiveServer) -> None:
    client = anthropic.Anthropic(base_url=own.anthropic_base_url, api_key="k", max_retries=0)
    with client.messages.stream(model="claude-sonnet-5-5", max_tokens=64,
                                messages=ASK) as stream:  # type: ignore[arg-type]
        message = stream.get_final_message()
    assert message.stop_reason in ("end_turn", "max_tokens") and message.content


def test_a_client_that_leaves_stops_its_stream_or_its_wait(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("models: [{id: busy, load: {max_concurrent: 4, queue_size: 4}}]\n"
                      "defaults: {latency: {ttft_ms: 0, itl_ms: 50}, "
                      "respond: {generate: {tokens: 1000, fill: true}}}\n")
    with run_server(test_context(config_path=str(config)), http="mockllm") as live:
        timing = live.context.timing
        load = timing.loads["busy"]
        body = json.dumps({"model": "busy", "messages": ASK, "stream": True}).encode()
        sock = connect(port_of(live))
        sock.sendall(request("POST", "/v1/chat/completions", body))
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")
        wait_until(lambda: timing.active_streams == 1)
        sock.close()
        wait_until(lambda: timing.active_streams == 0 and load.running == 0)  # not 50 s
        # A whole answer waited for is given up too, and journaled as such.
        body = json.dumps({"model": "busy", "messages": ASK}).encode()
        sock = connect(port_of(live))
        sock.sendall(request("POST", "/v1/chat/completions", body))
        wait_until(lambda: load.running == 1)
        sock.close()
        wait_until(lambda: load.running == 0 and len(live.journal()) == 2)
        entries = live.journal()
    assert entries[-1].status == 499 and entries[-1].client_disconnected


def test_a_slow_reader_holds_sends_until_it_reads() -> None:
    """Flow control: once the socket's buffers are full, ``send`` waits (the app does not
    pile the stream up in memory), and every byte arrives once the client reads."""
    waited = asyncio.Event()
    chunk = b"x" * 65536
    count = 200

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(chunk) * count).encode())]})
        for _ in range(count):
            pending = asyncio.ensure_future(send({"type": "http.response.body", "body": chunk,
                                                  "more_body": True}))
            await asyncio.sleep(0)
            if not pending.done():
                waited.set()  # the transport asked us to stop writing: send is waiting
            await pending
        await send({"type": "http.response.body", "body": b""})

    with serving(app) as server:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(60)
        sock.connect(("127.0.0.1", server.port))
        sock.sendall(request("GET", "/"))
        wait_until(waited.is_set)  # nothing read yet: 12.5 MiB cannot all be in buffers
        [reply] = Replies(sock).read(1)
        sock.close()
    assert reply.status == 200 and reply.complete
    assert len(reply.body) == len(chunk) * count


async def _lifespan_or(app: Any, scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.complete"})
    else:
        await app(scope, receive, send)


@pytest.mark.parametrize(("name", "status"), [("before", 500), ("header", 500),
                                              ("after", 200)])
def test_an_app_failure_is_a_500_or_a_cut_connection(name: str, status: int,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    async def failing(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if name == "header":
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"x-evil", b"a\r\nset-cookie: b")]})
        if name == "after":
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-length", b"10")]})
            await send({"type": "http.response.body", "body": b"12345", "more_body": True})
        raise RuntimeError("boom")

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await _lifespan_or(failing, scope, receive, send)

    with serving(app) as server, connect(server.port) as sock:
        sock.sendall(request("GET", "/"))
        replies = Replies(sock)
        assert replies.until_closed()  # after a failure the connection never lives on
    [reply] = replies.done
    assert reply.status == status
    assert b"set-cookie" not in b"".join(k for k, _ in reply.raw_headers)
    if status == 500:
        assert reply.body == b"Internal Server Error"
    else:
        assert reply.body == b"12345" and not reply.complete
    assert "Exception in ASGI application" in caplog.text
