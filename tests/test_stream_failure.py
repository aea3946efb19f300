"""A plugin that raises after a stream has started: the stream ends with the API's own
mid-stream error event (logged once), never a hang or a cut without an error.

Through the openai and anthropic SDKs' stream helpers, which must raise their API error, on
each of the three ways a stream leaves: unpaced (one write), paced (the pump) and faulted
(frame by frame).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
from starlette.requests import Request
from starlette.responses import Response

from mockllm import Registry, hookimpl
from mockllm.stream_response import StreamResponse
from mockllm.testing import LiveServer, run_server, test_context

CONFIG = """
models:
  - {id: gpt-4o, provider: openai}
  - {id: claude-x, provider: anthropic}
defaults: {respond: {text: one two three four five six seven eight}}
"""

#: Frames the broken plugin lets through before it raises.
GOOD_FRAMES = 3

#: How a request picks the way its stream leaves (the control headers).
PATHS = {
    "unpaced": {},
    "paced": {"x-mockllm-latency-ms": "ttft=1,itl=1"},
    "faulted": {"x-mockllm-latency-ms": "ttft=1,itl=1",
                "x-mockllm-fault": "stall:after=1000,seconds=0"},
}


def _breaks(frames: Iterable[Any]) -> Iterator[Any]:
    for i, frame in enumerate(frames):
        if i == GOOD_FRAMES:
            raise RuntimeError("plugin bug mid-stream")
        yield frame


class BreaksMidStream:
    """A wrap whose stream raises after a few frames (a bug in a plugin's frame code)."""

    def __init__(self, context: Any, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, request: Request) -> Response:
        response: Response = await self.inner(request)
        if isinstance(response, StreamResponse) and "x-break" in request.headers:
            response.frames = _breaks(response.frames)
        return response


@hookimpl
def mockllm_register_endpoints(registry: Registry) -> None:
    registry.wrap("openai.chat")(BreaksMidStream)
    registry.wrap("anthropic.messages")(BreaksMidStream)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    path: Path = tmp_path_factory.mktemp("stream-failure") / "mockllm.yaml"
    path.write_text(CONFIG)
    with run_server(test_context(config_path=str(path), modules=[__name__])) as server:
        yield server


def _logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info and "plugin bug mid-stream" in
            str(r.exc_info[1])]


@pytest.mark.parametrize("path", PATHS)
def test_openai_stream_helper_raises_the_api_error(
        live: LiveServer, path: str, caplog: pytest.LogCaptureFixture) -> None:
    client = openai.OpenAI(base_url=live.url + "/v1", api_key="k", max_retries=0)
    got: list[str] = []
    with pytest.raises(openai.APIError) as exc:
        with client.chat.completions.stream(
                model="gpt-4o", messages=[{"role": "user", "content": "hi"}],
                extra_headers={"x-break": "1", **PATHS[path]}) as stream:
            for event in stream:
                if event.type == "content.delta":
                    got.append(event.delta)
    assert "The server had an error" in exc.value.message
    assert "".join(got) == "one two"  # the role chunk and two tokens came first
    assert len(_logged(caplog)) == 1  # logged once, with its traceback


@pytest.mark.parametrize("path", PATHS)
def test_anthropic_stream_helper_raises_the_api_error(
        live: LiveServer, path: str, caplog: pytest.LogCaptureFixture) -> None:
    client = anthropic.Anthropic(base_url=live.url, api_key="k", max_retries=0)
    with pytest.raises(anthropic.APIStatusError) as exc:
        with client.messages.stream(
                model="claude-x", max_tokens=50, messages=[{"role": "user", "content": "hi"}],
                extra_headers={"x-break": "1", **PATHS[path]}) as stream:
            for _ in stream:
                pass
    assert exc.value.body is not None
    assert exc.value.body["error"]["type"] == "api_error"  # type: ignore[index]
    assert len(_logged(caplog)) == 1


def test_the_wire_ends_with_the_error_event_and_no_terminator(live: LiveServer) -> None:
    with httpx.Client(base_url=live.url, timeout=60) as http:
        r = http.post("/v1/chat/completions", headers={"x-break": "1"}, json={
            "model": "gpt-4o", "stream": True,
            "messages": [{"role": "user", "content": "hi"}]})
        events = [line[len("data: "):] for line in r.text.splitlines() if line]
        assert len(events) == GOOD_FRAMES + 1 and "[DONE]" not in events
        assert set(json.loads(events[-1])) == {"error"}
        assert r.headers["x-request-id"].startswith("req_")
        r = http.post("/v1/messages", headers={"x-break": "1",
                                               "anthropic-version": "2023-06-01"}, json={
            "model": "claude-x", "stream": True, "max_tokens": 50,
            "messages": [{"role": "user", "content": "hi"}]})
        lines = [line for line in r.text.splitlines() if line]
        assert lines[-2] == "event: error"
        assert json.loads(lines[-1][len("data: "):]) == {
            "type": "error", "error": {"type": "api_error", "message":
                                       "The server had an error processing your request."}}
        assert r.headers["request-id"].startswith("req_")
