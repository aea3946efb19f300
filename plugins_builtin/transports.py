"""The builtin transports: json, sse, sse-events and ndjson."""

from __future__ import annotations

from typing import ClassVar

from mockllm import Frame, Registry, Transport, hookimpl


class JsonTransport(Transport):
    """One JSON body; streaming through it concatenates the frames (rarely useful)."""

    media_type: ClassVar[str] = "application/json"

    def encode(self, frame: Frame) -> bytes:
        return frame.data


class SseTransport(Transport):
    """OpenAI's Server-Sent Events: ``data: {json}`` frames, ended by ``data: [DONE]``."""

    media_type: ClassVar[str] = "text/event-stream; charset=utf-8"
    terminator: ClassVar[bytes] = b"data: [DONE]\n\n"

    def encode(self, frame: Frame) -> bytes:
        return b"".join((b"data: ", frame.data, b"\n\n"))  # one copy, not two


class SseEventsTransport(Transport):
    """Named SSE events (Anthropic, the Responses API): ``event:`` then ``data:``, no [DONE]."""

    media_type: ClassVar[str] = "text/event-stream; charset=utf-8"

    def encode(self, frame: Frame) -> bytes:
        if frame.event is None:
            return b"".join((b"data: ", frame.data, b"\n\n"))
        return b"".join((b"event: ", frame.event.encode(), b"\ndata: ", frame.data, b"\n\n"))


class NdjsonTransport(Transport):
    """Ollama's newline-delimited JSON: one object per line."""

    media_type: ClassVar[str] = "application/x-ndjson"

    def encode(self, frame: Frame) -> bytes:
        return frame.data + b"\n"


@hookimpl(trylast=True)
def mockllm_register_transports(registry: Registry) -> None:
    registry.register("json")(JsonTransport)
    registry.register("sse")(SseTransport)
    registry.register("sse-events")(SseEventsTransport)
    registry.register("ndjson")(NdjsonTransport)
