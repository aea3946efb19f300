"""What one upstream answer said, read as it streams past (``mockllm record``).

A :class:`Capture` is fed the response body chunk by chunk, exactly as it is passed on to
the client. It keeps only what a rule needs: the text, the tool calls, the error, and the
timing of content chunks as running figures (first, last, count), so a 10,000-token stream
costs the text and a few numbers, never the raw frames. Provider knowledge of the wire
shapes lives here: OpenAI chat, completions, Responses and embeddings, Anthropic messages.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from array import array
from dataclasses import dataclass, field
from typing import Any

#: A non-streamed body is parsed whole; past this size it is passed on but not recorded.
BODY_LIMIT = 16 * 1024 * 1024

#: The endpoint key for a request path (the proxy forwards every other path unrecorded).
ENDPOINTS = {
    "/v1/chat/completions": "openai.chat",
    "/v1/completions": "openai.completions",
    "/v1/responses": "openai.responses",
    "/v1/embeddings": "openai.embeddings",
    "/v1/messages": "anthropic.messages",
}


@dataclass
class ToolCall:
    name: str = ""
    arguments: str = ""  # JSON text, as the API sends it


@dataclass
class Capture:
    endpoint: str
    started: float = field(default_factory=time.monotonic)
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    #: The text pieces of each choice, by choice index (only 0 outside OpenAI's ``n``).
    texts: dict[int, list[str]] = field(default_factory=dict)
    #: Each choice's tool calls, by choice index, then by the call's own index.
    tools: dict[int, dict[int, ToolCall]] = field(default_factory=dict)
    #: One vector per input, in the order of ``data[i].index``.
    embeddings: list[list[float]] | None = None
    error: dict[str, Any] | None = None
    #: Set when the upstream went away (connection refused, closed mid-answer).
    disconnected: str | None = None
    first: float | None = None  # monotonic time of the first content chunk
    ended: float | None = None
    last: float | None = None
    chunks: int = 0  # content chunks
    streamed: bool = False
    _pending: bytes = b""
    _body: bytearray = field(default_factory=bytearray)
    _too_big: bool = False

    # -- feeding ----------------------------------------------------------------------

    def start(self, status: int, headers: dict[str, str]) -> None:
        self.status = status
        self.headers = headers
        self.streamed = headers.get("content-type", "").startswith("text/event-stream")

    def feed(self, chunk: bytes) -> None:
        if not self.streamed:
            if len(self._body) + len(chunk) > BODY_LIMIT:
                self._too_big = True
            else:
                self._body += chunk
            return
        data = self._pending + chunk
        lines = data.split(b"\n")
        self._pending = lines.pop()  # an incomplete line waits for the next chunk
        if len(self._pending) > BODY_LIMIT:  # a line that never ends is not an event
            self._pending = b""
        for line in lines:
            line = line.rstrip(b"\r")
            if line.startswith(b"data:"):
                self._event(line[5:].strip())

    def finish(self) -> None:
        self.ended = time.monotonic()
        if self.streamed:
            if self._pending.startswith(b"data:"):
                self._event(self._pending[5:].strip())
            self._pending = b""
            return
        body, self._body = bytes(self._body), bytearray()
        if self._too_big or not body:
            return
        try:
            doc = json.loads(body)
        except ValueError:
            return
        if self.status >= 400:
            self._error(doc)
            return
        self._content(time.monotonic())
        self._whole(doc)

    # -- what was said ----------------------------------------------------------------

    @property
    def ttft_ms(self) -> float:
        end = self.first if self.first is not None else self.ended
        if end is None:
            return 0.0
        return round((end - self.started) * 1000, 1)

    @property
    def itl_ms(self) -> float:
        if self.chunks < 2 or self.first is None or self.last is None:
            return 0.0
        return round((self.last - self.first) * 1000 / (self.chunks - 1), 2)

    @property
    def choices(self) -> list[int]:
        """The choice indexes that said something, in order."""
        return sorted(set(self.texts) | set(self.tools))

    def text(self, choice: int = 0) -> str:
        return "".join(self.texts.get(choice, ()))

    def tool_calls(self, choice: int = 0) -> list[dict[str, Any]]:
        out = []
        for _, call in sorted(self.tools.get(choice, {}).items()):
            try:
                arguments: Any = json.loads(call.arguments) if call.arguments else {}
            except ValueError:
                arguments = call.arguments  # sent as is on replay
            out.append({"name": call.name, "arguments": arguments})
        return out

    # -- parsing ----------------------------------------------------------------------

    def _content(self, now: float) -> None:
        if self.first is None:
            self.first = now
        self.last = now
        self.chunks += 1

    def _event(self, raw: bytes) -> None:
        if not raw or raw == b"[DONE]":
            return
        try:
            ev = json.loads(raw)
        except ValueError:
            return
        if not isinstance(ev, dict):
            return
        now = time.monotonic()
        if "error" in ev and ev.get("type") in (None, "error"):
            self._error(ev)
            return
        before = self._said()
        if self.endpoint == "anthropic.messages":
            self._anthropic_event(ev)
        elif self.endpoint == "openai.responses":
            self._responses_event(ev)
        else:
            for choice in ev.get("choices") or []:
                index = _index(choice.get("index"))
                if self.endpoint == "openai.completions":
                    self._add_text(choice.get("text"), index)
                else:
                    delta = choice.get("delta") or {}
                    self._add_text(delta.get("content"), index)
                    self._openai_tool_deltas(delta.get("tool_calls") or [], index)
        if self._said() != before:
            self._content(now)

    def _said(self) -> int:
        """A figure that grows with every piece of content (text pieces, argument text)."""
        return (sum(len(t) for t in self.texts.values())
                + sum(len(c.arguments) for calls in self.tools.values()
                      for c in calls.values()))

    def _add_text(self, piece: Any, choice: int = 0) -> None:
        if isinstance(piece, str) and piece:
            self.texts.setdefault(choice, []).append(piece)

    def _calls(self, choice: int = 0) -> dict[int, ToolCall]:
        return self.tools.setdefault(choice, {})

    def _openai_tool_deltas(self, deltas: list[dict[str, Any]], choice: int) -> None:
        for d in deltas:
            call = self._calls(choice).setdefault(_index(d.get("index")), ToolCall())
            fn = d.get("function") or {}
            call.name += fn.get("name") or ""
            call.arguments += fn.get("arguments") or ""

    def _anthropic_event(self, ev: dict[str, Any]) -> None:
        kind = ev.get("type")
        index = int(ev.get("index", 0))
        if kind == "content_block_start":
            block = ev.get("content_block") or {}
            if block.get("type") == "tool_use":
                self._calls()[index] = ToolCall(block.get("name", ""))
        elif kind == "content_block_delta":
            delta = ev.get("delta") or {}
            if delta.get("type") == "text_delta":
                self._add_text(delta.get("text"))
            elif delta.get("type") == "input_json_delta" and index in self._calls():
                self._calls()[index].arguments += delta.get("partial_json") or ""

    def _responses_event(self, ev: dict[str, Any]) -> None:
        kind = ev.get("type")
        if kind == "response.output_text.delta":
            self._add_text(ev.get("delta"))
        elif kind == "response.output_item.added":
            item = ev.get("item") or {}
            if item.get("type") == "function_call":
                self._calls()[_index(ev.get("output_index"))] = ToolCall(item.get("name", ""))
        elif kind == "response.function_call_arguments.delta":
            call = self._calls().get(_index(ev.get("output_index")))
            if call is not None:
                call.arguments += ev.get("delta") or ""
        elif kind in ("response.failed", "error"):
            err = (ev.get("response") or {}).get("error") or ev.get("error") or ev
            self.error = {"status": 500, "message": err.get("message"), "code": err.get("code")}

    def _whole(self, doc: Any) -> None:
        if not isinstance(doc, dict):
            return
        if self.endpoint == "openai.embeddings":
            self._vectors(doc.get("data"))
        elif self.endpoint == "anthropic.messages":
            for i, block in enumerate(doc.get("content") or []):
                if block.get("type") == "text":
                    self._add_text(block.get("text"))
                elif block.get("type") == "tool_use":
                    self._calls()[i] = ToolCall(block.get("name", ""),
                                                json.dumps(block.get("input") or {}))
        elif self.endpoint == "openai.responses":
            for i, item in enumerate(doc.get("output") or []):
                if item.get("type") == "message":
                    for part in item.get("content") or []:
                        if part.get("type") == "output_text":
                            self._add_text(part.get("text"))
                elif item.get("type") == "function_call":
                    self._calls()[i] = ToolCall(item.get("name", ""),
                                                item.get("arguments") or "")
        else:
            for choice in doc.get("choices") or []:
                if isinstance(choice, dict):
                    self._whole_choice(choice)

    def _whole_choice(self, choice: dict[str, Any]) -> None:
        index = _index(choice.get("index"))
        if self.endpoint == "openai.completions":
            self._add_text(choice.get("text"), index)
            return
        message = choice.get("message") or {}
        self._add_text(message.get("content"), index)
        calls = self._calls(index)  # a choice that said nothing is still a choice
        for i, call in enumerate(message.get("tool_calls") or []):
            fn = call.get("function") or {}
            calls[i] = ToolCall(fn.get("name", ""), fn.get("arguments") or "")

    def _vectors(self, data: Any) -> None:
        found: list[tuple[int, list[float]]] = []
        for item in data if isinstance(data, list) else []:
            vector = item.get("embedding") if isinstance(item, dict) else None
            if isinstance(vector, str):  # encoding_format: base64 (the openai SDK's default)
                vector = _floats(vector)
            if isinstance(vector, list):
                found.append((_index(item.get("index"), len(found)),
                              [float(x) for x in vector]))
        if found:
            self.embeddings = [v for _, v in sorted(found, key=lambda f: f[0])]

    def _error(self, doc: Any) -> None:
        err = doc.get("error") if isinstance(doc, dict) else None
        if not isinstance(err, dict):
            err = {"message": err} if isinstance(err, str) else {}
        spec: dict[str, Any] = {"status": self.status if self.status >= 400 else 500}
        for key in ("message", "type", "code"):
            if isinstance(err.get(key), str):
                spec[key] = err[key]
        retry = self.headers.get("retry-after-ms") or self.headers.get("retry-after")
        if retry:
            try:
                seconds = float(retry) / (1000 if "retry-after-ms" in self.headers else 1)
                spec["retry_after"] = round(seconds, 3)
            except ValueError:
                pass
        self.error = spec


def _index(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and value >= 0 else default


def _floats(text: str) -> list[float] | None:
    """A base64 embedding: little-endian float32 values."""
    try:
        values = array("f", base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError):
        return None
    return values.tolist()
